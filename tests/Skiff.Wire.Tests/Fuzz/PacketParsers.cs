namespace Skiff.Wire.Tests.Fuzz;

/// <summary>How many inputs each parser accepted (and round-tripped), to prove the fuzzer reaches every one of them.</summary>
internal sealed class FrameCoverage
{
    public long Ethernet, Arp, Ipv4, Ipv4Options, Ipv6, ExtensionWalk, Ipv6Options, Icmpv4, Icmpv4Invoking, Icmpv6, Ndp, Icmpv6Invoking, Udp, Tcp, TcpOptions;

    public IEnumerable<(string Name, long Count)> Accepted() =>
    [
        (nameof(Ethernet), Ethernet), (nameof(Arp), Arp), (nameof(Ipv4), Ipv4), (nameof(Ipv4Options), Ipv4Options), (nameof(Ipv6), Ipv6),
        (nameof(ExtensionWalk), ExtensionWalk), (nameof(Ipv6Options), Ipv6Options), (nameof(Icmpv4), Icmpv4), (nameof(Icmpv4Invoking), Icmpv4Invoking),
        (nameof(Icmpv6), Icmpv6), (nameof(Ndp), Ndp), (nameof(Icmpv6Invoking), Icmpv6Invoking), (nameof(Udp), Udp), (nameof(Tcp), Tcp), (nameof(TcpOptions), TcpOptions),
    ];

    public override string ToString() => "accepted: " + string.Join(", ", Accepted().Select(c => $"{c.Name} {c.Count}"));
}

/// <summary>
/// Runs every packet parser over one input the way a receive path would (Ethernet, then ARP/IPv4/IPv6, extension headers,
/// then TCP/UDP/ICMP), and also every layer-3 and layer-4 parser on whatever bytes sit where that layer would start, so
/// each parser sees the mutations whatever the outer layers say. Throws <see cref="FuzzPropertyException"/> when a
/// property fails; any other exception is a parser bug.
/// </summary>
internal static class PacketParsers
{
    private static readonly Ipv6Address s_fallback6 = Ipv6Address.Parse("fd23::99");

    public static void Run(Span<byte> frame, bool verify, FrameCoverage c)
    {
        Span<byte> l3 = frame;
        EtherType type = (EtherType)0xFFFF;
        if (EthernetFrame.TryCreate(frame, out EthernetFrame eth) == WireError.Ok)
        {
            if (EthernetRepr.TryParse(eth, out EthernetRepr repr) == WireError.Ok)
            {
                c.Ethernet++;
                type = repr.EtherType;
                byte[] again = new byte[repr.HeaderLength];
                repr.Emit(new EthernetFrame(again));
                Check(EthernetFrame.TryCreate(again, out EthernetFrame e2) == WireError.Ok && EthernetRepr.TryParse(e2, out EthernetRepr r2) == WireError.Ok && r2 == repr, "ethernet round trip", repr);
            }
            l3 = frame[Math.Min(frame.Length, eth.HeaderLength)..];
        }
        // The type picks the parser a stack would use; the others run too, on the same bytes.
        switch (type)
        {
            case EtherType.Ipv6:
                Ipv6(l3, verify, c);
                Ipv4(l3, verify, c);
                Arp(l3, c);
                break;
            case EtherType.Arp:
                Arp(l3, c);
                Ipv4(l3, verify, c);
                break;
            default:
                Ipv4(l3, verify, c);
                Ipv6(l3, verify, c);
                Arp(l3, c);
                break;
        }
    }

    private static void Arp(Span<byte> data, FrameCoverage c)
    {
        if (ArpPacket.TryCreate(data, out ArpPacket arp) != WireError.Ok)
        {
            return;
        }
        _ = arp.Operation;
        _ = arp.HardwareLength;
        if (ArpRepr.TryParse(arp, out ArpRepr repr) == WireError.Ok)
        {
            c.Arp++;
            byte[] again = new byte[repr.BufferLength];
            repr.Emit(new ArpPacket(again));
            Check(ArpPacket.TryCreate(again, out ArpPacket a2) == WireError.Ok && ArpRepr.TryParse(a2, out ArpRepr r2) == WireError.Ok && r2 == repr, "arp round trip", repr);
        }
    }

    private static void Ipv4(Span<byte> data, bool verify, FrameCoverage c)
    {
        if (Ipv4Packet.TryCreate(data, out Ipv4Packet ip) != WireError.Ok)
        {
            return;
        }
        // The view's accessors must all be safe on a packet TryCreate accepted.
        _ = ip.Header.Length + ip.Options.Length + ip.Payload.Length + ip.FragmentOffset;
        if (Ipv4OptionReader.Validate(ip.Options) == WireError.Ok)
        {
            c.Ipv4Options++;
        }
        WalkIpv4Options(ip.Options);
        if (Ipv4Repr.TryParse(ip, verify, out Ipv4Repr repr) != WireError.Ok)
        {
            // A header the parser refused still has bytes behind it; the layer-4 parsers must survive them too.
            Layer4(IpProtocol.Tcp, data[Math.Min(data.Length, 20)..], 0, c, verify: false);
            return;
        }
        c.Ipv4++;
        Check(repr.HeaderLength == ip.HeaderLength && repr.PayloadLength == ip.Payload.Length && repr.FragmentOffset + repr.PayloadLength <= Ipv4Repr.MaximumTotalLength, "ipv4 lengths", repr);
        byte[] again = new byte[repr.HeaderLength + repr.PayloadLength];
        ip.Options.CopyTo(again.AsSpan(20));
        repr.Emit(new Ipv4Packet(again));
        Check(Ipv4Packet.TryCreate(again, out Ipv4Packet p2) == WireError.Ok && Ipv4Repr.TryParse(p2, verifyChecksum: true, out Ipv4Repr r2) == WireError.Ok && r2 == repr, "ipv4 round trip", repr);
        if (repr.FragmentOffset == 0)
        {
            Layer4(repr.Protocol, ip.Payload, Checksum.PseudoHeader(repr.Source, repr.Destination, repr.Protocol, repr.PayloadLength), c, verify, v4: (repr.Source, repr.Destination));
        }
    }

    private static void Ipv6(Span<byte> data, bool verify, FrameCoverage c)
    {
        if (Ipv6Packet.TryCreate(data, out Ipv6Packet ip) != WireError.Ok)
        {
            return;
        }
        Span<byte> payload = ip.Payload;
        if (Ipv6Repr.TryParse(ip, out Ipv6Repr repr) != WireError.Ok)
        {
            Walk(ip.NextHeader, payload, verify, c, default, default);
            return;
        }
        c.Ipv6++;
        byte[] again = new byte[40 + repr.PayloadLength];
        repr.Emit(new Ipv6Packet(again));
        Check(Ipv6Packet.TryCreate(again, out Ipv6Packet p2) == WireError.Ok && Ipv6Repr.TryParse(p2, out Ipv6Repr r2) == WireError.Ok && r2 == repr, "ipv6 round trip", repr);
        Walk(repr.NextHeader, payload, verify, c, repr.Source, repr.Destination);
        // Each extension-header kind over the same bytes, whatever the next-header field says.
        Walk(IpProtocol.HopByHop, payload, verify: false, c, repr.Source, repr.Destination, deep: false);
        Walk(IpProtocol.Ah, payload, verify: false, c, repr.Source, repr.Destination, deep: false);
        Walk(IpProtocol.Ipv6Fragment, payload, verify: false, c, repr.Source, repr.Destination, deep: false);
        if (payload.Length >= 2)
        {
            WalkIpv6Options(payload[2..Math.Min(payload.Length, (payload[1] + 1) * 8)], c);
        }
    }

    private static void Walk(IpProtocol next, Span<byte> payload, bool verify, FrameCoverage c, Ipv6Address source, Ipv6Address destination, bool deep = true)
    {
        WireError error = Ipv6ExtensionHeaders.TryWalk(next, payload, out Ipv6ExtensionChain chain);
        if (error != WireError.Ok)
        {
            return;
        }
        Check(chain.UpperLayerOffset >= 0 && chain.UpperLayerOffset <= payload.Length && chain.HeaderCount <= Ipv6ExtensionHeaders.MaximumHeaders, "extension chain bounds", chain);
        if (!deep)
        {
            return;
        }
        c.ExtensionWalk++;
        if (chain.Fragment is { Offset: not 0 })
        {
            return;
        }
        Span<byte> upper = payload[chain.UpperLayerOffset..];
        if (source == default && destination == default)
        {
            source = s_fallback6;
            destination = s_fallback6;
        }
        Layer4(chain.UpperLayerProtocol, upper, Checksum.PseudoHeader(source, destination, chain.UpperLayerProtocol, upper.Length), c, verify, v6: (source, destination));
    }

    private static void Layer4(IpProtocol protocol, Span<byte> data, uint pseudo, FrameCoverage c, bool verify,
        (Ipv4Address Source, Ipv4Address Destination)? v4 = null, (Ipv6Address Source, Ipv6Address Destination)? v6 = null)
    {
        // The protocol's own parser first (with the real pseudo-header), then the others without checksums.
        switch (protocol)
        {
            case IpProtocol.Tcp:
                Tcp(data, pseudo, verify, c);
                Udp(data, 0, false, c);
                Icmpv4(data, false, c);
                break;
            case IpProtocol.Udp:
                Udp(data, pseudo, verify, c);
                Tcp(data, 0, false, c);
                break;
            case IpProtocol.Icmp:
                Icmpv4(data, verify, c);
                Tcp(data, 0, false, c);
                break;
            case IpProtocol.Icmpv6:
                Icmpv6(data, v6?.Source ?? s_fallback6, v6?.Destination ?? s_fallback6, verify, c);
                Udp(data, 0, false, c);
                break;
            default:
                Tcp(data, 0, false, c);
                Udp(data, 0, false, c);
                Icmpv4(data, false, c);
                Icmpv6(data, s_fallback6, s_fallback6, false, c);
                break;
        }
        _ = v4;
    }

    private static void Tcp(Span<byte> data, uint pseudo, bool verify, FrameCoverage c)
    {
        if (TcpSegment.TryCreate(data, out TcpSegment segment) != WireError.Ok)
        {
            return;
        }
        _ = segment.Payload.Length + segment.Options.Length;
        int options = 0;
        TcpOptionReader reader = segment.ReadOptions();
        while (reader.MoveNext())
        {
            _ = reader.Current.WireLength;
            if (++options > segment.Options.Length + 1)
            {
                throw new FuzzPropertyException($"the TCP option reader returned {options} options from {segment.Options.Length} bytes");
            }
        }
        if (reader.Error == WireError.Ok)
        {
            c.TcpOptions++;
        }
        if (TcpRepr.TryParse(segment, pseudo, verify, out TcpRepr repr) != WireError.Ok)
        {
            return;
        }
        c.Tcp++;
        Check(repr.PayloadLength == segment.Payload.Length, "tcp payload length", repr);
        // Emit writes the options in one canonical layout, in at most 40 bytes: SACK blocks that do not fit after the
        // other options are left out (as Linux does), so the round trip holds only when they all fit.
        int fixedOptions = (repr.MaxSegmentSize.HasValue ? 4 : 0) + (repr.Timestamp.HasValue ? 12 : repr.SackPermitted ? 4 : 0) + (repr.WindowScale.HasValue ? 4 : 0);
        if (repr.SackBlocks.Count > Math.Max(0, (40 - fixedOptions - 4) / 8))
        {
            return;
        }
        byte[] again = new byte[repr.HeaderLength + repr.PayloadLength];
        segment.Payload.CopyTo(again.AsSpan(repr.HeaderLength));
        repr.Emit(new TcpSegment(again), 0x1234, fillChecksum: true);
        Check(TcpSegment.TryCreate(again, out TcpSegment s2) == WireError.Ok && TcpRepr.TryParse(s2, 0x1234, verifyChecksum: true, out TcpRepr r2) == WireError.Ok && r2 == repr, "tcp round trip", repr);
    }

    private static void Udp(Span<byte> data, uint pseudo, bool verify, FrameCoverage c)
    {
        if (UdpPacket.TryCreate(data, out UdpPacket udp) != WireError.Ok)
        {
            return;
        }
        _ = udp.Payload.Length;
        if (UdpRepr.TryParse(udp, pseudo, verify, out UdpRepr repr) != WireError.Ok)
        {
            return;
        }
        c.Udp++;
        byte[] again = new byte[8 + repr.PayloadLength];
        udp.Payload.CopyTo(again.AsSpan(8));
        repr.Emit(new UdpPacket(again), 0x4321, fillChecksum: true);
        Check(UdpPacket.TryCreate(again, out UdpPacket u2) == WireError.Ok && UdpRepr.TryParse(u2, 0x4321, verifyChecksum: true, zeroChecksumIsNone: false, out UdpRepr r2) == WireError.Ok && r2 == repr, "udp round trip", repr);
    }

    private static void Icmpv4(Span<byte> data, bool verify, FrameCoverage c)
    {
        if (Icmpv4Packet.TryCreate(data, out Icmpv4Packet icmp) != WireError.Ok)
        {
            return;
        }
        if (icmp.TryReadInvokingPacket(out Ipv4Repr quoted, out Span<byte> leading) == WireError.Ok)
        {
            c.Icmpv4Invoking++;
            Check(leading.Length <= icmp.Data.Length - 20 && quoted.HeaderLength >= 20, "icmpv4 invoking packet bounds", quoted);
            Tcp(leading, 0, false, c);
            Udp(leading, 0, false, c);
        }
        if (Icmpv4Repr.TryParse(icmp, verify, out Icmpv4Repr repr) != WireError.Ok)
        {
            return;
        }
        c.Icmpv4++;
        Check(repr.BufferLength == data.Length, "icmpv4 length", repr);
        byte[] again = new byte[repr.BufferLength];
        icmp.Data.CopyTo(again.AsSpan(Icmpv4Packet.HeaderLength));
        repr.Emit(new Icmpv4Packet(again));
        Check(Icmpv4Packet.TryCreate(again, out Icmpv4Packet i2) == WireError.Ok && Icmpv4Repr.TryParse(i2, verifyChecksum: true, out Icmpv4Repr r2) == WireError.Ok && r2 == repr, "icmpv4 round trip", repr);
    }

    private static void Icmpv6(Span<byte> data, Ipv6Address source, Ipv6Address destination, bool verify, FrameCoverage c)
    {
        if (Icmpv6Packet.TryCreate(data, out Icmpv6Packet icmp) != WireError.Ok)
        {
            return;
        }
        _ = icmp.Data.Length;
        if (icmp.TryReadInvokingPacket(out Ipv6Repr quoted, out Span<byte> leading) == WireError.Ok)
        {
            c.Icmpv6Invoking++;
            // RFC 4443 2.4: the quote is usually cut short, so the walk must cope with a chain that runs off the end.
            if (Ipv6ExtensionHeaders.TryWalk(quoted.NextHeader, leading, out Ipv6ExtensionChain chain) == WireError.Ok)
            {
                Check(chain.UpperLayerOffset <= leading.Length, "quoted extension chain bounds", chain);
                Udp(leading[chain.UpperLayerOffset..], 0, false, c);
            }
        }
        if (icmp.Data.Length >= 0 && icmp.Type is >= Icmpv6Type.RouterSolicitation and <= Icmpv6Type.Redirect)
        {
            int count = 0;
            NdpOptionReader reader = new(icmp.Data);
            while (reader.MoveNext())
            {
                _ = reader.Current.Data.Length;
                if (++count > icmp.Data.Length)
                {
                    throw new FuzzPropertyException($"the NDP option reader returned {count} options from {icmp.Data.Length} bytes");
                }
            }
        }
        if (Icmpv6Repr.TryParse(icmp, source, destination, verify, out Icmpv6Repr repr) != WireError.Ok)
        {
            return;
        }
        c.Icmpv6++;
        if (repr.IsNdp)
        {
            c.Ndp++;
        }
        byte[] again = new byte[repr.BufferLength];
        if (!repr.IsNdp)
        {
            Check(repr.BufferLength == data.Length, "icmpv6 length", repr);
            icmp.Data.CopyTo(again.AsSpan(Icmpv6Packet.HeaderLengthOf(repr.Type)));
        }
        repr.Emit(new Icmpv6Packet(again), source, destination);
        Check(Icmpv6Packet.TryCreate(again, out Icmpv6Packet i2) == WireError.Ok && Icmpv6Repr.TryParse(i2, source, destination, verifyChecksum: true, out Icmpv6Repr r2) == WireError.Ok && r2 == repr, "icmpv6 round trip", repr);
    }

    private static void WalkIpv4Options(ReadOnlySpan<byte> options)
    {
        Ipv4OptionReader reader = new(options);
        int count = 0;
        while (reader.MoveNext())
        {
            _ = reader.Current.Data.Length;
            if (++count > options.Length + 1)
            {
                throw new FuzzPropertyException($"the IPv4 option reader returned {count} options from {options.Length} bytes");
            }
        }
    }

    private static void WalkIpv6Options(ReadOnlySpan<byte> options, FrameCoverage c)
    {
        if (Ipv6OptionReader.Validate(options) == WireError.Ok)
        {
            c.Ipv6Options++;
        }
        Ipv6OptionReader reader = new(options);
        int count = 0;
        while (reader.MoveNext())
        {
            _ = reader.Current.UnknownAction;
            if (++count > options.Length + 1)
            {
                throw new FuzzPropertyException($"the IPv6 option reader returned {count} options from {options.Length} bytes");
            }
        }
    }

    private static void Check<T>(bool holds, string property, T repr)
    {
        if (!holds)
        {
            throw new FuzzPropertyException($"{property} failed for {repr}");
        }
    }
}

using Skiff.Wire;

namespace Skiff.Stack;

public sealed partial class Interface
{
    // RFC 792 and RFC 1122 3.2.2.
    private void IngressIcmp(PacketBuffer frame, in Ipv4Repr ip, bool broadcast)
    {
        bool verify = (frame.Checksum & ChecksumState.L4Verified) == 0;
        if (Icmpv4Packet.TryCreate(frame.Data, out Icmpv4Packet icmp) != WireError.Ok)
        {
            DropFrame(frame, DropReason.IcmpMalformed);
            return;
        }
        WireError error = Icmpv4Repr.TryParse(icmp, verify, out Icmpv4Repr repr);
        if (error != WireError.Ok)
        {
            // A type the stack does not act on (Redirect, Source Quench, Timestamp, undefined types) is well formed and
            // discarded silently (RFC 1122 3.2.2): ignored, not malformed, so `nmap -PP` does not look like an attack.
            DropFrame(frame, error switch
            {
                WireError.BadChecksum => DropReason.IcmpBadChecksum,
                WireError.Unsupported or WireError.BadOperation => DropReason.IcmpIgnored,
                _ => DropReason.IcmpMalformed,
            });
            return;
        }
        switch (repr.Type)
        {
            case Icmpv4Type.EchoRequest when !broadcast:
                // Echo reply in the same buffer, data unchanged (RFC 792; RFC 1122 3.2.2.6).
                (repr with { Type = Icmpv4Type.EchoReply, Code = 0 }).Emit(icmp, fillChecksum: true);
                Counters.IcmpEchoRepliesSent++;
                SendIpv4(frame, ip.Destination, ip.Source, IpProtocol.Icmp);
                return;
            case Icmpv4Type.EchoReply:
                if (_echoCount == _echoReplies.Length)
                {
                    _echoHead = (_echoHead + 1) % _echoReplies.Length;
                    _echoCount--;
                }
                _echoReplies[(_echoHead + _echoCount) % _echoReplies.Length] = new EchoReply(ip.Source, repr.Identifier, repr.SequenceNumber, repr.DataLength, _now);
                _echoCount++;
                frame.Free();
                return;
            case Icmpv4Type.DestinationUnreachable:
                if (icmp.TryReadInvokingPacket(out Ipv4Repr quoted, out Span<byte> leading) == WireError.Ok
                    && quoted.Protocol == IpProtocol.Tcp && leading.Length >= 8 && IsOurAddress(quoted.Source))
                {
                    ushort localPort = (ushort)(leading[0] << 8 | leading[1]);
                    ushort remotePort = (ushort)(leading[2] << 8 | leading[3]);
                    uint sequence = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(leading[4..]);
                    Tcp.OnDestinationUnreachable(new Skiff.Stack.Tcp.TcpTuple(quoted.Source, localPort, quoted.Destination, remotePort), sequence, repr.UnreachableCode);
                }
                DropFrame(frame, DropReason.IcmpIgnored);
                return;
            default:
                DropFrame(frame, DropReason.IcmpIgnored);
                return;
        }
    }

    /// <summary>
    /// Sends an ICMP error about the datagram whose L4 data is in <paramref name="offending"/> (its IP header
    /// of <paramref name="l3"/> bytes lies just before the data window). RFC 1122 3.2.2: never about an ICMP
    /// error, a broadcast, a non-initial fragment, or a source that is not unicast; rate limited.
    /// </summary>
    private void SendIcmpError(PacketBuffer offending, int l3, in Ipv4Repr ip, Icmpv4Repr template)
    {
        if (ip.FragmentOffset != 0 || !ip.Source.IsUnicast || offending.DataOffset < l3)
        {
            return;
        }
        if (ip.Protocol == IpProtocol.Icmp && (offending.Length == 0 || !IsIcmpQuery(offending.Data[0])))
        {
            return;
        }
        int quoteLength = l3 + Math.Min(8, offending.Length);
        SendIcmpErrorQuote(offending.Frame.Slice(offending.DataOffset - l3, quoteLength), ip.Destination, ip.Source, template);
    }

    private void SendIcmpErrorQuote(ReadOnlySpan<byte> quote, Ipv4Address from, Ipv4Address to, Icmpv4Repr template)
    {
        if (!_icmpErrorLimiter.TryAcquire(_now))
        {
            Counters.Drop(DropReason.IcmpRateLimited);
            return;
        }
        Icmpv4Repr repr = template with { DataLength = quote.Length };
        if (!TryAllocateL4(repr.BufferLength, out PacketBuffer? buffer))
        {
            Counters.Drop(DropReason.NoBuffer);
            return;
        }
        quote.CopyTo(buffer.Data[Icmpv4Packet.HeaderLength..]);
        repr.Emit(new Icmpv4Packet(buffer.Data), fillChecksum: true);
        Counters.IcmpErrorsSent++;
        SendIpv4(buffer, IsOurAddress(from) ? from : SourceFor(to), to, IpProtocol.Icmp);
    }

    private static bool IsIcmpQuery(byte type) => (Icmpv4Type)type is Icmpv4Type.EchoRequest or Icmpv4Type.EchoReply
        or Icmpv4Type.Timestamp or Icmpv4Type.TimestampReply;

    private void PollReassembly()
    {
        while (Reassembler.TryExpire(_now, out Skiff.Stack.Ipv4.Ipv4ReassemblyTimeout expired))
        {
            // RFC 792 / RFC 1122 3.3.2: Time Exceeded (reassembly) only if fragment zero arrived.
            if (expired.HasFirstFragment)
            {
                SendIcmpErrorQuote(expired.IcmpQuote, expired.Key.Destination, expired.Key.Source,
                    Icmpv4Repr.TimeExceeded(Icmpv4TimeExceededCode.FragmentReassemblyTimeExceeded, 0));
            }
        }
    }
}

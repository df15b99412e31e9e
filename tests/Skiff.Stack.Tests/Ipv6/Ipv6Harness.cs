using Skiff.Stack.Ipv6;
using Skiff.Wire;

namespace Skiff.Stack.Tests.Ipv6;

/// <summary>One IPv6 interface on a manual clock: frames go in through Receive, everything it sends is captured.</summary>
internal sealed class Ipv6Harness : IDisposable
{
    public static readonly MacAddress OurMac = new(0x02_00_00_00_00_01UL);
    public static readonly MacAddress PeerMac = new(0x02_00_00_00_00_02UL);
    public static readonly Ipv6Address LinkLocal = Ipv6Address.Parse("fe80::ff:fe00:1"); // EUI-64 of 02:00:00:00:00:01
    public static readonly Ipv6Address Global = Ipv6Address.Parse("fd00::1");
    public static readonly Ipv6Address PeerLinkLocal = Ipv6Address.Parse("fe80::2");
    public static readonly Ipv6Address PeerGlobal = Ipv6Address.Parse("fd00::2");

    private readonly TxBuffer _out = new(1024, new DeviceCapabilities(MtuBytes: 1500));

    public Ipv6Harness(Ipv6Options? v6 = null, int icmpErrorsPerSecond = 1000, int mtu = 1500)
    {
        Pool = new PacketPool(2048, 2048, 256);
        Stack = new Interface(new InterfaceOptions
        {
            Mac = OurMac,
            Addresses = [Ipv4Cidr.Parse("10.0.0.1/24")],
            GratuitousArp = false,
            MtuBytes = mtu,
            IcmpErrorsPerSecond = icmpErrorsPerSecond,
            SecretKey = 42,
            Ipv6 = v6 ?? new Ipv6Options { Addresses = [Ipv6Prefix.Parse("fd00::1/64")], RouterSolicitations = false },
        }, Pool);
    }

    public PacketPool Pool { get; }

    public Interface Stack { get; }

    public Instant Now { get; private set; } = Instant.FromMillis(1000);

    /// <summary>Every frame the interface sent, oldest first.</summary>
    public List<byte[]> Sent { get; } = [];

    public void Poll()
    {
        Stack.Transmit(Now, _out);
        Collect();
    }

    /// <summary>Moves the clock on in steps of at most 100 ms, polling at each.</summary>
    public void Advance(Duration d)
    {
        Instant end = Now + d;
        while (Now < end)
        {
            Now = Instant.Min(end, Now + Duration.FromMillis(100));
            Poll();
        }
    }

    /// <summary>Polls until DAD is over for every address (1 s with one transmit).</summary>
    public void Start()
    {
        Poll();
        Advance(Duration.FromMillis(1100));
        Sent.Clear();
    }

    public void Receive(byte[] frame)
    {
        Assert.True(Pool.TryAllocate(out PacketBuffer? b));
        b.TrySetData(Pool.HeadroomBytes, frame.Length);
        frame.CopyTo(b.Data);
        PacketBuffer[] burst = [b];
        Stack.Receive(Now, burst, _out);
        Collect();
    }

    private void Collect()
    {
        foreach (PacketBuffer f in _out.Frames)
        {
            Sent.Add(f.Data.ToArray());
            f.Free();
        }
        _out.RemoveFirst(_out.Count);
    }

    /// <summary>An Ethernet frame carrying an IPv6 packet with <paramref name="payload"/> after the fixed header.</summary>
    public static byte[] Packet(Ipv6Address source, Ipv6Address destination, IpProtocol next, ReadOnlySpan<byte> payload, byte hopLimit = 64, MacAddress? to = null)
    {
        byte[] frame = new byte[14 + 40 + payload.Length];
        MacAddress dst = to ?? (destination.IsMulticast ? MacAddress.FromIpv6Multicast(destination) : OurMac);
        new EthernetRepr(dst, PeerMac, EtherType.Ipv6).Emit(new EthernetFrame(frame));
        new Ipv6Repr(source, destination, next, payload.Length, hopLimit).Emit(new Ipv6Packet(frame.AsSpan(14)));
        payload.CopyTo(frame.AsSpan(54));
        return frame;
    }

    /// <summary>An ICMPv6 message (NDP messages get hop limit 255 unless told otherwise), after <paramref name="headers"/> if any.</summary>
    public static byte[] Icmp(Icmpv6Repr repr, Ipv6Address source, Ipv6Address destination, byte hopLimit = 255, ReadOnlySpan<byte> data = default, IpProtocol first = IpProtocol.Icmpv6, ReadOnlySpan<byte> headers = default)
    {
        Icmpv6Repr r = repr.DataLength == 0 && !data.IsEmpty ? repr with { DataLength = data.Length } : repr;
        byte[] message = new byte[headers.Length + r.BufferLength];
        Span<byte> icmp = message.AsSpan(headers.Length);
        data.CopyTo(icmp[Icmpv6Packet.HeaderLengthOf(r.Type)..]);
        r.Emit(new Icmpv6Packet(icmp), source, destination);
        headers.CopyTo(message);
        return Packet(source, destination, first, message, hopLimit);
    }

    /// <summary>An echo request from the peer's global address to <paramref name="to"/>.</summary>
    public static byte[] Echo(Ipv6Address to, ushort sequence = 1, int dataLength = 16, Ipv6Address? from = null) =>
        Icmp(Icmpv6Repr.EchoRequest(7, sequence, dataLength), from ?? PeerGlobal, to, hopLimit: 64, data: new byte[dataLength]);

    /// <summary>An extension header (Hop-by-Hop, Destination Options or Routing) of 8 bytes: next header, length 0, six body bytes.</summary>
    public static byte[] Ext(IpProtocol next, params byte[] body)
    {
        byte[] h = new byte[8];
        h[0] = (byte)next;
        body.CopyTo(h, 2);
        return h;
    }

    /// <summary>The sent frames that are ICMPv6 of <paramref name="type"/>, parsed.</summary>
    public List<(EthernetRepr Eth, Ipv6Repr Ip, Icmpv6Repr Icmp, byte[] Message)> SentIcmp(Icmpv6Type type)
    {
        List<(EthernetRepr, Ipv6Repr, Icmpv6Repr, byte[])> list = [];
        foreach (byte[] f in Sent)
        {
            if (Parse(f, out EthernetRepr eth, out Ipv6Repr ip, out byte[] upper, out IpProtocol proto) && proto == IpProtocol.Icmpv6 && upper.Length >= 4 && upper[0] == (byte)type)
            {
                Icmpv6Repr.TryParse(new Icmpv6Packet(upper), ip.Source, ip.Destination, verifyChecksum: true, out Icmpv6Repr icmp);
                Assert.True(new Icmpv6Packet(upper).VerifyChecksum(ip.Source, ip.Destination), "the ICMPv6 checksum is wrong");
                list.Add((eth, ip, icmp, upper));
            }
        }
        return list;
    }

    /// <summary>Parses a sent frame down to its upper layer, walking extension headers.</summary>
    public static bool Parse(byte[] frame, out EthernetRepr eth, out Ipv6Repr ip, out byte[] upper, out IpProtocol protocol)
    {
        ip = default;
        upper = [];
        protocol = default;
        if (EthernetRepr.TryParse(new EthernetFrame(frame), out eth) != WireError.Ok || eth.EtherType != EtherType.Ipv6)
        {
            return false;
        }
        Span<byte> packet = frame.AsSpan(14);
        Assert.Equal(WireError.Ok, Ipv6Repr.TryParse(new Ipv6Packet(packet), out ip));
        Assert.Equal(WireError.Ok, Ipv6ExtensionHeaders.TryWalk(ip.NextHeader, packet.Slice(40, ip.PayloadLength), out Ipv6ExtensionChain chain));
        protocol = chain.UpperLayerProtocol;
        upper = packet.Slice(40 + chain.UpperLayerOffset, ip.PayloadLength - chain.UpperLayerOffset).ToArray();
        return true;
    }

    public void Dispose()
    {
        _out.FreeAll();
        Stack.DropAllQueued();
        Stack.Neighbors?.Clear();
        Pool.Dispose();
    }
}

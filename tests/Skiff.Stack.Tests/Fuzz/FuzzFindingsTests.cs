using Skiff.Devices;
using Skiff.Stack.Udp;
using Skiff.Wire;

namespace Skiff.Stack.Tests.Fuzz;

/// <summary>Regression tests for what the interface fuzzer's review turned up in the receive path.</summary>
public class FuzzFindingsTests
{
    private static readonly MacAddress s_mac = MacAddress.Parse("02:00:00:00:00:01");
    private static readonly MacAddress s_peerMac = MacAddress.Parse("02:00:00:00:00:02");
    private static readonly Ipv4Address s_our = new(10, 0, 0, 1);
    private static readonly Ipv4Address s_peer = new(10, 0, 0, 2);

    [Fact]
    public void ADatagramWhoseOptionsAreInFragmentZeroOnly_IsReassembledAtTheRightOffset()
    {
        // RFC 791 3.2: options without the copied flag travel in the first fragment only, so the fragment that completes
        // the datagram can have a shorter header than the datagram's. The UDP header must be read after the first's.
        byte[] payload = [.. Enumerable.Range(0, 40).Select(i => (byte)i)];
        byte[] udp = Udp(payload, 40000, 7, payload.Length + 8);
        byte[] options = [7, 3, 4, 0]; // record route (not copied), then end of list
        using Harness h = new();
        UdpSocket socket = h.Stack.Udp.Bind(7);
        h.Send(Fragment(udp[..24], 0, more: true, options));
        h.Send(Fragment(udp[24..], 24, more: false, []));
        Assert.True(socket.TryReceive(new byte[100], out int n, out UdpEndpoint from), string.Join(", ", h.Stack.Counters.NonZeroDrops()));
        Assert.Equal(payload.Length, n);
        Assert.Equal(new UdpEndpoint(s_peer, 40000), from);
    }

    [Fact]
    public void AUdpDatagramShorterThanItsIpPayload_IsCheckedWithTheUdpLengthAndDelivered()
    {
        // RFC 768: the pseudo-header holds the UDP length; bytes after it in the IP payload are padding (Linux trims them).
        byte[] payload = [1, 2, 3, 4, 5];
        byte[] udp = [.. Udp(payload, 40000, 7, payload.Length + 8), 0xAA, 0xBB, 0xCC];
        using Harness h = new();
        UdpSocket socket = h.Stack.Udp.Bind(7);
        h.Send(Fragment(udp, 0, more: false, []));
        byte[] got = new byte[100];
        Assert.True(socket.TryReceive(got, out int n, out _), string.Join(", ", h.Stack.Counters.NonZeroDrops()));
        Assert.Equal(payload, got[..n]);
    }

    private static byte[] Udp(byte[] payload, ushort sourcePort, ushort port, int length)
    {
        byte[] b = new byte[8 + payload.Length];
        payload.CopyTo(b, 8);
        new UdpRepr { SourcePort = sourcePort, DestinationPort = port, PayloadLength = payload.Length }
            .Emit(new UdpPacket(b), Checksum.PseudoHeader(s_peer, s_our, IpProtocol.Udp, length), fillChecksum: true);
        return b;
    }

    private static byte[] Fragment(byte[] l4, int offset, bool more, byte[] options)
    {
        Ipv4Repr ip = new(s_peer, s_our, IpProtocol.Udp, l4.Length, 64) { Identification = 77, FragmentOffset = offset, MoreFragments = more, OptionsLength = options.Length };
        byte[] frame = new byte[Math.Max(60, 14 + ip.HeaderLength + l4.Length)];
        new EthernetRepr(s_mac, s_peerMac, EtherType.Ipv4).Emit(new EthernetFrame(frame));
        options.CopyTo(frame, 14 + 20);
        ip.Emit(new Ipv4Packet(frame.AsSpan(14)));
        l4.CopyTo(frame, 14 + ip.HeaderLength);
        return frame;
    }

    private sealed class Harness : IDisposable
    {
        private readonly PacketPool _pool = new(64);
        private readonly PacketPool _peerPool = new(64);
        private readonly InMemoryDevice _device;
        private readonly InMemoryDevice _peer;

        public Harness()
        {
            (_device, _peer) = InMemoryLink.CreatePair(_pool, _peerPool, 64, new DeviceCapabilities(MtuBytes: 1500));
            Stack = new Interface(new InterfaceOptions { Mac = s_mac, Addresses = [new Ipv4Cidr(s_our, 24)], SecretKey = 1 }, _pool);
        }

        public Interface Stack { get; }

        public void Send(byte[] frame)
        {
            Assert.True(_peerPool.TryAllocate(out PacketBuffer? b));
            b.TrySetLength(frame.Length);
            frame.CopyTo(b.Data);
            Assert.Equal(1, _peer.TransmitBurst([b], Instant.FromMillis(1)));
            Stack.Poll(Instant.FromMillis(1), _device);
        }

        public void Dispose()
        {
            _peer.DiscardPending();
            _device.DiscardPending();
            Stack.DropAllQueued();
        }
    }
}

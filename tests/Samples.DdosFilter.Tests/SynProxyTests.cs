using System.Buffers.Binary;
using DdosFilter;
using Skiff;
using Skiff.Hooks;
using Skiff.Wire;

namespace Samples.DdosFilter.Tests;

/// <summary>The SYN proxy sans-I/O: frames in, verdicts and rewritten frames out, at chosen instants.</summary>
public sealed class SynProxyTests : IDisposable
{
    private const ulong ClientMac = 0x02_00_00_00_00_0A, HostMac = 0x02_00_00_00_00_0B;
    private const uint Client = 0x0A5C_0101, Server = 0x0A5C_0102;
    private const ushort ClientPort = 41000, ServerPort = 80;
    private const long T0 = 100_000_000;

    private readonly PacketPool _pool = new(4096);
    private readonly SynProxy _proxy = new([ServerPort], flows: 16, mss: 1400, cookies: new SynCookies(1, 2));

    public void Dispose() => _pool.Dispose();

    [Fact]
    public void A_full_handshake_is_proxied_and_the_flow_translated_both_ways()
    {
        const uint Isn = 0x1000_0000, HostIsn = 0x7000_0000;
        // 1. The client's SYN comes back as a cookie SYN-ACK (Tx), window 0, our MSS.
        (HookVerdict v, PacketBuffer synAck) = Run(0, Segment(fromClient: true, Isn, 0, TcpFrame.Syn, 64240, mss: 1460), T0);
        Assert.Equal(HookVerdict.Tx, v);
        TcpFrameFields f = Read(synAck);
        Assert.Equal((Server, Client, ServerPort, ClientPort), (f.Source, f.Destination, f.SourcePort, f.DestinationPort));
        Assert.Equal((HostMac, ClientMac), (f.SourceMac, f.DestinationMac));
        Assert.Equal(TcpFrame.Syn | TcpFrame.Ack, f.Flags);
        Assert.Equal(Isn + 1, f.Acknowledgment);
        Assert.Equal(0, f.Window);
        Assert.Equal(1400, f.Mss);
        uint cookie = f.Sequence;
        Assert.Equal(1460, _proxy.Cookies.Verify(cookie, Client, Server, ClientPort, ServerPort, Isn, T0));
        Assert.Equal(0, _proxy.Flows); // nothing kept for a SYN

        // 2. Its ACK with the cookie becomes a SYN to the host with the client's ISN and MSS (redirected to the host port).
        (v, PacketBuffer syn) = Run(0, Segment(fromClient: true, Isn + 1, cookie + 1, TcpFrame.Ack, 502), T0 + 300);
        Assert.Equal(HookVerdict.Redirect, v);
        f = Read(syn);
        Assert.Equal((Client, Server, ClientPort, ServerPort), (f.Source, f.Destination, f.SourcePort, f.DestinationPort));
        Assert.Equal((ClientMac, HostMac), (f.SourceMac, f.DestinationMac));
        Assert.Equal((TcpFrame.Syn, Isn, 1460, 502), (f.Flags, f.Sequence, (int)f.Mss, (int)f.Window));
        Assert.Equal(1, _proxy.Flows);

        // Data the client sends before the host answered is dropped (it must not, with a zero window).
        Assert.Equal(HookVerdict.Drop, Run(0, Segment(fromClient: true, Isn + 1, cookie + 1, TcpFrame.Ack | TcpFrame.Psh, 502, payload: 10), T0 + 310).Verdict);

        // 3. The host's SYN-ACK becomes the handshake's ACK back to the host; a window update for the client is queued.
        (v, PacketBuffer ack) = Run(1, Segment(fromClient: false, HostIsn, Isn + 1, TcpFrame.Syn | TcpFrame.Ack, 65160, mss: 1460), T0 + 400);
        Assert.Equal(HookVerdict.Tx, v);
        f = Read(ack);
        Assert.Equal((Client, Server, ClientPort, ServerPort), (f.Source, f.Destination, f.SourcePort, f.DestinationPort));
        Assert.Equal((ClientMac, HostMac), (f.SourceMac, f.DestinationMac));
        Assert.Equal((TcpFrame.Ack, Isn + 1, HostIsn + 1, 502), (f.Flags, f.Sequence, f.Acknowledgment, (int)f.Window));
        Assert.True(_proxy.TryDequeueWindowUpdate(out TcpFrameFields update));
        Assert.Equal((Server, Client, cookie + 1, Isn + 1, TcpFrame.Ack, 65160), (update.Source, update.Destination, update.Sequence, update.Acknowledgment, update.Flags, (int)update.Window));
        Assert.Equal((HostMac, ClientMac), (update.SourceMac, update.DestinationMac));
        Assert.Equal(1, _proxy.Handshakes);

        // 4. Client data: its acknowledgment moves from the cookie's space to the host's; checksums stay right.
        (v, PacketBuffer data) = Run(0, Segment(fromClient: true, Isn + 1, cookie + 1, TcpFrame.Ack | TcpFrame.Psh, 502, payload: 100), T0 + 500);
        Assert.Equal(HookVerdict.Pass, v);
        f = Read(data);
        Assert.Equal((Isn + 1, HostIsn + 1), (f.Sequence, f.Acknowledgment));

        // 5. Host data: its sequence number moves to the cookie's space.
        (v, PacketBuffer reply) = Run(1, Segment(fromClient: false, HostIsn + 1, Isn + 101, TcpFrame.Ack | TcpFrame.Psh, 65160, payload: 1000), T0 + 600);
        Assert.Equal(HookVerdict.Pass, v);
        f = Read(reply);
        Assert.Equal((cookie + 1, Isn + 101), (f.Sequence, f.Acknowledgment));

        // 6. A reset ends the flow.
        Assert.Equal(HookVerdict.Pass, Run(0, Segment(fromClient: true, Isn + 101, cookie + 1001, TcpFrame.Rst | TcpFrame.Ack, 0), T0 + 700).Verdict);
        Assert.Equal(0, _proxy.Flows);
    }

    [Fact]
    public void A_lost_final_ACK_is_recovered_from_the_clients_zero_window_probe()
    {
        const uint Isn = 0x2000_0000;
        uint cookie = Read(Run(0, Segment(fromClient: true, Isn, 0, TcpFrame.Syn, 64240, mss: 1460), T0).Frame).Sequence;
        // The ACK (seq = isn + 1) is lost. Waiting on the zero window, the client probes with seq = snd_una - 1 = isn.
        (HookVerdict v, PacketBuffer syn) = Run(0, Segment(fromClient: true, Isn, cookie + 1, TcpFrame.Ack, 502), T0 + 200_000);
        Assert.Equal(HookVerdict.Redirect, v);
        TcpFrameFields f = Read(syn);
        Assert.Equal((TcpFrame.Syn, Isn, 1460), (f.Flags, f.Sequence, (int)f.Mss));
        Assert.Equal((1, 0), (_proxy.CookiesAccepted, _proxy.CookiesRejected));
        // Any other sequence number is no cookie for its handshake: only the ACK's and the probe's forms open a connection.
        uint other = Read(Run(0, Segment(fromClient: true, Isn, 0, TcpFrame.Syn, 64240, mss: 1460, clientPort: 41001), T0).Frame).Sequence;
        Assert.Equal(HookVerdict.Drop, Run(0, Segment(fromClient: true, Isn - 1, other + 1, TcpFrame.Ack, 502, clientPort: 41001), T0 + 200_000).Verdict);
        Assert.Equal(1, _proxy.CookiesRejected);
    }

    [Fact]
    public void ACKs_without_a_valid_cookie_and_strays_are_dropped_and_counted()
    {
        Assert.Equal(HookVerdict.Drop, Run(0, Segment(fromClient: true, 5, 0x1234_5678, TcpFrame.Ack, 100), T0).Verdict);
        Assert.Equal(HookVerdict.Drop, Run(0, Segment(fromClient: true, 5, 0, TcpFrame.Rst, 0), T0).Verdict);
        Assert.Equal(HookVerdict.Drop, Run(0, Segment(fromClient: true, 5, 9, TcpFrame.Fin | TcpFrame.Ack, 100), T0).Verdict);
        Assert.Equal((2, 1, 0), (_proxy.CookiesRejected, _proxy.NoFlow, _proxy.Flows)); // a FIN-ACK is checked as a final ACK too
        // A valid cookie too late (over two slots).
        uint cookie = Read(Run(0, Segment(fromClient: true, 7, 0, TcpFrame.Syn, 100, mss: 1460), T0).Frame).Sequence;
        Assert.Equal(HookVerdict.Drop, Run(0, Segment(fromClient: true, 8, cookie + 1, TcpFrame.Ack, 100), T0 + 2 * SynCookies.SlotMicros).Verdict);
        // Other ports and the host's unrelated traffic pass untouched.
        Assert.Equal(HookVerdict.Pass, Run(0, Segment(fromClient: true, 5, 0, TcpFrame.Syn, 100, serverPort: 22), T0).Verdict);
        Assert.Equal(HookVerdict.Pass, Run(1, Segment(fromClient: false, 5, 6, TcpFrame.Ack, 100), T0).Verdict);
    }

    [Fact]
    public void The_flow_table_stays_within_its_bound_under_a_flood_of_valid_cookies()
    {
        // An attacker who completes handshakes (not spoofed) fills entries; the table never grows past its size.
        for (int i = 0; i < 500; i++)
        {
            ushort port = (ushort)(20000 + i);
            uint cookie = Read(Run(0, Segment(fromClient: true, 1, 0, TcpFrame.Syn, 100, mss: 1460, clientPort: port), T0 + i).Frame).Sequence;
            Assert.Equal(HookVerdict.Redirect, Run(0, Segment(fromClient: true, 2, cookie + 1, TcpFrame.Ack, 100, clientPort: port), T0 + i).Verdict);
        }
        Assert.Equal(16, _proxy.FlowCapacity);
        Assert.InRange(_proxy.Flows, 1, 16);
        Assert.Equal(500 - _proxy.Flows, _proxy.FlowsEvicted);
    }

    [Fact]
    public void Proxying_allocates_nothing()
    {
        uint isn = 1;
        long bytes = Allocations.LeastPerRound(() =>
        {
            PacketBuffer frame = Segment(fromClient: true, isn++, 0, TcpFrame.Syn, 100, mss: 1460);
            HookContext context = new() { Now = new Instant(T0), Port = 0, RedirectQueue = -1 };
            _proxy.Process(frame, ref context);
            frame.Free();
        });
        Assert.Equal(0, bytes);
    }

    private (HookVerdict Verdict, PacketBuffer Frame) Run(ushort port, PacketBuffer frame, long now)
    {
        HookContext context = new() { Now = new Instant(now), Port = port, RedirectQueue = -1 };
        SynProxyHook hook = new(_proxy);
        HookVerdict verdict = hook.Process(frame, ref context);
        if (verdict == HookVerdict.Redirect)
        {
            Assert.Equal(_proxy.HostPort, context.RedirectPort);
        }
        return (verdict, frame);
    }

    private PacketBuffer Segment(bool fromClient, uint seq, uint ack, byte flags, ushort window, ushort mss = 0, int payload = 0,
        ushort clientPort = ClientPort, ushort serverPort = ServerPort)
    {
        Assert.True(_pool.TryAllocate(out PacketBuffer? frame));
        TcpFrameFields f = fromClient
            ? new() { SourceMac = ClientMac, DestinationMac = HostMac, Source = Client, Destination = Server, SourcePort = clientPort, DestinationPort = serverPort }
            : new() { SourceMac = HostMac, DestinationMac = ClientMac, Source = Server, Destination = Client, SourcePort = serverPort, DestinationPort = clientPort };
        f.Sequence = seq;
        f.Acknowledgment = ack;
        f.Flags = flags;
        f.Window = window;
        f.Mss = mss;
        int length = TcpFrame.LengthOf(in f);
        Assert.True(frame.TrySetLength(length + payload));
        TcpFrame.Write(frame.Data, in f);
        if (payload > 0)
        {
            // Payload after the header: fix the IP length and both checksums by writing the frame again around it.
            Span<byte> d = frame.Data;
            d.Slice(length, payload).Fill(0x41);
            BinaryPrimitives.WriteUInt16BigEndian(d[16..], (ushort)(length - 14 + payload));
            BinaryPrimitives.WriteUInt16BigEndian(d[24..], 0);
            BinaryPrimitives.WriteUInt16BigEndian(d[24..], Checksum.Compute(d.Slice(14, 20)));
            Span<byte> tcp = d[34..];
            BinaryPrimitives.WriteUInt16BigEndian(tcp[16..], 0);
            int tcpLength = length - 34 + payload;
            BinaryPrimitives.WriteUInt16BigEndian(tcp[16..], Checksum.Finish(Checksum.Accumulate(tcp[..tcpLength],
                Checksum.PseudoHeader(new Ipv4Address(f.Source), new Ipv4Address(f.Destination), IpProtocol.Tcp, tcpLength))));
        }
        PacketClassifier.Classify(frame);
        return frame;
    }

    /// <summary>The frame's fields, after checking that both of its checksums are right.</summary>
    private static TcpFrameFields Read(PacketBuffer frame)
    {
        ReadOnlySpan<byte> d = frame.Data;
        ReadOnlySpan<byte> ip = d[14..];
        Assert.True(Checksum.IsValid(ip[..20]), "IPv4 header checksum");
        int total = BinaryPrimitives.ReadUInt16BigEndian(ip[2..]);
        ReadOnlySpan<byte> tcp = ip[20..total];
        (ulong dst, ulong src) = TcpFrame.ReadMacs(d);
        TcpFrameFields f = new()
        {
            DestinationMac = dst,
            SourceMac = src,
            Source = BinaryPrimitives.ReadUInt32BigEndian(ip[12..]),
            Destination = BinaryPrimitives.ReadUInt32BigEndian(ip[16..]),
            SourcePort = BinaryPrimitives.ReadUInt16BigEndian(tcp),
            DestinationPort = BinaryPrimitives.ReadUInt16BigEndian(tcp[2..]),
            Sequence = BinaryPrimitives.ReadUInt32BigEndian(tcp[4..]),
            Acknowledgment = BinaryPrimitives.ReadUInt32BigEndian(tcp[8..]),
            Flags = tcp[13],
            Window = BinaryPrimitives.ReadUInt16BigEndian(tcp[14..]),
            Mss = TcpFrame.ReadMss(tcp, (tcp[12] >> 4) * 4),
        };
        Assert.True(Checksum.IsValid(tcp, Checksum.PseudoHeader(new Ipv4Address(f.Source), new Ipv4Address(f.Destination), IpProtocol.Tcp, tcp.Length)), "TCP checksum");
        return f;
    }
}

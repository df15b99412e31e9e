using Skiff.Stack.Tests.Simulation;
using Skiff.Stack.Tcp;
using Skiff.Wire;

namespace Skiff.Stack.Tests.Tcp;

/// <summary>
/// Floods an attacker drives (issue 15 item 6), frame by frame over the in-memory link into a real
/// <see cref="Interface"/> with a listener: after warm-up, not one byte may be allocated per frame, replies included
/// (SYN-ACKs with cookies, RSTs). The attacker writes its frames with the wire views into pool buffers, so the rig
/// itself allocates nothing either (<see cref="TheRigAloneAllocatesNothing"/>).
/// </summary>
public sealed class FloodAllocationTests
{
    private const ushort ListenPort = 80;

    [Fact]
    public void TheRigAloneAllocatesNothing()
    {
        using FloodRig rig = new();
        int i = 0;
        Assert.Equal(0, Skiff.TestSupport.Allocations.LeastPerRound(() =>
        {
            rig.Send(rig.Spoofed(i), (ushort)(1024 + (i % 60000)), ListenPort, (uint)i * 7919, 0, TcpFlags.Syn, withOptions: true);
            rig.DrainServerSide();
            i++;
        }));
    }

    [Fact]
    public void ASynFloodAnsweredWithCookiesAllocatesNothing()
    {
        using FloodRig rig = new(maxHalfOpen: 16);
        int i = 0;
        long bytes = Skiff.TestSupport.Allocations.LeastPerRound(() =>
        {
            rig.Send(rig.Spoofed(i), (ushort)(1024 + (i % 60000)), ListenPort, (uint)i * 7919, 0, TcpFlags.Syn, withOptions: true);
            rig.Poll();
            i++;
        });
        Assert.True(rig.Listener.SynCookiesSent > 1000, $"cookies sent: {rig.Listener.SynCookiesSent}");
        Assert.Equal(0, bytes);
    }

    [Fact]
    public void ASynFloodFillingTheSynQueueWithoutCookiesAllocatesNothing()
    {
        using FloodRig rig = new(maxHalfOpen: 64, cookies: false);
        int i = 0;
        long bytes = Skiff.TestSupport.Allocations.LeastPerRound(() =>
        {
            rig.Send(rig.Spoofed(i), (ushort)(1024 + (i % 60000)), ListenPort, (uint)i * 7919, 0, TcpFlags.Syn, withOptions: true);
            rig.Poll();
            i++;
        });
        Assert.Equal(0, bytes);
    }

    [Fact]
    public void ASynFloodToAClosedPortIsRefusedWithoutAllocating()
    {
        using FloodRig rig = new();
        int i = 0;
        long bytes = Skiff.TestSupport.Allocations.LeastPerRound(() =>
        {
            rig.Send(rig.Spoofed(i), (ushort)(1024 + (i % 60000)), 81, (uint)i * 7919, 0, TcpFlags.Syn, withOptions: true);
            rig.Poll();
            i++;
        });
        Assert.Equal(0, bytes);
    }

    [Theory]
    [InlineData(TcpFlags.Ack)]
    [InlineData(TcpFlags.Rst)]
    [InlineData(TcpFlags.Rst | TcpFlags.Ack)]
    [InlineData(TcpFlags.Fin | TcpFlags.Ack)]
    public void AnAckOrRstFloodAllocatesNothing(TcpFlags flags)
    {
        using FloodRig rig = new();
        int i = 0;
        long bytes = Skiff.TestSupport.Allocations.LeastPerRound(() =>
        {
            rig.Send(rig.Spoofed(i), (ushort)(1024 + (i % 60000)), ListenPort, (uint)i * 7919, (uint)i * 104729, flags, withOptions: false);
            rig.Poll();
            i++;
        });
        Assert.Equal(0, bytes);
    }

    [Fact]
    public void AConnectionFloodRefusedAtTheLimitAllocatesNothing()
    {
        // Every handshake completes (the attacker answers each SYN-ACK, cookie or not) and nobody accepts: the
        // backlog fills, then the connection table; what comes after is refused.
        using FloodRig rig = new(maxHalfOpen: 16, maxConnections: 64, backlog: 8);
        int i = 0;
        long bytes = Skiff.TestSupport.Allocations.LeastPerRound(() =>
        {
            rig.Handshake(rig.Spoofed(i), (ushort)(1024 + (i % 60000)), (uint)i * 7919);
            i++;
        });
        Assert.True(rig.Layer.ConnectionCount >= 8, $"connections: {rig.Layer.ConnectionCount}");
        Assert.Equal(0, bytes);
    }

    /// <summary>The server (10.0.0.2, gateway 10.0.0.1) and the attacker's end of the link, on a manual clock.</summary>
    private sealed class FloodRig : IDisposable
    {
        private readonly StackPair _pair;
        private readonly PacketBuffer[] _one = new PacketBuffer[1];
        private readonly PacketBuffer[] _replies = new PacketBuffer[64];

        public FloodRig(int maxHalfOpen = 256, bool cookies = true, int maxConnections = 4096, int backlog = 128)
        {
            TcpLayerOptions tcp = new() { SynCookies = cookies, MaxConnections = maxConnections };
            _pair = new StackPair(tcp: tcp, templateB: new InterfaceOptions { Mac = default, Addresses = [], Gateway = StackPair.AddressA },
                arp: new Skiff.Stack.Arp.ArpCacheOptions { ReachableTime = Duration.FromSeconds(1_000_000) });
            _pair.PrimeArp();
            Listener = _pair.B.Tcp.Listen(ListenPort, backlog: backlog, maxHalfOpen: maxHalfOpen);
        }

        public TcpListener Listener { get; }

        public TcpLayer Layer => _pair.B.Tcp;

        /// <summary>A spoofed source off the link (so replies go to the gateway, whose MAC is known): 172.16.0.0/12.</summary>
        public Ipv4Address Spoofed(int i) => new(172, (byte)(16 + ((i >> 16) & 15)), (byte)(i >> 8), (byte)i);

        /// <summary>Writes one TCP segment from <paramref name="source"/> to the server into a pool frame and sends it over the link.</summary>
        public void Send(Ipv4Address source, ushort sourcePort, ushort port, uint seq, uint ack, TcpFlags flags, bool withOptions)
        {
            TcpRepr tcp = new()
            {
                SourcePort = sourcePort,
                DestinationPort = port,
                SequenceNumber = seq,
                AcknowledgmentNumber = ack,
                Flags = flags,
                WindowLength = 64240,
            };
            if (withOptions)
            {
                tcp = tcp with { MaxSegmentSize = 1460, WindowScale = 7, SackPermitted = true, Timestamp = new TcpTimestamp(seq, 0) };
            }
            int l4 = tcp.HeaderLength;
            // No Assert in the measured path: xUnit's equality assertions allocate.
            if (!_pair.PoolA.TryAllocate(out PacketBuffer? frame) || !frame.TryAppend(14 + 20 + l4))
            {
                throw new InvalidOperationException("the attacker's pool ran dry: a frame leaked");
            }
            Span<byte> data = frame.Data;
            new EthernetRepr(_pair.B.Mac, _pair.A.Mac, EtherType.Ipv4).Emit(new EthernetFrame(data));
            new Ipv4Repr(source, StackPair.AddressB, IpProtocol.Tcp, l4, 64) { DontFragment = true }.Emit(new Ipv4Packet(data[14..]));
            tcp.Emit(new TcpSegment(data[34..]), Checksum.PseudoHeader(source, StackPair.AddressB, IpProtocol.Tcp, l4), fillChecksum: true);
            _one[0] = frame;
            if (_pair.LinkA.TransmitBurst(_one, _pair.Clock.Now) != 1)
            {
                throw new InvalidOperationException("the link refused the frame: the server is not draining it");
            }
        }

        /// <summary>Takes and frees what reached the server's end of the link, unread (to measure the rig alone).</summary>
        public void DrainServerSide()
        {
            int n;
            while ((n = _pair.LinkB.ReceiveBurst(_replies, _pair.Clock.Now)) > 0)
            {
                for (int k = 0; k < n; k++)
                {
                    _replies[k].Free();
                }
            }
        }

        /// <summary>Moves the clock 100 µs, lets the server take the frame and answer, and frees its answers.</summary>
        public void Poll()
        {
            _pair.Clock.Advance(Duration.FromMicros(100));
            _pair.B.Poll(_pair.Clock.Now, _pair.LinkB);
            DrainReplies();
        }

        /// <summary>Frees what the server sent; returns the SYN-ACK's sequence number if one came, else null.</summary>
        public uint? DrainReplies()
        {
            uint? synAckSeq = null;
            int n;
            while ((n = _pair.LinkA.ReceiveBurst(_replies, _pair.Clock.Now)) > 0)
            {
                for (int k = 0; k < n; k++)
                {
                    Span<byte> data = _replies[k].Data;
                    if (data.Length >= 54 && data[23] == (byte)IpProtocol.Tcp
                        && TcpSegment.TryCreate(data[34..], out TcpSegment seg) == WireError.Ok
                        && (seg.Flags & (TcpFlags.Syn | TcpFlags.Ack)) == (TcpFlags.Syn | TcpFlags.Ack))
                    {
                        synAckSeq = seg.SequenceNumber;
                    }
                    _replies[k].Free();
                }
            }
            return synAckSeq;
        }

        /// <summary>SYN, the server's SYN-ACK (from its SYN queue or a cookie), and the final ACK.</summary>
        public void Handshake(Ipv4Address source, ushort sourcePort, uint iss)
        {
            Send(source, sourcePort, ListenPort, iss, 0, TcpFlags.Syn, withOptions: false);
            _pair.Clock.Advance(Duration.FromMicros(100));
            _pair.B.Poll(_pair.Clock.Now, _pair.LinkB);
            if (DrainReplies() is uint serverIss)
            {
                Send(source, sourcePort, ListenPort, iss + 1, serverIss + 1, TcpFlags.Ack, withOptions: false);
                Poll();
            }
        }

        public void Dispose() => _pair.Dispose();
    }
}

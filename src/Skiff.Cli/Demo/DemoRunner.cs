using System.Diagnostics;
using System.Security.Cryptography;
using Skiff.Devices;
using Skiff.Stack;
using Skiff.Stack.Tcp;
using Skiff.Stack.Udp;
using Skiff.Wire;
using Skiff.Wire.Pcap;

namespace Skiff.Cli.Demo;

/// <summary>
/// <c>skiff demo</c>: two Skiff stacks, 10.0.0.1 and 10.0.0.2, over the in-memory link (optionally impaired),
/// driven by one busy-polling thread on the real clock: ARP, a ping, a UDP echo exchange, then a TCP
/// transfer of a seeded stream in both directions at once, checked by SHA-256 at both ends.
/// </summary>
internal sealed class DemoRunner
{
    private const ushort TcpPort = 5001;
    private const ushort EchoPort = 7;
    private const int ChunkBytes = 64 * 1024;

    private readonly DemoOptions _options;
    private readonly TextWriter _out;
    private readonly MonotonicClock _clock = new();
    private readonly PacketPool _poolA = new(16384);
    private readonly PacketPool _poolB = new(16384);
    private readonly IDevice _devA;
    private readonly IDevice _devB;
    private readonly ImpairedDevice? _impairedA;
    private readonly ImpairedDevice? _impairedB;
    private readonly InMemoryDevice _linkA;
    private readonly InMemoryDevice _linkB;
    private readonly Interface _a;
    private readonly Interface _b;

    private DemoRunner(DemoOptions options, TextWriter output, PcapNgWriter? capture)
    {
        _options = options;
        _out = output;
        (_linkA, _linkB) = InMemoryLink.CreatePair(_poolA, _poolB, 4096);
        _devA = _linkA;
        _devB = _linkB;
        if (options.Impaired)
        {
            _impairedA = new ImpairedDevice(_linkA, Impairments(options, options.Seed * 2 + 1));
            _impairedB = new ImpairedDevice(_linkB, Impairments(options, options.Seed * 2 + 2));
            _devA = _impairedA;
            _devB = _impairedB;
        }
        if (capture is not null)
        {
            _devA = new CaptureDevice(_devA, capture, "skiff-a") { EpochNanos = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000 };
        }
        _a = new Interface(new InterfaceOptions
        {
            Mac = MacAddress.Parse("02:00:0a:00:00:01"),
            Addresses = [Ipv4Cidr.Parse("10.0.0.1/24")],
            SecretKey = (UInt128)options.Seed * 2 + 1,
        }, _poolA);
        _b = new Interface(new InterfaceOptions
        {
            Mac = MacAddress.Parse("02:00:0a:00:00:02"),
            Addresses = [Ipv4Cidr.Parse("10.0.0.2/24")],
            SecretKey = (UInt128)options.Seed * 2 + 2,
        }, _poolB);
    }

    private static ImpairmentOptions Impairments(DemoOptions o, ulong seed) => new()
    {
        Seed = seed,
        LossProbability = o.LossPercent / 100,
        DuplicateProbability = o.DuplicatePercent / 100,
        CorruptProbability = o.CorruptPercent / 100,
        // Flip bits only where a real wire has no FCS to catch them first: past the Ethernet header of IPv4
        // frames. Every such flip must then be caught by an IP, TCP, UDP or ICMP checksum (ARP has none).
        CorruptSkipBytes = 14,
        CorruptOnlyEtherType = 0x0800,
        ReorderProbability = o.ReorderPercent / 100,
        Delay = Duration.FromMicros((long)(o.DelayMillis * 1000)),
        RateBytesPerSecond = (long)(o.RateMbps * 1_000_000 / 8),
        QueueLimitFrames = 100_000,
    };

    /// <summary>Runs the demo; returns 0 when both streams arrived intact, 1 otherwise.</summary>
    public static int Run(DemoOptions options, TextWriter output, TextWriter error)
    {
        PcapNgWriter? capture = null;
        if (options.PcapPath is string path)
        {
            try
            {
                capture = new PcapNgWriter(File.Create(path));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                error.WriteLine($"skiff demo: cannot write '{path}': {e.Message} Choose a writable path for --pcap.");
                return 2;
            }
        }
        try
        {
            return new DemoRunner(options, output, capture).Execute();
        }
        finally
        {
            capture?.Dispose();
        }
    }

    private void PollBoth()
    {
        Instant now = _clock.Now;
        _a.Poll(now, _devA);
        _b.Poll(now, _devB);
    }

    private bool RunUntil(Func<bool> done, TimeSpan limit)
    {
        long end = Stopwatch.GetTimestamp() + (long)(limit.TotalSeconds * Stopwatch.Frequency);
        while (!done())
        {
            if (Stopwatch.GetTimestamp() > end)
            {
                return false;
            }
            PollBoth();
        }
        return true;
    }

    private int Execute()
    {
        DemoOptions o = _options;
        _out.WriteLine($"skiff demo: two stacks over the in-memory link, 10.0.0.1 <-> 10.0.0.2, seed {o.Seed}");
        if (o.Impaired)
        {
            _out.WriteLine($"  impairments each way: loss {o.LossPercent}%, reorder {o.ReorderPercent}%, duplicate {o.DuplicatePercent}%, corrupt {o.CorruptPercent}%, delay {o.DelayMillis} ms, rate {(o.RateMbps > 0 ? o.RateMbps + " Mbit/s" : "unlimited")}");
        }

        Ping();
        UdpEcho();
        bool ok = TcpTransfer();
        _out.WriteLine(ok ? "integrity: ok" : "integrity: FAILED");
        return ok ? 0 : 1;
    }

    private void Ping()
    {
        Ipv4Address target = new(10, 0, 0, 2);
        for (ushort seq = 1; seq <= 5; seq++)
        {
            Instant sent = _clock.Now;
            _a.SendEchoRequest(sent, target, 0x5346, seq, 56);
            Interface.EchoReply reply = default;
            if (RunUntil(() => _a.TryReceiveEchoReply(out reply), TimeSpan.FromSeconds(2)))
            {
                bool resolved = _a.Arp.GetState(target, out MacAddress mac) != Skiff.Stack.Arp.ArpEntryState.Incomplete;
                _out.WriteLine($"arp: 10.0.0.2 is at {mac}{(resolved ? "" : " (unresolved)")}");
                _out.WriteLine($"ping: {reply.DataLength} bytes from {reply.Source}: icmp_seq={reply.Sequence} time={(reply.ReceivedAt - sent).TotalMicros} us");
                return;
            }
            _out.WriteLine($"ping: no reply to icmp_seq={seq}");
        }
    }

    private void UdpEcho()
    {
        UdpSocket server = _b.Udp.Bind(EchoPort);
        UdpSocket client = _a.Udp.Bind(0);
        const int count = 100;
        byte[] payload = new byte[64];
        byte[] received = new byte[2048];
        int echoed = 0;
        for (int i = 0; i < count; i++)
        {
            payload[0] = (byte)i;
            while (!client.TrySend(payload, new UdpEndpoint(new Ipv4Address(10, 0, 0, 2), EchoPort)))
            {
                PollBoth();
            }
        }
        long idleSince = Stopwatch.GetTimestamp();
        while (echoed < count && Stopwatch.GetTimestamp() - idleSince < Stopwatch.Frequency / 2)
        {
            PollBoth();
            while (server.TryReceive(out PacketBuffer? datagram, out UdpEndpoint from))
            {
                server.TrySend(datagram.Data, from);
                datagram.Free();
            }
            while (client.TryReceive(received, out int n, out _))
            {
                if (n == payload.Length)
                {
                    echoed++;
                }
                idleSince = Stopwatch.GetTimestamp();
            }
        }
        _out.WriteLine($"udp echo: {count} datagrams of {payload.Length} bytes sent to 10.0.0.2:{EchoPort}, {echoed} echoed");
        server.Close();
        client.Close();
    }

    /// <summary>One direction of the transfer: a seeded generator on the sender, SHA-256 on both ends.</summary>
    private sealed class Direction(ulong seed, long total)
    {
        private SeededStream _stream = new(seed);
        private readonly byte[] _chunk = new byte[ChunkBytes];
        private int _chunkOffset = ChunkBytes;
        private int _chunkLength = ChunkBytes;
        public readonly IncrementalHash SentHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        public readonly IncrementalHash ReceivedHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        public long Sent;
        public long Received;
        public long Total = total;

        public bool Done => Received == Total;

        public void Pump(TcpSocket sender)
        {
            while (Sent < Total && sender.CanSend)
            {
                if (_chunkOffset == _chunkLength)
                {
                    _chunkLength = (int)Math.Min(ChunkBytes, Total - Sent);
                    _stream.Fill(_chunk.AsSpan(0, _chunkLength));
                    SentHash.AppendData(_chunk, 0, _chunkLength);
                    _chunkOffset = 0;
                }
                int n = sender.Send(_chunk.AsSpan(_chunkOffset, _chunkLength - _chunkOffset));
                if (n == 0)
                {
                    break;
                }
                _chunkOffset += n;
                Sent += n;
            }
        }

        public void Drain(TcpSocket receiver)
        {
            // Zero-copy read: hash the payload where it lies in its packet buffer, then release it.
            while (receiver.TryPeek(out ReadOnlySpan<byte> data))
            {
                ReceivedHash.AppendData(data);
                Received += data.Length;
                receiver.Consume(data.Length);
            }
        }
    }

    private bool TcpTransfer()
    {
        long bytes = _options.Bytes;
        TcpListener listener = _b.Tcp.Listen(TcpPort);
        Instant start = _clock.Now;
        SocketHandle clientHandle = _a.Tcp.Connect(start, new Ipv4Address(10, 0, 0, 1), new Ipv4Address(10, 0, 0, 2), TcpPort);
        SocketHandle serverHandle = default;
        if (!RunUntil(() => _b.Tcp.TryAccept(listener, out serverHandle), TimeSpan.FromSeconds(20)))
        {
            _out.WriteLine("tcp: the connection was not accepted within 20 s");
            return false;
        }
        TcpSocket client = _a.Tcp.Get(clientHandle);
        TcpSocket server = _b.Tcp.Get(serverHandle);
        RunUntil(() => client.State != TcpState.SynSent, TimeSpan.FromSeconds(20));
        _out.WriteLine($"tcp: connected 10.0.0.1:{client.Tuple.LocalPort} -> 10.0.0.2:{TcpPort} in {(_clock.Now - start).TotalMicros} us; sending {Format(bytes)} each way");

        Direction up = new(_options.Seed * 2 + 101, bytes);
        Direction down = new(_options.Seed * 2 + 102, bytes);
        int gen0 = GC.CollectionCount(0), gen1 = GC.CollectionCount(1), gen2 = GC.CollectionCount(2);
        long t0 = Stopwatch.GetTimestamp();
        long lastReport = t0;
        long lastProgressBytes = 0;
        long lastProgressAt = t0;
        while (!(up.Done && down.Done))
        {
            up.Pump(client);
            down.Pump(server);
            PollBoth();
            up.Drain(server);
            down.Drain(client);
            long now = Stopwatch.GetTimestamp();
            if (now - lastReport > Stopwatch.Frequency / 2)
            {
                lastReport = now;
                double s = (now - t0) / (double)Stopwatch.Frequency;
                _out.WriteLine($"  {s,5:0.0} s  10.0.0.1->10.0.0.2 {Format(up.Received)}  10.0.0.2->10.0.0.1 {Format(down.Received)}  {(up.Received + down.Received) * 8 / s / 1e9:0.00} Gbit/s");
            }
            long moved = up.Received + down.Received;
            if (moved != lastProgressBytes)
            {
                lastProgressBytes = moved;
                lastProgressAt = now;
            }
            else if (now - lastProgressAt > _options.StallTimeout.TotalSeconds * Stopwatch.Frequency)
            {
                _out.WriteLine($"tcp: stalled: no byte moved for {_options.StallTimeout.TotalSeconds} s (client {client.State}, server {server.State})");
                return false;
            }
            if (client.State == TcpState.Closed || server.State == TcpState.Closed)
            {
                _out.WriteLine($"tcp: the connection ended early: client {client.State} ({client.Error}), server {server.State} ({server.Error})");
                return false;
            }
        }
        double seconds = (Stopwatch.GetTimestamp() - t0) / (double)Stopwatch.Frequency;
        int collections = GC.CollectionCount(0) - gen0 + GC.CollectionCount(1) - gen1 + GC.CollectionCount(2) - gen2;

        client.Close();
        server.Close();
        // Both sides close at once (a simultaneous close is legal and then both end in TIME-WAIT).
        bool closed = RunUntil(() => client.State is TcpState.TimeWait or TcpState.Closed && server.State is TcpState.TimeWait or TcpState.Closed, TimeSpan.FromSeconds(20));
        TcpConnectionCounters cc = client.Counters, sc = server.Counters;

        _out.WriteLine($"tcp: {Format(bytes)} each way in {seconds:0.000} s: {bytes * 8 / seconds / 1e9:0.00} Gbit/s each way, {bytes * 16 / seconds / 1e9:0.00} Gbit/s total");
        _out.WriteLine($"tcp: retransmissions {cc.Retransmissions + sc.Retransmissions} (fast {cc.FastRetransmits + sc.FastRetransmits}, timeouts {cc.Timeouts + sc.Timeouts}), out-of-order segments held {cc.OutOfOrderSegments + sc.OutOfOrderSegments}");
        _out.WriteLine($"tcp: close {(closed ? "clean" : "INCOMPLETE")}: client {client.State}, server {server.State}");
        _out.WriteLine($"gc: {collections} collections during the transfer");
        ReportDrops("10.0.0.1", _a, _impairedA);
        ReportDrops("10.0.0.2", _b, _impairedB);
        _b.Tcp.Release(serverHandle);
        _a.Tcp.Release(clientHandle);

        byte[] sentUp = up.SentHash.GetHashAndReset(), gotUp = up.ReceivedHash.GetHashAndReset();
        byte[] sentDown = down.SentHash.GetHashAndReset(), gotDown = down.ReceivedHash.GetHashAndReset();
        bool upOk = sentUp.AsSpan().SequenceEqual(gotUp) && up.Received == bytes;
        bool downOk = sentDown.AsSpan().SequenceEqual(gotDown) && down.Received == bytes;
        _out.WriteLine($"sha256 10.0.0.1->10.0.0.2: sent {Convert.ToHexStringLower(sentUp)[..16]}… received {Convert.ToHexStringLower(gotUp)[..16]}… {(upOk ? "match" : "MISMATCH")}");
        _out.WriteLine($"sha256 10.0.0.2->10.0.0.1: sent {Convert.ToHexStringLower(sentDown)[..16]}… received {Convert.ToHexStringLower(gotDown)[..16]}… {(downOk ? "match" : "MISMATCH")}");
        return upOk && downOk && closed;
    }

    private void ReportDrops(string name, Interface iface, ImpairedDevice? impaired)
    {
        List<string> parts = [];
        foreach ((DropReason reason, long count) in iface.Counters.NonZeroDrops())
        {
            parts.Add($"{reason} {count}");
        }
        _out.WriteLine($"drops at {name}: {(parts.Count == 0 ? "none" : string.Join(", ", parts))}");
        if (impaired is not null)
        {
            ImpairmentCounters c = impaired.TransmitCounters;
            _out.WriteLine($"wire from {name}: lost {c.Lost}, duplicated {c.Duplicated}, corrupted {c.Corrupted}, reordered {c.Reordered}, delayed {c.Delayed}");
        }
    }

    private static string Format(long bytes) => bytes >= 1 << 20 ? $"{bytes / (double)(1 << 20):0.0} MiB" : $"{bytes / 1024.0:0.0} KiB";
}

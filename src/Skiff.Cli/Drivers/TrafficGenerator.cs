using System.Diagnostics;
using Skiff.Engine;
using Skiff.Wire;

namespace Skiff.Cli.Drivers;

/// <summary>
/// <c>skiff gen</c> (testpmd's txonly), a stage on an engine loop: builds one Ethernet/IPv4/UDP frame, then transmits
/// copies of it in bursts as fast as the device (or <see cref="GenSettings.RatePps"/>) allows, cycling the UDP source port over
/// <see cref="GenSettings.Flows"/> flows (each flow's UDP checksum is computed once, up front). Prints pps each second.
/// </summary>
/// <remarks>The loop allocates nothing: frames come from the device's pool in bursts, and what the device refuses stays in the engine's TX buffer and is retried.</remarks>
internal sealed class TrafficGenerator
{
    private const int Burst = 32;
    private const int UdpOffset = 14 + 20;

    private readonly IDevice _device;
    private readonly GenSettings _settings;
    private readonly byte[] _template;
    private readonly ushort[] _checksums;

    public TrafficGenerator(IDevice device, GenSettings settings)
    {
        _device = device;
        _settings = settings;
        _checksums = new ushort[Math.Max(settings.Flows, 0)];
        _template = BuildTemplate(settings, _checksums);
    }

    /// <summary>The generator's first frame (flow 0), as it goes on the wire: for generators that send one frame over and over.</summary>
    /// <exception cref="ArgumentException">The settings are out of range (a sentence saying which).</exception>
    public static byte[] BuildFrame(GenSettings settings) => BuildTemplate(settings with { Flows = 1 }, new ushort[1]);

    /// <summary>
    /// Builds the Ethernet/IPv4/UDP frame and each flow's UDP checksum into <paramref name="checksums"/> (one per flow);
    /// the frame is left as the last flow's. Throws <see cref="ArgumentException"/> for a size or flow count out of range.
    /// </summary>
    private static byte[] BuildTemplate(GenSettings settings, Span<ushort> checksums)
    {
        if (settings.FrameBytes is < GenSettings.MinFrameBytes or > GenSettings.MaxFrameBytes)
        {
            throw new ArgumentException($"A frame of {settings.FrameBytes} bytes cannot be sent; give --size from {GenSettings.MinFrameBytes} to {GenSettings.MaxFrameBytes}.");
        }
        if (settings.Flows < 1 || settings.FirstSourcePort + settings.Flows - 1 > ushort.MaxValue)
        {
            throw new ArgumentException($"--flows must be from 1 to {ushort.MaxValue - settings.FirstSourcePort + 1}.");
        }
        byte[] template = new byte[settings.FrameBytes];
        int udpLength = settings.FrameBytes - UdpOffset;
        new EthernetRepr(settings.DestinationMac, settings.SourceMac, EtherType.Ipv4).Emit(new EthernetFrame(template));
        for (int i = UdpOffset + 8; i < template.Length; i++)
        {
            template[i] = (byte)i;
        }
        new Ipv4Repr(settings.SourceAddress, settings.DestinationAddress, IpProtocol.Udp, udpLength, 64) { DontFragment = true }
            .Emit(new Ipv4Packet(template.AsSpan(14)));
        uint pseudo = Checksum.PseudoHeader(settings.SourceAddress, settings.DestinationAddress, IpProtocol.Udp, udpLength);
        for (int f = 0; f < settings.Flows; f++)
        {
            new UdpRepr { SourcePort = (ushort)(settings.FirstSourcePort + f), DestinationPort = settings.DestinationPort, PayloadLength = udpLength - 8 }
                .Emit(new UdpPacket(template.AsSpan(UdpOffset)), pseudo, fillChecksum: true);
            checksums[f] = new UdpPacket(template.AsSpan(UdpOffset)).Checksum;
        }
        return template;
    }

    /// <summary>Frames the device accepted.</summary>
    public long Sent => Volatile.Read(ref _sent);

    private long _sent;

    /// <summary>Frames the pool could not supply at once (the device still holds them): the generator waited.</summary>
    public long PoolEmpty { get; private set; }

    /// <summary>
    /// Transmits until <paramref name="stop"/>, the duration or the count, on an engine loop of its own whose stage is
    /// this generator (busy-polling, frames received on the device are freed); writes a line per second to
    /// <paramref name="output"/>. Returns the per-second rates of frames the device accepted.
    /// </summary>
    public List<double> Run(TextWriter output, CancellationToken stop)
    {
        Stack.Interface iface = new(new Stack.InterfaceOptions { Mac = _settings.SourceMac, Addresses = [new Ipv4Cidr(_settings.SourceAddress, 32)] }, _device.Pool);
        SkiffEngine engine = new(iface, [_device], new SkiffEngineOptions { ThreadName = "skiff-gen", Idle = SkiffIdlePolicy.BusyPoll }, new FreeingConsumer());
        Stage stage = new(this, engine.PortOutput(0));
        engine.AddStage(stage);
        Engine.Pipeline.PortCounters port = engine.PortCountersOf(0);
        long freq = Stopwatch.Frequency;
        long start = Stopwatch.GetTimestamp();
        long end = _settings.Duration > TimeSpan.Zero ? start + (long)(_settings.Duration.TotalSeconds * freq) : long.MaxValue;
        long count = _settings.Count > 0 ? _settings.Count : long.MaxValue;
        List<double> rates = [];
        engine.Start();
        long last = start;
        long lastSent = 0;
        while (!stop.IsCancellationRequested)
        {
            long t = Stopwatch.GetTimestamp();
            long sent = port.TxFrames;
            Volatile.Write(ref _sent, sent);
            if (t >= end || sent >= count || engine.Failure is not null)
            {
                break;
            }
            if (t - last >= freq)
            {
                double pps = (sent - lastSent) * (double)freq / (t - last);
                rates.Add(pps);
                output.WriteLine($"  {(t - start) / (double)freq,6:0.0} s  {pps,12:N0} pps  {pps * (_settings.FrameBytes + 24) * 8 / 1e9,7:0.000} Gbit/s on the wire");
                output.Flush();
                last = t;
                lastSent = sent;
            }
            stop.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(Math.Min(10, Math.Max(1, (end - t) * 1000 / freq))));
        }
        stage.Stop = true;
        engine.Stop(); // frames still held by the engine go back to the pool
        if (engine.Failure is Exception failure)
        {
            throw new InvalidOperationException($"The generator's loop failed: {failure.Message}", failure);
        }
        long total = port.TxFrames;
        Volatile.Write(ref _sent, total);
        PoolEmpty = stage.PoolEmpty;
        double seconds = (Stopwatch.GetTimestamp() - start) / (double)freq;
        output.WriteLine($"skiff gen: {total} frames of {_settings.FrameBytes} bytes in {seconds:0.000} s: {total / Math.Max(seconds, 1e-9):N0} pps average");
        return rates;
    }

    /// <summary>
    /// The generator as an engine stage: every iteration it fills the port's <see cref="TxBuffer"/> with up to a burst of
    /// frames (as many as the count, the rate and the buffer allow); the engine's egress sends them through the TX
    /// hooks. Allocates nothing: frames come from the device's pool a burst at a time.
    /// </summary>
    private sealed class Stage(TrafficGenerator owner, TxBuffer output) : IEngineStage
    {
        private readonly PacketBuffer[] _burst = new PacketBuffer[Burst];
        private readonly long _count = owner._settings.Count > 0 ? owner._settings.Count : long.MaxValue;
        private Instant _start = Instant.Never;
        private Instant _end = Instant.Never;
        private long _queued;
        private int _flow;

        public volatile bool Stop;

        public long PoolEmpty { get; private set; }

        public bool Run(Instant now)
        {
            if (Finished(now))
            {
                return false;
            }
            if (_start == Instant.Never)
            {
                _start = now;
                // The loop's own clock ends the run: the thread that reports each second may wake late on a busy machine.
                _end = owner._settings.Duration > TimeSpan.Zero ? now + Duration.FromMicros((long)(owner._settings.Duration.TotalMilliseconds * 1000)) : Instant.Never;
            }
            long want = Math.Min(Burst, _count - _queued);
            if (owner._settings.RatePps > 0)
            {
                want = Math.Min(want, Due(Instant.Min(now, _end)));
            }
            if (want <= 0 || !output.HasRoom())
            {
                return false;
            }
            want = Math.Min(want, output.Capacity - output.Count);
            int n = owner._device.Pool.AllocateBurst(_burst.AsSpan(0, (int)want));
            if (n < want)
            {
                PoolEmpty++;
            }
            for (int i = 0; i < n; i++)
            {
                owner.Fill(_burst[i], _flow);
                _flow = _flow + 1 == owner._checksums.Length ? 0 : _flow + 1;
                output.TryAdd(_burst[i]); // room was made above: it cannot refuse
                _burst[i] = null!;
            }
            _queued += n;
            return n > 0;
        }

        /// <summary>
        /// Done: stopped, every frame sent, or past the end. At a rate, frames that fell due before the end still go
        /// (a loop that woke late catches up), so a run of S seconds at R pps sends R x S frames however busy the machine.
        /// </summary>
        private bool Finished(Instant now) =>
            Stop || _queued >= _count || (now >= _end && (owner._settings.RatePps <= 0 || Due(_end) <= 0));

        /// <summary>Frames due by <paramref name="at"/> at the rate and not yet queued.</summary>
        private long Due(Instant at) => (at - _start).TotalMicros * owner._settings.RatePps / 1_000_000 + 1 - _queued;

        public Instant PollAt(Instant now) => Finished(now) ? Instant.Never
            : owner._settings.RatePps > 0 && _start != Instant.Never
                ? Instant.Max(now, _start + Duration.FromMicros((_queued * 1_000_000 / owner._settings.RatePps) + 1))
                : now;
    }

    private void Fill(PacketBuffer buffer, int flow)
    {
        buffer.TryAppend(_template.Length);
        Span<byte> data = buffer.Data;
        _template.CopyTo(data);
        UdpPacket udp = new(data[UdpOffset..]);
        udp.SourcePort = (ushort)(_settings.FirstSourcePort + flow);
        udp.Checksum = _checksums[flow];
    }
}

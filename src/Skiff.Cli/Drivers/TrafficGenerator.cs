using System.Diagnostics;
using Skiff.Wire;

namespace Skiff.Cli.Drivers;

/// <summary>
/// <c>skiff gen</c>'s loop (testpmd's txonly): builds one Ethernet/IPv4/UDP frame, then transmits copies of it in
/// bursts as fast as the device (or <see cref="GenSettings.RatePps"/>) allows, cycling the UDP source port over
/// <see cref="GenSettings.Flows"/> flows (each flow's UDP checksum is computed once, up front). Prints pps each second.
/// </summary>
/// <remarks>The loop allocates nothing: frames come from the device's pool in bursts, and what the device refuses is retried.</remarks>
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
        if (settings.FrameBytes is < GenSettings.MinFrameBytes or > GenSettings.MaxFrameBytes)
        {
            throw new ArgumentException($"A frame of {settings.FrameBytes} bytes cannot be sent; give --size from {GenSettings.MinFrameBytes} to {GenSettings.MaxFrameBytes}.");
        }
        if (settings.Flows < 1 || settings.FirstSourcePort + settings.Flows - 1 > ushort.MaxValue)
        {
            throw new ArgumentException($"--flows must be from 1 to {ushort.MaxValue - settings.FirstSourcePort + 1}.");
        }
        _template = new byte[settings.FrameBytes];
        int udpLength = settings.FrameBytes - UdpOffset;
        new EthernetRepr(settings.DestinationMac, settings.SourceMac, EtherType.Ipv4).Emit(new EthernetFrame(_template));
        for (int i = UdpOffset + 8; i < _template.Length; i++)
        {
            _template[i] = (byte)i;
        }
        new Ipv4Repr(settings.SourceAddress, settings.DestinationAddress, IpProtocol.Udp, udpLength, 64) { DontFragment = true }
            .Emit(new Ipv4Packet(_template.AsSpan(14)));
        uint pseudo = Checksum.PseudoHeader(settings.SourceAddress, settings.DestinationAddress, IpProtocol.Udp, udpLength);
        _checksums = new ushort[settings.Flows];
        for (int f = 0; f < settings.Flows; f++)
        {
            new UdpRepr { SourcePort = (ushort)(settings.FirstSourcePort + f), DestinationPort = settings.DestinationPort, PayloadLength = udpLength - 8 }
                .Emit(new UdpPacket(_template.AsSpan(UdpOffset)), pseudo, fillChecksum: true);
            _checksums[f] = new UdpPacket(_template.AsSpan(UdpOffset)).Checksum;
        }
    }

    /// <summary>Frames the device accepted.</summary>
    public long Sent => Volatile.Read(ref _sent);

    private long _sent;

    /// <summary>Frames the pool could not supply at once (the device still holds them): the generator waited.</summary>
    public long PoolEmpty { get; private set; }

    /// <summary>Transmits until <paramref name="stop"/>, the duration or the count; writes a line per second to <paramref name="output"/>. Returns the per-second rates.</summary>
    public List<double> Run(TextWriter output, CancellationToken stop)
    {
        PacketPool pool = _device.Pool;
        PacketBuffer[] burst = new PacketBuffer[Burst];
        int held = 0;
        int flow = 0;
        long start = Stopwatch.GetTimestamp();
        long freq = Stopwatch.Frequency;
        long end = _settings.Duration > TimeSpan.Zero ? start + (long)(_settings.Duration.TotalSeconds * freq) : long.MaxValue;
        long nextReport = start + freq;
        long reportedSent = 0;
        long count = _settings.Count > 0 ? _settings.Count : long.MaxValue;
        List<double> rates = [];
        long sent = 0;
        int idle = 0;
        while (!stop.IsCancellationRequested && sent < count)
        {
            long t = Stopwatch.GetTimestamp();
            if (t >= end)
            {
                break;
            }
            if (t >= nextReport)
            {
                double pps = (sent - reportedSent) * (double)freq / (t - nextReport + freq);
                rates.Add(pps);
                output.WriteLine($"  {(t - start) / (double)freq,6:0.0} s  {pps,12:N0} pps  {pps * (_settings.FrameBytes + 24) * 8 / 1e9,7:0.000} Gbit/s on the wire");
                output.Flush();
                reportedSent = sent;
                nextReport = t + freq;
            }
            long want = Math.Min(Burst, count - sent);
            if (_settings.RatePps > 0)
            {
                long allowed = (long)((t - start) * (double)_settings.RatePps / freq) + 1 - sent;
                want = Math.Min(want, allowed);
            }
            if (want > held)
            {
                int n = pool.AllocateBurst(burst.AsSpan(held, (int)want - held));
                if (n < want - held)
                {
                    PoolEmpty++;
                }
                for (int i = held; i < held + n; i++)
                {
                    Fill(burst[i], flow);
                    flow = flow + 1 == _checksums.Length ? 0 : flow + 1;
                }
                held += n;
            }
            Instant now = new((t - start) * 1_000_000 / freq);
            int accepted = _device.TransmitBurst(burst.AsSpan(0, held), now);
            if (accepted > 0)
            {
                burst.AsSpan(accepted, held - accepted).CopyTo(burst);
                held -= accepted;
                sent += accepted;
                Volatile.Write(ref _sent, sent);
                idle = 0;
            }
            else if (++idle > 64)
            {
                Thread.Yield();
            }
        }
        for (int i = 0; i < held; i++)
        {
            burst[i].Free();
        }
        _device.TransmitBurst([], new Instant((Stopwatch.GetTimestamp() - start) * 1_000_000 / freq));
        double seconds = (Stopwatch.GetTimestamp() - start) / (double)freq;
        output.WriteLine($"skiff gen: {sent} frames of {_settings.FrameBytes} bytes in {seconds:0.000} s: {sent / Math.Max(seconds, 1e-9):N0} pps average");
        return rates;
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

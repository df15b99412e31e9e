using Skiff.Hooks.Bpf;

namespace Skiff.Engine.Capture;

/// <summary>
/// One capture's attachment to one engine loop: the points it watches, its filter and snap length, the ring the loop
/// copies matching frames into, and the loop's counters per port. Loop thread writes, the capture's thread reads
/// (the counters finally, after detaching).
/// </summary>
internal sealed unsafe class CaptureTap
{
    public const byte PointRx = (byte)CapturePoints.Rx;
    public const byte PointTx = (byte)CapturePoints.Tx;
    public const byte PointDrop = (byte)CapturePoints.Drop;

    /// <summary>Set in the point byte of a drop record for a frame that was on its way out.</summary>
    public const byte Outbound = 0x80;

    private readonly CompiledBpfFilter? _filter;
    private readonly int _snap;

    public CaptureTap(CapturePoints points, int snapLength, CompiledBpfFilter? filter, int ringBytes, int ports)
    {
        Points = points;
        _filter = filter;
        Ring = new CaptureRing(ringBytes);
        _snap = Math.Min(snapLength, Ring.MaxCapturedBytes);
        Seen = new long[ports];
        Rejected = new long[ports];
        Lost = new long[ports];
    }

    public CapturePoints Points { get; }

    public CaptureRing Ring { get; }

    /// <summary>Frames that reached the tap, per port.</summary>
    public long[] Seen { get; }

    /// <summary>Frames the filter rejected, per port.</summary>
    public long[] Rejected { get; }

    /// <summary>Frames the filter kept that found the ring full, per port.</summary>
    public long[] Lost { get; }

    /// <summary>Offers every frame of a burst seen at <paramref name="point"/> (rx or tx) on <paramref name="port"/>.</summary>
    public void Burst(ReadOnlySpan<PacketBuffer> frames, int port, byte point, long micros)
    {
        if (((byte)Points & point) == 0)
        {
            return;
        }
        foreach (PacketBuffer frame in frames)
        {
            Offer(frame.DangerousDataPointer, frame.Length, port, point, 0, micros);
        }
    }

    /// <summary>Offers one dropped frame: <paramref name="cause"/> is its DropReason plus one.</summary>
    public void Drop(ReadOnlySpan<byte> frame, int port, bool inbound, byte cause, long micros)
    {
        if ((Points & CapturePoints.Drop) == 0)
        {
            return;
        }
        fixed (byte* data = frame)
        {
            Offer(data, frame.Length, port, inbound ? PointDrop : (byte)(PointDrop | Outbound), cause, micros);
        }
    }

    private void Offer(byte* data, int length, int port, byte point, byte cause, long micros)
    {
        Seen[port]++;
        if (_filter is not null && _filter.Run(data, length, length) == 0)
        {
            Rejected[port]++;
            return;
        }
        if (!Ring.TryWrite(data, Math.Min(length, _snap), length, (ushort)port, point, cause, micros))
        {
            Lost[port]++;
        }
    }
}

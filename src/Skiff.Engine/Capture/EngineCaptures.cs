using System.Diagnostics;
using System.Runtime.CompilerServices;
using Skiff.Stack;

namespace Skiff.Engine.Capture;

/// <summary>
/// The live captures attached to one engine loop. Copy-on-write as <see cref="Skiff.Hooks.HookTable"/>: attaching and
/// detaching (any thread) publish a new array under a lock; the loop reads it once per iteration, with no lock.
/// With no capture attached the whole cost is one volatile read and a predictable branch per iteration, and a null
/// check per burst at each point.
/// </summary>
/// <remarks>
/// Detaching must know the loop no longer writes into the detached capture's ring, so the capture can read its
/// last records and final counters: the loop marks the iterations that use captures (<see cref="Enter"/> sets a
/// flag with a full fence, then reads the array again; <see cref="Exit"/> clears it), and <see cref="Detach"/>
/// publishes, fences, and waits until the flag is clear: any later iteration reads the new array.
/// </remarks>
internal sealed class EngineCaptures(SkiffEngine engine) : IDropTap
{
    private static readonly TimeSpan s_quiesceTimeout = TimeSpan.FromSeconds(5);

    private readonly Lock _lock = new();
    private CaptureTap[]? _published;
    private int _busy;
    private long _micros;

    /// <summary>The captures this iteration offers frames to, or null. Loop thread.</summary>
    public CaptureTap[]? InUse;

    /// <summary>The port of the RX burst the loop is handing on (stack drops of received frames are recorded on it). Loop thread.</summary>
    public int RxPort;

    /// <summary>Loop thread, at the start of the pipeline.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Enter(Instant now)
    {
        if (Volatile.Read(ref _published) is not null)
        {
            EnterSlow(now);
        }
    }

    /// <summary>Loop thread, at the end of the pipeline.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Exit()
    {
        if (_busy != 0)
        {
            ExitSlow();
        }
    }

    private void EnterSlow(Instant now)
    {
        Interlocked.Exchange(ref _busy, 1); // full fence: the array read below is not hoisted above the flag
        CaptureTap[]? taps = Volatile.Read(ref _published);
        InUse = taps;
        _micros = now.TotalMicros;
        RxPort = 0;
        if (taps is not null)
        {
            foreach (CaptureTap tap in taps)
            {
                if ((tap.Points & CapturePoints.Drop) != 0)
                {
                    engine.Interface.DropTap = this;
                    break;
                }
            }
        }
    }

    private void ExitSlow()
    {
        engine.Interface.DropTap = null;
        InUse = null;
        Volatile.Write(ref _busy, 0);
    }

    /// <summary>Starts offering frames to <paramref name="tap"/> from the next iteration. Any thread.</summary>
    public void Attach(CaptureTap tap)
    {
        lock (_lock)
        {
            Volatile.Write(ref _published, [.. _published ?? [], tap]);
        }
    }

    /// <summary>
    /// Stops offering frames to <paramref name="tap"/> and waits until the loop is outside any iteration that may still
    /// see it (at most a few seconds, should the loop be stuck; not at all on the loop thread, or once it stopped).
    /// </summary>
    public void Detach(CaptureTap tap)
    {
        lock (_lock)
        {
            CaptureTap[] rest = [.. (_published ?? []).Where(t => t != tap)];
            Volatile.Write(ref _published, rest.Length == 0 ? null : rest);
        }
        Interlocked.MemoryBarrier();
        if (engine.IsLoopThread)
        {
            return;
        }
        long start = Stopwatch.GetTimestamp();
        SpinWait spin = default;
        while (Volatile.Read(ref _busy) != 0 && !engine.IsStopped && Stopwatch.GetElapsedTime(start) < s_quiesceTimeout)
        {
            spin.SpinOnce(sleep1Threshold: 100);
        }
    }

    /// <summary>Loop: an RX burst of <paramref name="port"/>, before the hooks.</summary>
    public void Rx(CaptureTap[] taps, int port, ReadOnlySpan<PacketBuffer> burst)
    {
        RxPort = port;
        foreach (CaptureTap tap in taps)
        {
            tap.Burst(burst, port, CaptureTap.PointRx, _micros);
        }
    }

    /// <summary>Loop: frames about to leave <paramref name="port"/>, after the TX hooks.</summary>
    public void Tx(CaptureTap[] taps, int port, ReadOnlySpan<PacketBuffer> frames, Instant now)
    {
        foreach (CaptureTap tap in taps)
        {
            tap.Burst(frames, port, CaptureTap.PointTx, now.TotalMicros);
        }
    }

    /// <summary>Loop: a frame the pipeline drops (hook verdicts, redirects, full TX queues).</summary>
    public void Dropped(CaptureTap[] taps, PacketBuffer frame, DropReason reason, int port, bool inbound)
    {
        foreach (CaptureTap tap in taps)
        {
            tap.Drop(frame.Data, port, inbound, (byte)(reason + 1), _micros);
        }
    }

    /// <summary>The stack drops a frame (set as <see cref="Interface.DropTap"/> only while a drop capture is attached).</summary>
    void IDropTap.Dropped(PacketBuffer frame, ReadOnlySpan<byte> ethernetFrame, DropReason reason, bool inbound)
    {
        if (InUse is not CaptureTap[] taps)
        {
            return;
        }
        foreach (CaptureTap tap in taps)
        {
            tap.Drop(ethernetFrame, inbound ? RxPort : 0, inbound, (byte)(reason + 1), _micros);
        }
    }
}

using System.Text;
using Skiff.Hooks.Bpf;
using Skiff.Stack;
using Skiff.Wire.Pcap;

namespace Skiff.Engine.Capture;

/// <summary>
/// A live capture of running engine loops into a pcapng stream (DPDK's pdump, in process): each loop copies the
/// frames that match the filter, up to the snap length, into a ring of its own; the capture's thread writes them as
/// pcapng. Start one with <see cref="Start"/> (or <see cref="SkiffStack.StartCapture"/>); <see cref="Stop"/> or
/// <see cref="Dispose"/> detaches it at a burst boundary, writes what the rings hold and the statistics, and flushes.
/// Several captures may run at once, each with its own points, filter and snap length.
/// </summary>
/// <remarks>
/// <para>The file has one Interface Description Block per loop (queue) and port, named <c>skiff-qQ-pP</c>; each
/// frame's Enhanced Packet Block carries its direction in epb_flags and the point that saw it as a comment
/// (<c>rx</c>, <c>tx</c>, <c>drop: CAUSE</c>). At the end, an Interface Statistics Block per interface: isb_ifrecv
/// (frames the capture saw there), isb_filteraccept (kept by the filter), isb_ifdrop (lost: the ring was full) and
/// isb_usrdeliv (written).</para>
/// <para>The loop never waits for the capture: no lock, syscall or allocation per frame; when the writer falls
/// behind, frames are counted as lost. Thread-safe.</para>
/// </remarks>
public sealed class SkiffCapture : IDisposable
{
    private static readonly TimeSpan s_idleWait = TimeSpan.FromMilliseconds(2);
    private static readonly byte[][] s_comments = BuildComments();

    private readonly Attachment[] _attachments;
    private readonly PcapNgWriter _writer;
    private readonly Stream _buffered;
    private readonly Thread _thread;
    private readonly ManualResetEventSlim _wake = new(false);
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly long _limit;
    private volatile bool _stopRequested;
    private long _written;
    private Exception? _failure;

    private readonly Stream _output;
    private readonly bool _leaveOpen;
    private readonly long[] _writtenOn; // per pcapng interface

    private SkiffCapture(Attachment[] attachments, PcapNgWriter writer, Stream output, Stream buffered, bool leaveOpen, SkiffCaptureOptions options)
    {
        _attachments = attachments;
        _writer = writer;
        _output = output;
        _buffered = buffered;
        _leaveOpen = leaveOpen;
        _writtenOn = new long[writer.InterfaceCount];
        Options = options;
        _limit = options.Count;
        _thread = new Thread(Drain) { IsBackground = true, Name = "skiff-capture" };
    }

    /// <summary>What was asked.</summary>
    public SkiffCaptureOptions Options { get; }

    /// <summary>Completes when the capture has ended (stopped, its count reached, or its output failed) and its output is flushed.</summary>
    public Task Completion => _completion.Task;

    /// <summary>Why the capture ended early: the output stream failed (the reader went away). Null otherwise.</summary>
    public Exception? Failure => Volatile.Read(ref _failure);

    /// <summary>Frames written so far.</summary>
    public long Written => Interlocked.Read(ref _written);

    /// <summary>The loop queues captured and their counters; exact once <see cref="Completion"/> is done, approximate before.</summary>
    public SkiffCaptureCounters Counters
    {
        get
        {
            long seen = 0, rejected = 0, lost = 0;
            foreach (Attachment a in _attachments)
            {
                for (int p = 0; p < a.Tap.Seen.Length; p++)
                {
                    seen += Volatile.Read(ref a.Tap.Seen[p]);
                    rejected += Volatile.Read(ref a.Tap.Rejected[p]);
                    lost += Volatile.Read(ref a.Tap.Lost[p]);
                }
            }
            return new SkiffCaptureCounters(seen, rejected, lost, Written);
        }
    }

    /// <summary>
    /// Compiles the filter, writes the pcapng header and one interface per loop and port to <paramref name="output"/>,
    /// and attaches to <paramref name="engines"/> (those serving <see cref="SkiffCaptureOptions.Queue"/>, when given).
    /// Throws <see cref="ArgumentException"/> for bad options or a queue no engine serves, and
    /// <see cref="BpfCompileException"/> for a filter libpcap refuses. The output is closed at the end unless
    /// <paramref name="leaveOpen"/>.
    /// </summary>
    public static SkiffCapture Start(IReadOnlyList<SkiffEngine> engines, Stream output, SkiffCaptureOptions? options = null, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(engines);
        ArgumentNullException.ThrowIfNull(output);
        options ??= new SkiffCaptureOptions();
        options.Validate();
        SkiffEngine[] chosen = [.. engines.Where(e => options.Queue is not int q || e.Options.Queue == q)];
        if (chosen.Length == 0)
        {
            throw new ArgumentException(options.Queue is int q
                ? $"No engine loop serves queue {q}; the queues are {string.Join(", ", engines.Select(e => e.Options.Queue))}."
                : "There is no engine loop to capture.");
        }
        CompiledBpfFilter? filter = string.IsNullOrWhiteSpace(options.Filter) ? null : BpfFilter.Compile(options.Filter, options.SnapLength).Compiled;
        Stream buffered = new BufferedStream(output, 64 * 1024);
        PcapNgWriter writer = new(buffered, "skiff capture", leaveOpen: true);
        Attachment[] attachments = new Attachment[chosen.Length];
        long wallMicros = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000;
        for (int i = 0; i < chosen.Length; i++)
        {
            SkiffEngine engine = chosen[i];
            int firstInterface = writer.InterfaceCount;
            for (int port = 0; port < engine.PortCount; port++)
            {
                writer.AddInterface(Skiff.Wire.Pcap.LinkType.Ethernet, $"skiff-q{engine.Options.Queue}-p{port}", options.SnapLength, nanosecond: false,
                    description: $"Skiff engine loop of queue {engine.Options.Queue}, port {port} ({engine.PortDevice(port).GetType().Name}); points {options.Points}"
                        + (filter is null ? "" : $"; filter '{options.Filter}'"));
            }
            CaptureTap tap = new(options.Points, options.SnapLength, filter, options.RingBytes, engine.PortCount);
            // The loop stamps frames with its own clock (µs); this maps it to the Unix epoch.
            attachments[i] = new Attachment(engine, tap, firstInterface, wallMicros - engine.Now.TotalMicros);
        }
        writer.Flush();
        SkiffCapture capture = new(attachments, writer, output, buffered, leaveOpen, options);
        foreach (Attachment a in attachments)
        {
            a.Engine.Captures.Attach(a.Tap);
        }
        capture._thread.Start();
        return capture;
    }

    /// <summary>Detaches from every loop, writes what the rings still hold and the statistics, flushes, and waits for the capture's thread. Idempotent.</summary>
    public void Stop()
    {
        _stopRequested = true;
        _wake.Set();
        if (Thread.CurrentThread != _thread)
        {
            _thread.Join();
        }
    }

    /// <summary>Same as <see cref="Stop"/>.</summary>
    public void Dispose() => Stop();

    private void Drain()
    {
        try
        {
            while (!_stopRequested && !LimitReached)
            {
                if (DrainOnce() == 0)
                {
                    _buffered.Flush(); // readers (tcpdump -r -) see frames as they come
                    _wake.Wait(s_idleWait);
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or NotSupportedException)
        {
            Volatile.Write(ref _failure, e);
        }
        Finish();
    }

    private bool LimitReached => _limit > 0 && _written >= _limit;

    /// <summary>Writes what every ring holds (up to the count); returns how many frames were written.</summary>
    private int DrainOnce()
    {
        int n = 0;
        foreach (Attachment a in _attachments)
        {
            CaptureRing ring = a.Tap.Ring;
            while (!LimitReached && ring.TryRead(out CaptureRingRecord r))
            {
                bool outbound = r.Point == CaptureTap.PointTx || (r.Point & CaptureTap.Outbound) != 0;
                byte[] comment = r.Cause != 0 ? s_comments[1 + r.Cause] : s_comments[r.Point == CaptureTap.PointRx ? 0 : 1];
                int id = a.FirstInterface + r.Port;
                _writer.Write(r.Data.Span, Math.Max(0, r.Micros + a.EpochMicros) * 1000, id, r.WireLength,
                    outbound ? PcapNgWriter.FlagOutbound : PcapNgWriter.FlagInbound, comment);
                ring.Release(r);
                _writtenOn[id]++;
                Interlocked.Increment(ref _written);
                n++;
            }
        }
        return n;
    }

    private void Finish()
    {
        foreach (Attachment a in _attachments)
        {
            a.Engine.Captures.Detach(a.Tap);
        }
        try
        {
            if (Failure is null)
            {
                DrainOnce();
            }
            foreach (Attachment a in _attachments)
            {
                CaptureTap t = a.Tap;
                for (int p = 0; p < t.Seen.Length; p++)
                {
                    long seen = t.Seen[p];
                    long accepted = seen - t.Rejected[p];
                    _writer.SetStatistics(a.FirstInterface + p, seen, t.Lost[p], accepted, _writtenOn[a.FirstInterface + p]);
                }
            }
            if (Failure is null)
            {
                _writer.Dispose();
                _buffered.Flush();
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or NotSupportedException)
        {
            Volatile.Write(ref _failure, e);
        }
        finally
        {
            if (!_leaveOpen)
            {
                try
                {
                    _output.Dispose();
                }
                catch (IOException)
                {
                }
            }
            _completion.TrySetResult();
        }
    }

    private static byte[][] BuildComments()
    {
        DropReason[] reasons = Enum.GetValues<DropReason>();
        // rx, tx, then "drop: CAUSE" at 1 + cause (a record's cause is its DropReason plus one).
        byte[][] comments = new byte[2 + reasons.Length][];
        comments[0] = Encoding.UTF8.GetBytes("rx");
        comments[1] = Encoding.UTF8.GetBytes("tx");
        for (int i = 0; i < reasons.Length; i++)
        {
            comments[2 + i] = Encoding.UTF8.GetBytes($"drop: {(DropReason)i}");
        }
        return comments;
    }

    private sealed record Attachment(SkiffEngine Engine, CaptureTap Tap, int FirstInterface, long EpochMicros);
}

/// <summary>A capture's counters, summed over its loops and ports: frames it saw, that its filter rejected, that were lost (its ring was full), and written.</summary>
public readonly record struct SkiffCaptureCounters(long Received, long FilteredOut, long Lost, long Written);

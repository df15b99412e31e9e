using System.Diagnostics;
using Skiff.Stack;

namespace Skiff.Cli.Drivers;

/// <summary>
/// Busy-polls one <see cref="Interface"/> over one device on the real clock, calling the application's step
/// after every poll, until a token is cancelled or the step says it is finished. When nothing has moved for a
/// while it yields, and after <see cref="SleepAfterIdle"/> it sleeps a millisecond per round, so an idle server
/// does not hold a core (the first frame after a long idle pays up to a millisecond; DPDK's l3fwd-power does the same).
/// </summary>
internal sealed class PollLoop
{
    /// <summary>Idle time after which the loop yields its time slice between polls.</summary>
    public static readonly TimeSpan YieldAfterIdle = TimeSpan.FromMilliseconds(1);

    /// <summary>Idle time after which the loop sleeps between polls.</summary>
    public static readonly TimeSpan SleepAfterIdle = TimeSpan.FromMilliseconds(200);

    private readonly Interface _iface;
    private readonly IDevice _device;

    public PollLoop(Interface iface, IDevice device, MonotonicClock clock)
    {
        _iface = iface;
        _device = device;
        Clock = clock;
    }

    public MonotonicClock Clock { get; }

    /// <summary>
    /// The step's answer: whether anything moved (keeps the loop hot) and whether the application is finished.
    /// </summary>
    public readonly record struct StepResult(bool Activity, bool Finished);

    /// <summary>Polls until <paramref name="stop"/> is cancelled (returns false) or <paramref name="step"/> reports finished (returns true).</summary>
    public bool Run(Func<Instant, StepResult> step, CancellationToken stop)
    {
        long yieldTicks = (long)(YieldAfterIdle.TotalSeconds * Stopwatch.Frequency);
        long sleepTicks = (long)(SleepAfterIdle.TotalSeconds * Stopwatch.Frequency);
        long lastActivity = Stopwatch.GetTimestamp();
        while (!stop.IsCancellationRequested)
        {
            // One clock read per round: on an idle spin the reads were a sixth of the loop's time (perf, UDP echo).
            long t = Stopwatch.GetTimestamp();
            Instant now = Clock.At(t);
            bool activity = _iface.Poll(now, _device);
            StepResult r = step(now);
            if (r.Finished)
            {
                // One more poll sends what the step just queued.
                _iface.Poll(Clock.Now, _device);
                return true;
            }
            if (activity || r.Activity)
            {
                lastActivity = t;
                continue;
            }
            long idle = t - lastActivity;
            if (idle > sleepTicks && _iface.PollAt(now) > now + Duration.FromMillis(1))
            {
                Thread.Sleep(1);
            }
            else if (idle > yieldTicks)
            {
                Thread.Yield();
            }
        }
        return false;
    }

    /// <summary>Polls (with <see cref="Run"/>'s idling) until <paramref name="condition"/> (called once per round) holds, the timeout passes or <paramref name="stop"/> is cancelled.</summary>
    public bool RunUntil(Func<bool> condition, TimeSpan timeout, CancellationToken stop)
    {
        long end = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        bool met = false;
        Run(_ =>
        {
            met = condition();
            return new StepResult(false, met || Stopwatch.GetTimestamp() > end);
        }, stop);
        return met;
    }
}

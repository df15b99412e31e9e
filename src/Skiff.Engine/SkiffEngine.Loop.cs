using System.Diagnostics;
using Skiff.Engine.Internal;
using Skiff.Engine.Metrics;
using Skiff.Engine.Pipeline;
using Skiff.Wire;

namespace Skiff.Engine;

public sealed partial class SkiffEngine
{
    /// <summary>Polls the stack gets after shutdown aborted everything, so RSTs leave and closed slots are swept.</summary>
    private const int ShutdownPolls = 64;

    private void Run()
    {
        if (Options.PinToCpu is int cpu)
        {
            Pin(cpu);
        }
        if (OperatingSystem.IsLinux())
        {
            // The idle loop sleeps in ppoll(2) on the devices and this eventfd. Without one it parks on an event in whole
            // milliseconds instead (WaitUntil); nothing else changes.
            Volatile.Write(ref _eventFd, Interop.PollWait.CreateEventFd(out _));
            Interop.Sched.SetTimerSlack(Interop.Sched.LoopTimerSlackNanos);
        }
        try
        {
            int idle = 0;
            while (!_stopRequested)
            {
                if (Iterate())
                {
                    idle = 0;
                    continue;
                }
                idle++;
                Backoff(idle, Now);
            }
        }
        catch (Exception e)
        {
            Volatile.Write(ref _failure, e);
        }
        lock (_drainLock)
        {
            Shutdown();
        }
        CloseEventFd();
    }

    /// <summary>One iteration: application requests, the pipeline (receive, hooks, stack, stages, egress), metrics, then the .NET API's connections. True if anything moved.</summary>
    private bool Iterate()
    {
        bool work = RunRequests();
        Instant now = Now;
        _captures.Enter(now); // live captures: one branch per iteration when none is attached
        work |= RunPipeline(now);
        _captures.Exit();
        Metrics.Publish(now);
        if (_signals is not null)
        {
            work |= _signals.TakeActivity();
        }
        work |= RunParticipants();
        work |= RunReadyConnections();
        work |= RunRevisits();
        _iterations++;
        return work;
    }

    private void CloseEventFd()
    {
        int fd = Interlocked.Exchange(ref _eventFd, -1);
        if (fd < 0)
        {
            return;
        }
        SpinWait spin = default;
        while (Volatile.Read(ref _signalers) != 0)
        {
            spin.SpinOnce();
        }
        Interop.PollWait.CloseFd(fd);
    }

    private void Pin(int cpu)
    {
        if (!OperatingSystem.IsLinux())
        {
            PinningError = 95; // EOPNOTSUPP
            return;
        }
        int error = Interop.Sched.PinCurrentThread(cpu);
        if (error == 0)
        {
            PinnedCpu = cpu;
        }
        else
        {
            PinningError = error;
        }
    }

    private bool RunRequests()
    {
        int budget = Options.MaxRequestsPerIteration;
        int ran = 0;
        while (ran < budget && _queue.TryDequeue() is EngineWorkItem item)
        {
            item.ClearScheduled();
            item.Execute();
            ran++;
        }
        return ran > 0;
    }

    private bool RunParticipants()
    {
        bool work = false;
        // Backwards: a participant that unregisters swaps the last one into its place, already visited.
        for (int i = _participants.Count - 1; i >= 0; i--)
        {
            if (i >= _participants.Count)
            {
                continue;
            }
            work |= _participants[i].AfterPoll();
        }
        return work;
    }

    /// <summary>Visits the connections whose sockets the stack reported ready (news since the last poll).</summary>
    private bool RunReadyConnections()
    {
        ConnectionCore?[]? bySlot = _connectionBySlot;
        if (bySlot is null)
        {
            return false;
        }
        Stack.Tcp.TcpLayer tcp = Interface.Tcp;
        bool work = false;
        int n;
        // Visits call socket methods (send, close, take received data), which never make a socket ready: this ends.
        while ((n = tcp.TakeReady(_readyBatch)) > 0)
        {
            for (int i = 0; i < n; i++)
            {
                Stack.SocketHandle handle = _readyBatch[i];
                if (bySlot[handle.Slot] is ConnectionCore connection && connection.Handle == handle)
                {
                    connection.Visit();
                    work = true;
                }
            }
        }
        return work;
    }

    /// <summary>Visits once more the connections whose last visit did work (a budget ran out, a close is settling).</summary>
    private bool RunRevisits()
    {
        if (_revisit.Count == 0)
        {
            return false;
        }
        (_revisit, _revisiting) = (_revisiting, _revisit);
        foreach (ConnectionCore connection in _revisiting)
        {
            connection.RevisitQueued = false;
            connection.Visit();
        }
        _revisiting.Clear();
        return true;
    }

    /// <summary>What the idle loop does next (<see cref="PlanIdle"/>).</summary>
    internal enum IdleAction
    {
        Spin,
        Yield,
        Wait,
    }

    /// <summary>One step of the idle back-off: spin, yield, or wait until <see cref="Until"/> (or news, whichever is first).</summary>
    internal readonly record struct IdleStep(IdleAction Action, Instant Until);

    /// <summary>
    /// The idle back-off, decided on the loop's clock: spin and yield as <see cref="SkiffIdlePolicy"/> says, then wait until
    /// <see cref="NextPollAt"/> (a stage's or a shaper's exact instant, to the microsecond) capped at the policy's longest
    /// block or park; yield instead when something is due already. <paramref name="idleMicros"/>: real time idle so far.
    /// </summary>
    internal IdleStep PlanIdle(int idle, Instant now, long idleMicros)
    {
        SkiffIdlePolicy policy = Options.Idle;
        if (idle <= policy.SpinIterations)
        {
            return new(IdleAction.Spin, now);
        }
        if (idle <= policy.SpinIterations + policy.YieldIterations || (policy.YieldMicros > 0 && idleMicros < policy.YieldMicros))
        {
            return new(IdleAction.Yield, now);
        }
        Instant due = NextPollAt(now);
        if (due <= now)
        {
            return new(IdleAction.Yield, now); // frames the device refused, a stage with work: poll again at once
        }
        long cap = BlocksOnDevice ? policy.BlockMicros : policy.SleepMicros;
        return new(IdleAction.Wait, Instant.Min(due, now + Duration.FromMicros(cap)));
    }

    /// <summary>True if the idle loop sleeps in ppoll(2) on port 0's device (frames wake it), false if it parks on a timer.</summary>
    private bool BlocksOnDevice => _eventFd >= 0 && _waitable is not null && _waitable.ReceiveWaitDescriptor >= 0;

    private void Backoff(int idle, Instant now)
    {
        if (idle == 1)
        {
            _idleSince = Stopwatch.GetTimestamp();
        }
        long idleMicros = Options.Idle.YieldMicros > 0 ? (long)Stopwatch.GetElapsedTime(_idleSince).TotalMicroseconds : 0;
        IdleStep step = PlanIdle(idle, now, idleMicros);
        switch (step.Action)
        {
            case IdleAction.Spin:
                Thread.SpinWait(20);
                break;
            case IdleAction.Yield:
                Thread.Yield();
                break;
            default:
                WaitUntil(step.Until);
                break;
        }
    }

    /// <summary>
    /// Sleeps until <paramref name="until"/> on the loop's clock, or until frames arrive on a port's device or another thread
    /// wakes the loop: ppoll(2) with a nanosecond timeout on the devices and the eventfd, so a shaper's sub-millisecond gap is
    /// slept, not yielded away, and the loop never sleeps past it by more than the kernel's wake-up latency (the loop thread's
    /// timer slack is 1 us, <see cref="Interop.Sched.SetTimerSlack"/>). Without an eventfd (not Linux) the loop parks on an event
    /// in whole milliseconds and yields for shorter waits.
    /// </summary>
    private void WaitUntil(Instant until)
    {
        // Full fence; pairs with the one in Schedule's Enqueue (see there), and with the fence a core makes after queueing
        // frames for this one (SoftwareRss) before it calls Wake: wakers that queued work before it see _parked == 1 and signal.
        Interlocked.Exchange(ref _parked, 1);
        if (_queue.IsEmpty && !_stopRequested && (_signals is null || !_signals.HasPendingWork()) && !Metrics.HasPendingRequest
            && !(_waitable?.HasBufferedReceive ?? false) && !OtherPortsHaveBufferedReceive())
        {
            long micros = (until - Now).TotalMicros; // measured again: the plan was made before NextPollAt's work
            if (_eventFd >= 0)
            {
                if (micros > 0)
                {
                    _parks++;
                    for (int i = 0; i < _moreWaitables.Length; i++)
                    {
                        _moreWaitFds[i] = _moreWaitables[i].ReceiveWaitDescriptor;
                    }
                    int deviceFd = _waitable?.ReceiveWaitDescriptor ?? -1; // -1: poll(2) ignores the entry, the eventfd remains
                    Interop.PollWait.Wait(deviceFd, _moreWaitFds, _eventFd, micros * 1000);
                }
            }
            else if (micros >= 1000)
            {
                _parks++;
                _wake.Wait((int)Math.Min(micros / 1000, int.MaxValue));
            }
            else
            {
                Thread.Yield(); // the event's wait has millisecond granularity
            }
        }
        Volatile.Write(ref _parked, 0);
        _wake.Reset();
    }

    private bool OtherPortsHaveBufferedReceive()
    {
        foreach (IWaitableDevice device in _moreWaitables)
        {
            if (device.HasBufferedReceive)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Aborts and frees everything; runs once, on the loop thread (or the stopping thread if never started), under the drain lock.</summary>
    private void Shutdown()
    {
        try
        {
            EngineParticipant[] participants = [.. _participants, .. _connections];
            foreach (EngineParticipant p in participants)
            {
                p.OnEngineStopping();
            }
            // Requests queued meanwhile: run them once more with the stack still usable (they see the stop request).
            RunRequests();
            for (int i = 0; i < ShutdownPolls; i++)
            {
                if (!RunPipeline(Now) && i > 2)
                {
                    break;
                }
            }
            foreach (Ipv4Address peer in _peers)
            {
                Interface.Arp.Remove(peer);
            }
            Span<PacketBuffer> burst = new PacketBuffer[64];
            foreach (EnginePort port in _ports)
            {
                int n;
                while ((n = port.Device.ReceiveBurst(burst, Now)) > 0)
                {
                    for (int i = 0; i < n; i++)
                    {
                        burst[i].Free();
                        burst[i] = null!;
                    }
                }
                port.FreeAll();
            }
            Interface.DropAllQueued();
            Interface.Tcp.FreeAll(); // released connections still closing or in TIME-WAIT hold buffers too
        }
        catch (Exception e)
        {
            Volatile.Write(ref _failure, _failure ?? e);
        }
        finally
        {
            SkiffMetrics.Unregister(Metrics);
            _stopped = true;
            DrainStoppedUnsynchronized();
        }
    }

    /// <summary>After the stop, runs whatever application threads still queue, under the drain lock (items fail their operations).</summary>
    private void DrainStopped()
    {
        lock (_drainLock)
        {
            DrainStoppedUnsynchronized();
        }
    }

    private void DrainStoppedUnsynchronized()
    {
        while (_queue.TryDequeue() is EngineWorkItem item)
        {
            item.ClearScheduled();
            item.Execute();
        }
    }

    /// <summary>True once a stop was asked for: participants stop taking new work. Loop side.</summary>
    internal bool IsStopRequested => _stopRequested;
}

using System.Collections.Concurrent;
using System.Diagnostics;
using Skiff.Stack;

namespace Skiff.TestSupport;

/// <summary>
/// Polls a Skiff <see cref="Interface"/> over a real device on its own thread with the real monotonic clock,
/// busy-polling (with a yield when idle). The stack is single-threaded: test code touches it only through
/// <see cref="Invoke{T}"/>, which runs on the loop thread between polls.
/// </summary>
public sealed class StackRunner : IDisposable
{
    private readonly ConcurrentQueue<Action> _work = new();
    private readonly Thread _thread;
    private readonly long _start = Stopwatch.GetTimestamp();
    private volatile bool _stop;
    private Exception? _failure;

    public StackRunner(Interface iface, IDevice device)
    {
        Interface = iface;
        Device = device;
        _thread = new Thread(Loop) { IsBackground = true, Name = "skiff-test-loop" };
        _thread.Start();
    }

    public Interface Interface { get; }

    public IDevice Device { get; }

    public Instant Now => new((Stopwatch.GetTimestamp() - _start) * 1_000_000 / Stopwatch.Frequency);

    private void Loop()
    {
        try
        {
            while (!_stop)
            {
                while (_work.TryDequeue(out Action? action))
                {
                    action();
                }
                if (!Interface.Poll(Now, Device))
                {
                    Thread.Yield();
                }
            }
        }
        catch (Exception e)
        {
            _failure = e;
        }
    }

    /// <summary>Runs <paramref name="func"/> on the loop thread and waits for its result (up to 30 s).</summary>
    public T Invoke<T>(Func<Interface, T> func)
    {
        ThrowIfFailed();
        TaskCompletionSource<T> done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        _work.Enqueue(() =>
        {
            try
            {
                done.SetResult(func(Interface));
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        });
        if (!done.Task.Wait(TimeSpan.FromSeconds(30)))
        {
            ThrowIfFailed();
            throw new TimeoutException("The stack loop did not run the action within 30 s.");
        }
        return done.Task.Result;
    }

    public void Invoke(Action<Interface> action) => Invoke(i =>
    {
        action(i);
        return true;
    });

    /// <summary>Polls <paramref name="condition"/> on the loop thread until it holds or <paramref name="timeout"/> passes.</summary>
    public bool WaitUntil(Func<Interface, bool> condition, TimeSpan timeout)
    {
        Stopwatch watch = Stopwatch.StartNew();
        while (watch.Elapsed < timeout)
        {
            if (Invoke(condition))
            {
                return true;
            }
            Thread.Sleep(5);
        }
        return false;
    }

    private void ThrowIfFailed()
    {
        if (_failure is not null)
        {
            throw new InvalidOperationException($"The stack loop failed: {_failure.Message}", _failure);
        }
    }

    public void Dispose()
    {
        _stop = true;
        _thread.Join();
        ThrowIfFailed();
    }
}

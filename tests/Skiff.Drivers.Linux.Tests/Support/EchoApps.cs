using System.Diagnostics;
using Skiff.Stack;
using Skiff.Stack.Udp;

namespace Skiff.Drivers.Linux.Tests.Support;

/// <summary>
/// Echo applications for the driver suite. They run on the stack's loop thread: each step is one
/// <see cref="StackRunner.Invoke(Action{Interface})"/> call, and <see cref="PumpUntil"/> drives the steps from the test thread.
/// </summary>
public static class EchoApps
{
    /// <summary>
    /// Runs <paramref name="step"/> on the loop thread again and again until <paramref name="done"/> (checked on the
    /// test thread between steps) holds; throws <see cref="TimeoutException"/> with <paramref name="describe"/>'s text
    /// (what was awaited and how far it got) after <paramref name="timeout"/>.
    /// </summary>
    public static void PumpUntil(StackRunner runner, Action<Interface> step, Func<bool> done, TimeSpan timeout, Func<string> describe)
    {
        Stopwatch watch = Stopwatch.StartNew();
        while (!done())
        {
            if (watch.Elapsed > timeout)
            {
                throw new TimeoutException($"Not done within {timeout.TotalSeconds:0} s: {describe()}.");
            }
            runner.Invoke(step);
        }
    }

    /// <summary>Echoes every datagram queued on <paramref name="socket"/> back to its sender; returns how many. Loop thread only.</summary>
    public static int EchoUdp(UdpSocket socket, Span<byte> scratch)
    {
        int echoed = 0;
        while (socket.TryReceive(scratch, out int length, out UdpEndpoint source))
        {
            if (length > scratch.Length || !socket.TrySend(scratch[..length], source))
            {
                throw new InvalidOperationException($"The UDP echo could not send {length} bytes back to {source}.");
            }
            echoed++;
        }
        return echoed;
    }
}

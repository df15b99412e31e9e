using System.Runtime.InteropServices;

namespace Skiff.Cli.Drivers;

/// <summary>
/// Turns SIGINT (Ctrl-C), SIGTERM and SIGHUP alike into a cancellation, so a poll loop can print its counters and exit
/// cleanly instead of being killed. A signal that comes at least <see cref="ForceAfter"/> after the first ends the
/// process the default way (a second Ctrl-C by someone who is waiting); earlier ones are absorbed, because
/// <c>timeout</c> and a terminal's process-group Ctrl-C may deliver two at once.
/// </summary>
internal sealed class StopSignal : IDisposable
{
    /// <summary>How long after the first signal another one forces the exit.</summary>
    public static readonly TimeSpan ForceAfter = TimeSpan.FromSeconds(2);

    private readonly CancellationTokenSource _source;
    private readonly PosixSignalRegistration[] _registrations;
    private long _firstAtMillis = -1;

    /// <summary>Listens for the signals; <paramref name="linked"/> (a test's token) also stops the loop.</summary>
    public StopSignal(CancellationToken linked = default)
    {
        _source = CancellationTokenSource.CreateLinkedTokenSource(linked);
        _registrations = [.. new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGHUP }.Select(s => PosixSignalRegistration.Create(s, OnSignal))];
    }

    /// <summary>Cancelled by the first signal or the linked token.</summary>
    public CancellationToken Token => _source.Token;

    private void OnSignal(PosixSignalContext context)
    {
        long now = Environment.TickCount64;
        long first = Interlocked.CompareExchange(ref _firstAtMillis, now, -1);
        if (first >= 0 && now - first >= (long)ForceAfter.TotalMilliseconds)
        {
            return; // a later request: let the default action end the process
        }
        context.Cancel = true;
        _source.Cancel();
    }

    public void Dispose()
    {
        Array.ForEach(_registrations, r => r.Dispose());
        _source.Dispose();
    }
}

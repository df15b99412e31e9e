using System.Runtime.InteropServices;

namespace Skiff.Cli.Drivers;

/// <summary>
/// Turns Ctrl-C (SIGINT) and SIGTERM into a cancellation, so a poll loop can print its counters and exit cleanly
/// instead of being killed. A second Ctrl-C while the first is being handled ends the process the default way.
/// </summary>
internal sealed class StopSignal : IDisposable
{
    private readonly CancellationTokenSource _source;
    private readonly PosixSignalRegistration _interrupt;
    private readonly PosixSignalRegistration _terminate;

    /// <summary>Listens for the signals; <paramref name="linked"/> (a test's token) also stops the loop.</summary>
    public StopSignal(CancellationToken linked = default)
    {
        _source = CancellationTokenSource.CreateLinkedTokenSource(linked);
        _interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        _terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
    }

    /// <summary>Cancelled by the first signal or the linked token.</summary>
    public CancellationToken Token => _source.Token;

    private void OnSignal(PosixSignalContext context)
    {
        if (_source.IsCancellationRequested)
        {
            return; // the second one: let the default action end the process
        }
        context.Cancel = true;
        _source.Cancel();
    }

    public void Dispose()
    {
        _interrupt.Dispose();
        _terminate.Dispose();
        _source.Dispose();
    }
}

namespace Skiff.Engine;

/// <summary>
/// Application work that runs on an engine's loop thread once per iteration, after the receive path and the stack's
/// egress (DPDK's run-to-completion lcore function): a server's request handling over the low-level stack, a client, a
/// traffic generator that writes frames into a port's <see cref="TxBuffer"/> (<see cref="SkiffEngine.PortOutput"/>).
/// </summary>
/// <remarks>Sans-I/O on the loop: no blocking, no syscalls of its own; time is passed in. Loop thread only.</remarks>
public interface IEngineStage
{
    /// <summary>Does the stage's work at <paramref name="now"/>; true if anything moved (the loop then stays busy instead of idling).</summary>
    bool Run(Instant now);

    /// <summary>When the stage must run next without news from the network: <paramref name="now"/> for at once, <see cref="Instant.Never"/> for no deadline. The loop sleeps no later than the earliest stage's.</summary>
    Instant PollAt(Instant now);
}

using Skiff.Hooks.Bpf;

namespace Skiff.Hooks;

/// <summary>
/// An RX or TX hook that drops the frames a tcpdump expression matches (<c>skiff serve --drop EXPR</c>) and passes the
/// rest: the expression is compiled by libpcap, verified, and run as native code by Skiff's classic-BPF JIT
/// (<see cref="BpfFilter"/>). Drops are counted as <c>Filter</c> and in the hook's counters.
/// </summary>
/// <param name="filter">The compiled expression.</param>
public readonly struct BpfDropHook(BpfFilter filter) : IPacketHook
{
    /// <summary>The expression that selects the frames to drop.</summary>
    public BpfFilter Filter { get; } = filter ?? throw new ArgumentNullException(nameof(filter));

    /// <inheritdoc />
    public HookVerdict Process(PacketBuffer frame, ref HookContext context) =>
        Filter.Matches(frame.Data) ? HookVerdict.Drop : HookVerdict.Pass;
}

using Skiff.Hooks.Bpf;

namespace Skiff.Hooks;

/// <summary>
/// An RX or TX hook that passes only the frames a tcpdump expression matches and drops the rest (an allow-list, as a
/// socket filter attached with SO_ATTACH_FILTER keeps what it accepts).
/// </summary>
/// <param name="filter">The compiled expression.</param>
public readonly struct BpfPassHook(BpfFilter filter) : IPacketHook
{
    /// <summary>The expression that selects the frames to keep.</summary>
    public BpfFilter Filter { get; } = filter ?? throw new ArgumentNullException(nameof(filter));

    /// <inheritdoc />
    public HookVerdict Process(PacketBuffer frame, ref HookContext context) =>
        Filter.Matches(frame.Data) ? HookVerdict.Pass : HookVerdict.Drop;
}

using Skiff;
using Skiff.Hooks;

namespace DdosFilter;

/// <summary>
/// Runs <typeparamref name="THook"/> only on frames received from the wire port; frames from the host pass untouched
/// (a drop rule written for attack traffic must not drop the host's own answers). Generic over the struct, so the JIT
/// inlines the inner hook as the engine's runner inlines this one.
/// </summary>
public readonly struct WireOnlyHook<THook>(THook inner, ushort wirePort) : IPacketHook
    where THook : struct, IPacketHook
{
    /// <summary>The hook that runs on the wire's frames.</summary>
    public THook Inner { get; } = inner;

    /// <inheritdoc />
    public HookVerdict Process(PacketBuffer frame, ref HookContext context)
    {
        if (context.Port != wirePort)
        {
            return HookVerdict.Pass;
        }
        THook hook = Inner;
        return hook.Process(frame, ref context);
    }
}

/// <summary>
/// Per-source token buckets (<see cref="SourceRateTable"/>) on the wire's IPv4 frames: a source over its rate is dropped.
/// Frames from the host, and frames that are not IPv4 (ARP, IPv6), pass.
/// </summary>
public readonly struct SourceRateLimitHook(SourceRateTable table, ushort wirePort) : IPacketHook
{
    /// <inheritdoc />
    public HookVerdict Process(PacketBuffer frame, ref HookContext context)
    {
        if (context.Port != wirePort || (frame.Classification & PacketClass.Ipv4) == 0 || (frame.Classification & PacketClass.Malformed) != 0)
        {
            return HookVerdict.Pass;
        }
        ReadOnlySpan<byte> data = frame.Data;
        int at = frame.L3Offset + 12;
        if (at + 4 > data.Length)
        {
            return HookVerdict.Pass;
        }
        uint source = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(data[at..]);
        return table.TryTake(source, context.Now.TotalMicros) ? HookVerdict.Pass : HookVerdict.Drop;
    }
}

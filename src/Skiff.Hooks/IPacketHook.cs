namespace Skiff.Hooks;

/// <summary>
/// A hook program: sees each frame where the engine runs its hook chain (after receive, or before transmit) and returns
/// a verdict. Implement it on a struct and add it with <see cref="HookTable.Add{THook}"/>: the chain calls it through a
/// generic runner specialised for the struct, so the JIT inlines <see cref="Process"/> into the burst loop, with no
/// virtual call or allocation per frame.
/// </summary>
/// <remarks>
/// <para>The frame is classified (<see cref="PacketBuffer.L3Offset"/>, <see cref="PacketBuffer.L4Offset"/>,
/// <see cref="PacketBuffer.Classification"/>); the hook may rewrite its bytes (for <see cref="HookVerdict.Tx"/>) and set
/// its <see cref="PacketBuffer.Mark"/> and <see cref="PacketBuffer.Priority"/>. It must not free or keep the frame: the
/// chain acts on the verdict.</para>
/// <para>Sans-I/O like the stack: no threads, syscalls, clock reads or allocation per frame. Runs on the engine's loop
/// thread only. A hook that throws stops its engine, so catch what you expect and return <see cref="HookVerdict.Abort"/>.</para>
/// </remarks>
public interface IPacketHook
{
    /// <summary>Decides what happens to <paramref name="frame"/>; for a redirect, set <see cref="HookContext.RedirectPort"/>.</summary>
    HookVerdict Process(PacketBuffer frame, ref HookContext context);
}

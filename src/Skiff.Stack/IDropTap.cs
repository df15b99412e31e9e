namespace Skiff.Stack;

/// <summary>
/// Sees the frames the stack drops, with the cause, just before they return to their pool: live capture's drop point
/// (the engine sets <see cref="Interface.DropTap"/> while a capture of that point is attached). Called on the loop
/// thread; it must copy what it keeps, and must not block, allocate or free the frame.
/// </summary>
public interface IDropTap
{
    /// <summary>
    /// <paramref name="frame"/> is being dropped for <paramref name="reason"/>. <paramref name="ethernetFrame"/> is the
    /// whole Ethernet frame as received (for a frame the stack had stripped to its L4 message) or as it was to be sent;
    /// <paramref name="inbound"/> says which way it was going.
    /// </summary>
    void Dropped(PacketBuffer frame, ReadOnlySpan<byte> ethernetFrame, DropReason reason, bool inbound);
}

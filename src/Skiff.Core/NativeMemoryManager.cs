using System.Buffers;

namespace Skiff;

/// <summary>
/// A <see cref="Memory{T}"/> source over native memory that is already pinned (a pool's slab or one of its
/// frames), so packet bytes can be handed to APIs that take <see cref="Memory{T}"/> or
/// <see cref="ReadOnlySequence{T}"/> without copying. It owns nothing: the pool frees the memory.
/// </summary>
internal sealed unsafe class NativeMemoryManager(byte* pointer, int length) : MemoryManager<byte>
{
    public override Span<byte> GetSpan() => new(pointer, length);

    public override MemoryHandle Pin(int elementIndex = 0)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)elementIndex, (uint)length, nameof(elementIndex));
        return new MemoryHandle(pointer + elementIndex); // already pinned: nothing to release
    }

    public override void Unpin()
    {
    }

    protected override void Dispose(bool disposing)
    {
    }
}

using System.Runtime.CompilerServices;

namespace Skiff.Rings;

/// <summary>Copies a run of elements into or out of a ring's slot array, splitting it where it wraps.</summary>
internal static class RingCopy
{
    /// <summary>Writes <paramref name="items"/> into <paramref name="slots"/> from slot <paramref name="start"/> on, wrapping to slot 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void In<T>(T[] slots, uint start, ReadOnlySpan<T> items)
    {
        int first = Math.Min(items.Length, slots.Length - (int)start);
        items[..first].CopyTo(slots.AsSpan((int)start, first));
        if (first < items.Length)
        {
            items[first..].CopyTo(slots.AsSpan(0, items.Length - first));
        }
    }

    /// <summary>Reads <paramref name="destination"/>.Length slots from <paramref name="start"/> on, clearing them when <typeparamref name="T"/> holds references.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Out<T>(T[] slots, uint start, Span<T> destination, bool clear = true)
    {
        int first = Math.Min(destination.Length, slots.Length - (int)start);
        Span<T> head = slots.AsSpan((int)start, first);
        head.CopyTo(destination);
        bool clearReferences = clear && RuntimeHelpers.IsReferenceOrContainsReferences<T>();
        if (clearReferences)
        {
            head.Clear();
        }
        if (first < destination.Length)
        {
            Span<T> tail = slots.AsSpan(0, destination.Length - first);
            tail.CopyTo(destination[first..]);
            if (clearReferences)
            {
                tail.Clear();
            }
        }
    }
}

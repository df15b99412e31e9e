namespace Skiff.Wire;

/// <summary>
/// Up to <see cref="Capacity"/> SACK blocks (RFC 2018 section 3), held inline: no array, no allocation.
/// Each block is the raw left edge (first sequence number of the block) and right edge (the sequence
/// number just past it). A default value holds no blocks.
/// </summary>
/// <remarks>
/// A mutable value type: build one in a local with <see cref="TryAdd"/> and store it in a
/// <see cref="TcpRepr"/> with a <c>with</c> expression. Slots past <see cref="Count"/> are always zero,
/// so equality compares exactly the blocks present, in order.
/// </remarks>
public struct TcpSackBlocks : IEquatable<TcpSackBlocks>
{
    /// <summary>The most blocks one option can carry in 40 option bytes (2 + 4 * 8 = 34).</summary>
    public const int Capacity = 4;

    private uint _left0, _right0, _left1, _right1, _left2, _right2, _left3, _right3;
    private int _count;

    /// <summary>Number of blocks held, 0 to <see cref="Capacity"/>.</summary>
    public readonly int Count => _count;

    /// <summary>The block at <paramref name="index"/>; throws <see cref="ArgumentOutOfRangeException"/> unless 0 &lt;= index &lt; Count.</summary>
    public readonly (uint Left, uint Right) this[int index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfNegative(index);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, _count);
            return index switch
            {
                0 => (_left0, _right0),
                1 => (_left1, _right1),
                2 => (_left2, _right2),
                _ => (_left3, _right3),
            };
        }
    }

    /// <summary>Appends a block; returns false (and changes nothing) when <see cref="Capacity"/> blocks are already held.</summary>
    public bool TryAdd(uint left, uint right)
    {
        switch (_count)
        {
            case 0: _left0 = left; _right0 = right; break;
            case 1: _left1 = left; _right1 = right; break;
            case 2: _left2 = left; _right2 = right; break;
            case 3: _left3 = left; _right3 = right; break;
            default: return false;
        }
        _count++;
        return true;
    }

    /// <summary>True when both hold the same blocks in the same order.</summary>
    public readonly bool Equals(TcpSackBlocks other) =>
        _count == other._count
        && _left0 == other._left0 && _right0 == other._right0
        && _left1 == other._left1 && _right1 == other._right1
        && _left2 == other._left2 && _right2 == other._right2
        && _left3 == other._left3 && _right3 == other._right3;

    /// <summary>True when <paramref name="obj"/> is a <see cref="TcpSackBlocks"/> holding the same blocks in the same order.</summary>
    public override readonly bool Equals(object? obj) => obj is TcpSackBlocks other && Equals(other);

    /// <summary>A hash of the count and the blocks, consistent with <see cref="Equals(TcpSackBlocks)"/>.</summary>
    public override readonly int GetHashCode() =>
        HashCode.Combine(_count, _left0, _right0, _left1, _right1, _left2, _right2, HashCode.Combine(_left3, _right3));

    /// <summary>True when both hold the same blocks in the same order.</summary>
    public static bool operator ==(TcpSackBlocks left, TcpSackBlocks right) => left.Equals(right);

    /// <summary>True when the blocks, their number or their order differ.</summary>
    public static bool operator !=(TcpSackBlocks left, TcpSackBlocks right) => !left.Equals(right);

    /// <summary>tcpdump's form: <c>sack 2 {100:200}{300:400}</c>, or <c>none</c>.</summary>
    public override readonly string ToString()
    {
        if (_count == 0)
        {
            return "none";
        }
        var text = new System.Text.StringBuilder($"sack {_count} ");
        for (int i = 0; i < _count; i++)
        {
            (uint left, uint right) = this[i];
            text.Append('{').Append(left).Append(':').Append(right).Append('}');
        }
        return text.ToString();
    }
}

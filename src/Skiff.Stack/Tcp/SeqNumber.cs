namespace Skiff.Stack.Tcp;

/// <summary>
/// A TCP sequence (or acknowledgment) number: a 32-bit value compared modulo 2^32
/// (RFC 9293 section 3.4, "Sequence Numbers"). <c>a &lt; b</c> holds when <c>(int)(a - b) &lt; 0</c>,
/// which is meaningful only while the two values are less than 2^31 apart; TCP keeps every live
/// comparison within that span (windows are at most 2^30 bytes, RFC 7323 section 2.3).
/// </summary>
/// <remarks>
/// The ordering is not transitive across the whole circle, so this type deliberately does not implement
/// <see cref="IComparable{T}"/>: never sort sequence numbers with a general-purpose comparer.
/// Allocation-free; safe to copy.
/// </remarks>
public readonly struct SeqNumber : IEquatable<SeqNumber>
{
    /// <summary>Wraps a raw 32-bit sequence number as carried on the wire.</summary>
    public SeqNumber(uint value) => Value = value;

    /// <summary>The raw 32-bit value.</summary>
    public uint Value { get; }

    /// <summary>Advances by <paramref name="bytes"/> (may be negative), wrapping modulo 2^32.</summary>
    public static SeqNumber operator +(SeqNumber a, int bytes) => new(unchecked(a.Value + (uint)bytes));

    /// <summary>Moves back by <paramref name="bytes"/>, wrapping modulo 2^32.</summary>
    public static SeqNumber operator -(SeqNumber a, int bytes) => new(unchecked(a.Value - (uint)bytes));

    /// <summary>
    /// The signed distance <c>a - b</c> in bytes (RFC 9293 section 3.4): positive when <paramref name="a"/>
    /// is later. Correct while the two are less than 2^31 apart.
    /// </summary>
    public static int operator -(SeqNumber a, SeqNumber b) => unchecked((int)(a.Value - b.Value));

    /// <summary>True when <paramref name="a"/> comes before <paramref name="b"/> modulo 2^32 (RFC 9293 section 3.4); meaningful while they are less than 2^31 apart.</summary>
    public static bool operator <(SeqNumber a, SeqNumber b) => unchecked((int)(a.Value - b.Value)) < 0;

    /// <summary>True when <paramref name="a"/> comes after <paramref name="b"/> modulo 2^32 (RFC 9293 section 3.4); meaningful while they are less than 2^31 apart.</summary>
    public static bool operator >(SeqNumber a, SeqNumber b) => unchecked((int)(a.Value - b.Value)) > 0;

    /// <summary>True when <paramref name="a"/> equals or comes before <paramref name="b"/> modulo 2^32; meaningful while they are less than 2^31 apart.</summary>
    public static bool operator <=(SeqNumber a, SeqNumber b) => unchecked((int)(a.Value - b.Value)) <= 0;

    /// <summary>True when <paramref name="a"/> equals or comes after <paramref name="b"/> modulo 2^32; meaningful while they are less than 2^31 apart.</summary>
    public static bool operator >=(SeqNumber a, SeqNumber b) => unchecked((int)(a.Value - b.Value)) >= 0;

    /// <summary>True when the two raw 32-bit values are equal.</summary>
    public static bool operator ==(SeqNumber a, SeqNumber b) => a.Value == b.Value;

    /// <summary>True when the two raw 32-bit values differ.</summary>
    public static bool operator !=(SeqNumber a, SeqNumber b) => a.Value != b.Value;

    /// <summary>The later of the two in modular order.</summary>
    public static SeqNumber Max(SeqNumber a, SeqNumber b) => a >= b ? a : b;

    /// <summary>The earlier of the two in modular order.</summary>
    public static SeqNumber Min(SeqNumber a, SeqNumber b) => a <= b ? a : b;

    /// <summary>
    /// True when <c>start &lt;= this &lt; start + length</c> in modular arithmetic, the window test of
    /// RFC 9293 section 3.4 (e.g. <c>RCV.NXT =&lt; SEG.SEQ &lt; RCV.NXT+RCV.WND</c>). A zero length
    /// contains nothing. Exact for any length up to 2^32 - 1.
    /// </summary>
    public bool InWindow(SeqNumber start, uint length) => unchecked(Value - start.Value) < length;

    /// <summary>True when <c>first &lt;= this &lt; endExclusive</c>; empty when the two bounds are equal.</summary>
    public bool InRange(SeqNumber first, SeqNumber endExclusive) =>
        unchecked(Value - first.Value) < unchecked(endExclusive.Value - first.Value);

    /// <summary>True when the raw 32-bit values are equal.</summary>
    public bool Equals(SeqNumber other) => Value == other.Value;

    /// <summary>True when <paramref name="obj"/> is a <see cref="SeqNumber"/> with the same raw value.</summary>
    public override bool Equals(object? obj) => obj is SeqNumber other && Value == other.Value;

    /// <summary>The raw value's bits as an <see cref="int"/>.</summary>
    public override int GetHashCode() => (int)Value;

    /// <summary>The raw value in decimal, invariant culture.</summary>
    public override string ToString() => Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

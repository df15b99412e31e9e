namespace Skiff.Stack.Ipv4;

/// <summary>
/// A datagram <see cref="Ipv4Reassembler.TryExpire"/> gave up on. Its span points into the reassembler's memory and
/// is valid only until the next call on that reassembler.
/// </summary>
public readonly ref struct Ipv4ReassemblyTimeout
{
    internal Ipv4ReassemblyTimeout(Ipv4FragmentKey key, ReadOnlySpan<byte> icmpQuote)
    {
        Key = key;
        IcmpQuote = icmpQuote;
    }

    /// <summary>The datagram's identity.</summary>
    public Ipv4FragmentKey Key { get; }

    /// <summary>
    /// True when fragment zero had arrived. Only then may the caller send ICMP Time Exceeded, code 1
    /// "fragment reassembly time exceeded" (RFC 792; RFC 1122 section 3.3.2).
    /// </summary>
    public bool HasFirstFragment => !IcmpQuote.IsEmpty;

    /// <summary>
    /// What an ICMP error quotes (RFC 792: "Internet Header + 64 bits of Original Data Datagram"): the first
    /// fragment's header as received plus up to its first 8 payload bytes. Empty without fragment zero.
    /// </summary>
    public ReadOnlySpan<byte> IcmpQuote { get; }
}

namespace Skiff.Stack.Ipv4;

/// <summary>What <see cref="Ipv4Reassembler.Add"/> did with a fragment.</summary>
public enum Ipv4ReassemblyStatus : byte
{
    /// <summary>Stored; the datagram still has holes.</summary>
    Held = 0,

    /// <summary>The fragment filled the last hole: the result carries the whole datagram.</summary>
    Complete = 1,

    /// <summary>Every byte of the fragment had already arrived, with the same values: ignored, the datagram goes on (counted).</summary>
    Duplicate = 2,

    /// <summary>The fragment overlapped data already received (other than an identical duplicate): the whole datagram was discarded (RFC 5722's rule, applied to IPv4).</summary>
    Overlap = 3,

    /// <summary>
    /// A malformed fragment: offset not a multiple of 8, empty, a non-final payload not a multiple of 8, or
    /// header + offset + length past 65535 (RFC 791 section 3.1). The fragment was dropped; when it contradicted the
    /// datagram's known end (data past it, or a second last fragment with another end) the datagram was discarded too.
    /// </summary>
    BadLength = 4,

    /// <summary>
    /// A bound refused it: no free datagram slot, the byte budget, or a datagram larger than
    /// <see cref="Ipv4ReassemblerOptions.MaxDatagramBytes"/> (fragment dropped); or more than
    /// <see cref="Ipv4ReassemblerOptions.MaxFragmentsPerDatagram"/> fragments (datagram discarded).
    /// </summary>
    Refused = 5,
}

namespace Skiff.Stack.Tcp;

/// <summary>
/// The answer of <see cref="SackScoreboard.NextSeg"/>: send <see cref="LengthBytes"/> bytes starting at
/// <see cref="Start"/>, then report it with <see cref="SackScoreboard.OnSegmentSent"/>. When
/// <see cref="Kind"/> is <see cref="SackSegmentKind.None"/> nothing may be sent.
/// </summary>
/// <param name="Kind">What the segment is (or <see cref="SackSegmentKind.None"/>: send nothing).</param>
/// <param name="Start">The first sequence number to send.</param>
/// <param name="LengthBytes">Bytes to send from <paramref name="Start"/>.</param>
public readonly record struct SackSegment(SackSegmentKind Kind, SeqNumber Start, int LengthBytes)
{
    /// <summary>One past the last byte.</summary>
    public SeqNumber End => Start + LengthBytes;
}

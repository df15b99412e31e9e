namespace Skiff.Stack.Tcp;

/// <summary>
/// The answer of <see cref="SackScoreboard.NextSeg"/>: send <see cref="LengthBytes"/> bytes starting at
/// <see cref="Start"/>, then report it with <see cref="SackScoreboard.OnSegmentSent"/>. When
/// <see cref="Kind"/> is <see cref="SackSegmentKind.None"/> nothing may be sent.
/// </summary>
public readonly record struct SackSegment(SackSegmentKind Kind, SeqNumber Start, int LengthBytes)
{
    /// <summary>One past the last byte.</summary>
    public SeqNumber End => Start + LengthBytes;
}

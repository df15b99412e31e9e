namespace Skiff.Devices.Internal;

/// <summary>A held frame with the instant it is due and its arrival order (the tie-break for equal due times).</summary>
internal readonly record struct TimedFrame(PacketBuffer Frame, long DueMicros, long Sequence)
{
    /// <summary>True if this entry leaves before <paramref name="other"/>: earlier due time, then earlier arrival.</summary>
    public bool IsBefore(in TimedFrame other) =>
        DueMicros < other.DueMicros || (DueMicros == other.DueMicros && Sequence < other.Sequence);
}

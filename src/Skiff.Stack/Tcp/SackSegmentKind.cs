namespace Skiff.Stack.Tcp;

/// <summary>Which rule of RFC 6675 section 4 NextSeg() chose a segment.</summary>
public enum SackSegmentKind : byte
{
    /// <summary>Nothing may be sent.</summary>
    None = 0,

    /// <summary>Rule 1: the lowest unSACKed octet above HighRxt that IsLost(); a retransmission.</summary>
    RetransmitLost = 1,

    /// <summary>Rule 2: previously unsent data starting at HighData.</summary>
    NewData = 2,

    /// <summary>Rule 3: an unSACKed octet above HighRxt below the highest SACKed octet, not yet deemed lost; a retransmission.</summary>
    RetransmitUnsacked = 3,

    /// <summary>Rule 4: the single rescue retransmission per recovery, covering the highest unSACKed octet.</summary>
    Rescue = 4,
}

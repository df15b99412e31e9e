namespace Skiff.Stack.Tcp;

/// <summary>What the connection must do after <see cref="CongestionControl.OnPartialAck"/> (RFC 6582 section 3.2 step 3).</summary>
[Flags]
public enum PartialAckAction : byte
{
    /// <summary>Nothing beyond sending whatever the new window allows (SACK recovery: ask the scoreboard's NextSeg).</summary>
    None = 0,

    /// <summary>Retransmit the first unacknowledged segment (the one starting at the new SND.UNA).</summary>
    RetransmitFirstUnacked = 1,

    /// <summary>
    /// Restart the retransmission timer. RFC 6582 section 4 ("Impatient" variant, the one it recommends):
    /// only the first partial ACK of a recovery restarts the timer.
    /// </summary>
    RestartRetransmitTimer = 2,
}

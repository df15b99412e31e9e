namespace Skiff.Stack.Tcp;

/// <summary>
/// One SACK block as carried in the SACK option (RFC 2018 section 3): <see cref="Left"/> is the first
/// sequence number of the block, <see cref="Right"/> the sequence number immediately following its last byte.
/// A well-formed block has <c>Left &lt; Right</c>; <see cref="SackScoreboard"/> ignores and counts the others.
/// </summary>
/// <param name="Left">The first sequence number of the block.</param>
/// <param name="Right">The sequence number just after the block's last byte.</param>
public readonly record struct SackBlock(SeqNumber Left, SeqNumber Right)
{
    /// <summary>Bytes covered, or 0 when the block is empty or inverted.</summary>
    public int LengthBytes => Right > Left ? Right - Left : 0;
}

namespace Skiff.Stack.Tcp;

/// <summary>
/// The sender's SACK scoreboard and loss-recovery helpers of RFC 6675 (section 4: Update, IsLost,
/// SetPipe, NextSeg), holding the SACKed ranges above SND.UNA (HighACK) in a fixed-size sorted array.
/// Sans-I/O and allocation-free after construction; not thread-safe (one per connection).
/// </summary>
/// <remarks>
/// <para>Sequence positions are exclusive ends: <see cref="HighData"/> is one past the highest octet sent
/// (RFC 6675's HighData + 1), <see cref="HighRxt"/> one past the highest octet retransmitted.</para>
/// <para>Bound (docs/design TESTING.md "SACK scoreboard"): at most <see cref="MaxRanges"/> disjoint ranges.
/// A new disjoint range that does not fit evicts the highest stored range, or is itself dropped when it
/// is the highest; both count in <see cref="RefusedRanges"/>. Forgetting SACK information is safe: the
/// data is merely treated as not yet received (RFC 6675 section 1 notes the scoreboard may be imperfect).</para>
/// <para><b>Calling sequence</b> with a <see cref="CongestionControl"/> built with <c>sackRecovery: true</c>:
/// every data segment sent calls <see cref="OnSegmentSent"/>; every ACK calls
/// <see cref="Update"/>(blocks, SEG.ACK) first (its result says whether the ACK SACKed new data, which
/// makes it a duplicate ACK under RFC 6675 section 2). When the congestion control enters recovery
/// call <see cref="BeginRecovery"/>, retransmit at HighACK (RFC 6675 section 5 step 4.3), and then, on
/// that and every later ACK in recovery: <see cref="SetPipe"/>, and while
/// <c>cwnd - PipeBytes &gt;= SMSS</c>: <see cref="NextSeg"/>, send it, <see cref="OnSegmentSent"/>
/// (RFC 6675 section 5 step C). On a retransmission timeout call <see cref="Reset"/>.</para>
/// </remarks>
public sealed class SackScoreboard
{
    /// <summary>Default bound on stored ranges.</summary>
    public const int DefaultMaxRanges = 32;

    private readonly SackBlock[] _ranges;
    private int _smss;
    private readonly int _dupThresh;
    private int _count;
    private bool _rescueDefined;
    private SeqNumber _rescueRxt;

    /// <summary>
    /// Creates an empty scoreboard whose HighACK, HighData and HighRxt are <paramref name="sndUna"/>
    /// (the first data sequence number, ISS + 1). Throws <see cref="ArgumentOutOfRangeException"/> for a
    /// non-positive SMSS, fewer than 1 range, or a DupThresh below 1.
    /// </summary>
    public SackScoreboard(int maxSegmentBytes, SeqNumber sndUna, int maxRanges = DefaultMaxRanges, int duplicateAckThreshold = CongestionControl.DuplicateAckThreshold)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSegmentBytes, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRanges, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(duplicateAckThreshold, 1);
        _smss = maxSegmentBytes;
        _dupThresh = duplicateAckThreshold;
        _ranges = new SackBlock[maxRanges];
        HighAck = sndUna;
        HighData = sndUna;
        HighRxt = sndUna;
        RecoveryPoint = sndUna;
    }

    /// <summary>Makes a pooled scoreboard new again for the next connection, as the constructor leaves it.</summary>
    public void Restart(int maxSegmentBytes, SeqNumber sndUna)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSegmentBytes, 1);
        _smss = maxSegmentBytes;
        Reset();
        _rescueDefined = false;
        _rescueRxt = sndUna;
        HighAck = sndUna;
        HighData = sndUna;
        HighRxt = sndUna;
        RecoveryPoint = sndUna;
        RefusedRanges = 0;
        MergedBlocks = 0;
        IgnoredBelowAckBlocks = 0;
        InvalidBlocks = 0;
    }

    /// <summary>The bound on stored disjoint ranges.</summary>
    public int MaxRanges => _ranges.Length;

    /// <summary>Disjoint SACKed ranges currently stored.</summary>
    public int RangeCount => _count;

    /// <summary>The stored ranges, ascending and disjoint, all above <see cref="HighAck"/>. Valid until the next mutation.</summary>
    public ReadOnlySpan<SackBlock> Ranges => _ranges.AsSpan(0, _count);

    /// <summary>HighACK of RFC 6675 section 2: SND.UNA as last given to <see cref="Update"/>.</summary>
    public SeqNumber HighAck { get; private set; }

    /// <summary>One past the highest octet ever sent (RFC 6675's HighData + 1).</summary>
    public SeqNumber HighData { get; private set; }

    /// <summary>One past the highest octet retransmitted in this recovery (RFC 6675's HighRxt + 1).</summary>
    public SeqNumber HighRxt { get; private set; }

    /// <summary>RFC 6675's RecoveryPoint (exclusive): HighData when recovery began.</summary>
    public SeqNumber RecoveryPoint { get; private set; }

    /// <summary>True between <see cref="BeginRecovery"/> and the ACK that covers <see cref="RecoveryPoint"/> (or <see cref="Reset"/>).</summary>
    public bool InRecovery { get; private set; }

    /// <summary>"pipe" of RFC 6675: bytes estimated in flight, from the last <see cref="SetPipe"/> plus sends since.</summary>
    public long PipeBytes { get; private set; }

    /// <summary>SACKed bytes stored above HighACK.</summary>
    public long SackedBytes
    {
        get
        {
            long total = 0;
            for (int i = 0; i < _count; i++)
            {
                total += _ranges[i].Right - _ranges[i].Left;
            }
            return total;
        }
    }

    /// <summary>Ranges dropped or evicted because the table was full.</summary>
    public long RefusedRanges { get; private set; }

    /// <summary>Blocks that merged with (or were contained in) a stored range.</summary>
    public long MergedBlocks { get; private set; }

    /// <summary>Blocks wholly at or below HighACK (RFC 2883 D-SACKs and stale blocks), ignored.</summary>
    public long IgnoredBelowAckBlocks { get; private set; }

    /// <summary>Blocks with Left &gt;= Right or reaching beyond <see cref="HighData"/> (never sent), ignored.</summary>
    public long InvalidBlocks { get; private set; }

    /// <summary>
    /// RFC 6675 section 4 Update(): advances HighACK to <paramref name="sndUna"/> (never backwards), drops
    /// what it covers, and records each block. Blocks at or below HighACK (D-SACK, RFC 2883 section 4) and
    /// blocks that are inverted or cover unsent data are ignored and counted; a block straddling HighACK
    /// keeps only its part above. Ends recovery when HighACK reaches <see cref="RecoveryPoint"/>.
    /// </summary>
    /// <returns>True when some block SACKed bytes not SACKed before.</returns>
    public bool Update(ReadOnlySpan<SackBlock> blocks, SeqNumber sndUna)
    {
        if (sndUna > HighAck)
        {
            HighAck = sndUna;
            if (HighData < sndUna)
            {
                HighData = sndUna;
            }
            if (HighRxt < sndUna)
            {
                HighRxt = sndUna;
            }
            DropBelow(sndUna);
        }
        if (InRecovery && HighAck >= RecoveryPoint)
        {
            InRecovery = false;
        }

        bool newlySacked = false;
        foreach (SackBlock block in blocks)
        {
            if (block.Right <= block.Left || block.Right > HighData)
            {
                InvalidBlocks++;
                continue;
            }
            if (block.Right <= HighAck)
            {
                IgnoredBelowAckBlocks++;
                continue;
            }
            SeqNumber left = SeqNumber.Max(block.Left, HighAck);
            newlySacked |= Insert(left, block.Right);
        }
        return newlySacked;
    }

    /// <summary>True when <paramref name="seq"/> lies in a stored SACKed range.</summary>
    public bool IsSacked(SeqNumber seq)
    {
        for (int i = 0; i < _count; i++)
        {
            if (seq.InRange(_ranges[i].Left, _ranges[i].Right))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// RFC 6675 section 4 IsLost(SeqNum): true when DupThresh discontiguous SACKed ranges lie above
    /// <paramref name="seq"/> or more than (DupThresh - 1) * SMSS bytes above it are SACKed. "Discontiguous
    /// SACKed sequences" is read as distinct stored ranges.
    /// </summary>
    public bool IsLost(SeqNumber seq)
    {
        SeqNumber above = seq + 1;
        long bytes = 0;
        int ranges = 0;
        for (int i = _count - 1; i >= 0; i--)
        {
            SackBlock r = _ranges[i];
            if (r.Right <= above)
            {
                break;
            }
            bytes += r.Right - SeqNumber.Max(r.Left, above);
            ranges++;
        }
        return ranges >= _dupThresh || bytes > (long)(_dupThresh - 1) * _smss;
    }

    /// <summary>
    /// RFC 6675 section 4 SetPipe(): over the unSACKed octets in [HighACK, HighData), one per octet not
    /// IsLost() plus one per octet below HighRxt (retransmitted). Stores and returns the result.
    /// </summary>
    public long SetPipe()
    {
        SeqNumber lostBelow = LostBoundary();
        long pipe = 0;
        SeqNumber holeStart = HighAck;
        for (int i = 0; i <= _count; i++)
        {
            SeqNumber holeEnd = i < _count ? _ranges[i].Left : HighData;
            if (holeEnd > holeStart)
            {
                pipe += Overlap(holeStart, holeEnd, lostBelow, HighData);
                pipe += Overlap(holeStart, holeEnd, HighAck, HighRxt);
            }
            if (i < _count)
            {
                holeStart = _ranges[i].Right;
            }
        }
        PipeBytes = pipe;
        return pipe;
    }

    /// <summary>
    /// Records the start of loss recovery (RFC 6675 section 5 step 4.1): RecoveryPoint = HighData and
    /// nothing retransmitted yet (HighRxt = HighACK).
    /// </summary>
    public void BeginRecovery()
    {
        RecoveryPoint = HighData;
        HighRxt = HighAck;
        InRecovery = true;
    }

    /// <summary>
    /// RFC 6675 section 4 NextSeg(): the next segment to send, by rules 1 (lost, unSACKed, above HighRxt),
    /// 2 (new data: <paramref name="newDataAvailableBytes"/> is the unsent data the receive window allows),
    /// 3 (unSACKed above HighRxt, below the highest SACKed octet) and 4 (one rescue retransmission per
    /// recovery). Segments are at most SMSS and never include SACKed octets. Pure: report what is sent with
    /// <see cref="OnSegmentSent"/>.
    /// </summary>
    public SackSegment NextSeg(int newDataAvailableBytes)
    {
        SeqNumber from = SeqNumber.Max(HighRxt, HighAck);
        if (_count > 0)
        {
            SeqNumber highestSacked = _ranges[_count - 1].Right;
            if (FirstUnsackedAtOrAbove(from, out SeqNumber s, out SeqNumber holeEnd) && s < highestSacked)
            {
                SackSegment segment = new(SackSegmentKind.RetransmitLost, s, Math.Min(holeEnd - s, _smss));
                if (IsLost(s))
                {
                    return segment;
                }
                if (newDataAvailableBytes <= 0)
                {
                    return segment with { Kind = SackSegmentKind.RetransmitUnsacked };
                }
            }
        }
        if (newDataAvailableBytes > 0)
        {
            return new SackSegment(SackSegmentKind.NewData, HighData, Math.Min(newDataAvailableBytes, _smss));
        }
        if (InRecovery && HighData > HighAck && (!_rescueDefined || HighAck > _rescueRxt))
        {
            // Rule 4: one segment ending at the highest unSACKed octet.
            SeqNumber end = HighData;
            SeqNumber floor = HighAck;
            if (_count > 0 && _ranges[_count - 1].Right == HighData)
            {
                end = _ranges[_count - 1].Left;
                floor = _count > 1 ? _ranges[_count - 2].Right : HighAck;
            }
            if (end > floor)
            {
                SeqNumber start = SeqNumber.Max(floor, end - _smss);
                return new SackSegment(SackSegmentKind.Rescue, start, end - start);
            }
        }
        return default;
    }

    /// <summary>
    /// Records a transmission (RFC 6675 section 5 steps C.2-C.4): data below HighData is a retransmission
    /// and raises HighRxt (except the rescue, which sets RescueRxt = RecoveryPoint instead); data beyond
    /// HighData raises it; pipe grows by the length. Call for every data segment sent, in or out of recovery.
    /// </summary>
    public void OnSegmentSent(SeqNumber start, int lengthBytes, bool isRescue = false)
    {
        if (lengthBytes <= 0)
        {
            return;
        }
        SeqNumber end = start + lengthBytes;
        if (start < HighData)
        {
            if (isRescue)
            {
                _rescueDefined = true;
                _rescueRxt = RecoveryPoint;
            }
            else
            {
                SeqNumber top = SeqNumber.Min(end, HighData);
                if (top > HighRxt)
                {
                    HighRxt = top;
                }
            }
        }
        if (end > HighData)
        {
            HighData = end;
        }
        PipeBytes += lengthBytes;
    }

    /// <summary>
    /// On a retransmission timeout: forgets all SACK information (RFC 2018 section 8, the receiver may have
    /// reneged), ends recovery, sets RecoveryPoint = HighData (RFC 6675 section 5.1) and HighRxt = HighACK.
    /// </summary>
    public void Reset()
    {
        _count = 0;
        InRecovery = false;
        RecoveryPoint = HighData;
        HighRxt = HighAck;
        PipeBytes = 0;
    }

    /// <summary>
    /// On a retransmission timeout, as Linux's tcp_enter_loss: ends recovery (RecoveryPoint = HighData, HighRxt =
    /// HighACK) but keeps the SACKed ranges, so the resend after the timeout skips what the peer holds, unless the
    /// peer reneged (RFC 2018 section 8): a stored range begins at the cumulative ACK it did not advance over, the sign
    /// Linux's tcp_check_sack_reneging reads. Then everything is forgotten (<see cref="Reset"/>). Returns true when
    /// the ranges were kept.
    /// </summary>
    public bool OnRetransmissionTimeout()
    {
        if (_count > 0 && _ranges[0].Left <= HighAck)
        {
            Reset();
            return false;
        }
        InRecovery = false;
        RecoveryPoint = HighData;
        HighRxt = HighAck;
        PipeBytes = 0;
        return _count > 0;
    }

    /// <summary>
    /// For a resend from <paramref name="seq"/>: the first sequence at or above it that is not SACKed, and in
    /// <paramref name="room"/> how many bytes from there are unSACKed (up to the next SACKed range, or unbounded).
    /// </summary>
    public SeqNumber SkipSacked(SeqNumber seq, out long room)
    {
        for (int i = 0; i < _count; i++)
        {
            SackBlock r = _ranges[i];
            if (seq < r.Left)
            {
                room = r.Left - seq;
                return seq;
            }
            if (seq < r.Right)
            {
                seq = r.Right;
            }
        }
        room = long.MaxValue;
        return seq;
    }

    private void DropBelow(SeqNumber una)
    {
        int drop = 0;
        while (drop < _count && _ranges[drop].Right <= una)
        {
            drop++;
        }
        if (drop > 0)
        {
            Array.Copy(_ranges, drop, _ranges, 0, _count - drop);
            _count -= drop;
        }
        if (_count > 0 && _ranges[0].Left < una)
        {
            _ranges[0] = _ranges[0] with { Left = una };
        }
    }

    private bool Insert(SeqNumber left, SeqNumber right)
    {
        int i = 0;
        while (i < _count && _ranges[i].Right < left)
        {
            i++;
        }
        int j = i;
        while (j < _count && _ranges[j].Left <= right)
        {
            j++;
        }
        if (j > i)
        {
            MergedBlocks++;
            if (j - i == 1 && _ranges[i].Left <= left && _ranges[i].Right >= right)
            {
                return false;
            }
            SeqNumber newLeft = SeqNumber.Min(left, _ranges[i].Left);
            SeqNumber newRight = SeqNumber.Max(right, _ranges[j - 1].Right);
            _ranges[i] = new SackBlock(newLeft, newRight);
            int removed = j - i - 1;
            if (removed > 0)
            {
                Array.Copy(_ranges, j, _ranges, i + 1, _count - j);
                _count -= removed;
            }
            return true;
        }
        if (_count == _ranges.Length)
        {
            RefusedRanges++;
            if (i == _count)
            {
                return false;
            }
            _count--;
        }
        Array.Copy(_ranges, i, _ranges, i + 1, _count - i);
        _ranges[i] = new SackBlock(left, right);
        _count++;
        return true;
    }

    // Every unSACKed octet below the returned point IsLost(); none at or above it is (IsLost is monotone).
    private SeqNumber LostBoundary()
    {
        long bytes = 0;
        for (int i = _count - 1; i >= 0; i--)
        {
            bytes += _ranges[i].Right - _ranges[i].Left;
            if (_count - i >= _dupThresh || bytes > (long)(_dupThresh - 1) * _smss)
            {
                return _ranges[i].Left;
            }
        }
        return HighAck;
    }

    private bool FirstUnsackedAtOrAbove(SeqNumber from, out SeqNumber seq, out SeqNumber holeEnd)
    {
        seq = from;
        for (int i = 0; i < _count; i++)
        {
            if (_ranges[i].Right <= seq)
            {
                continue;
            }
            if (_ranges[i].Left <= seq)
            {
                seq = _ranges[i].Right;
                continue;
            }
            holeEnd = _ranges[i].Left;
            return true;
        }
        holeEnd = HighData;
        return seq < HighData;
    }

    private static long Overlap(SeqNumber a, SeqNumber b, SeqNumber c, SeqNumber d)
    {
        SeqNumber lo = SeqNumber.Max(a, c);
        SeqNumber hi = SeqNumber.Min(b, d);
        return hi > lo ? hi - lo : 0;
    }
}

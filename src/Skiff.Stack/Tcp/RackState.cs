namespace Skiff.Stack.Tcp;

/// <summary>
/// RACK (RFC 8985 section 6): loss detection by time. Keeps when each segment in flight was last sent, in a bounded
/// ring ordered by sequence number, and the RACK variables: the transmit time and end of the most recently sent
/// segment known delivered (<see cref="XmitTs"/>, <see cref="EndSeq"/>), its round trip (<see cref="Rtt"/>), the
/// highest SACKed sequence (FACK), whether reordering was seen, and the reordering window's DSACK-driven multiplier.
/// A segment sent before the latest delivered one is lost once RACK.rtt + reo_wnd has passed since it was sent.
/// Sans-I/O and allocation-free after construction; not thread-safe (one per connection).
/// </summary>
/// <remarks>
/// <para>Bound: at most <see cref="Capacity"/> records. When the ring is full a new transmission is merged into the
/// last record (its end and time move forward), which only makes loss detection later for those bytes, never earlier.</para>
/// <para>A record is delivered when SND.UNA passes its end or when one SACKed range covers it whole; a record
/// partly SACKed still counts as in flight (conservative for pipe).</para>
/// </remarks>
internal sealed class RackState
{
    /// <summary>RFC 8985 section 6.2 step 4: DSACK-free recoveries after which the reordering window multiplier resets.</summary>
    public const int ReoWndPersist = 16;

    /// <summary>DupThresh of RFC 8985 section 6.2 step 4 (segments SACKed before reo_wnd drops to zero when no reordering was seen).</summary>
    public const int DupThresh = 3;

    private const byte SackedFlag = 1;
    private const byte LostFlag = 2;
    private const byte RetransmittedFlag = 4;

    private Record[] _ring;
    private int _mask;
    private int _head;
    private int _count;
    private int _sackedCount;
    private bool _dsackRoundSet;
    private bool _fackSet;
    private SeqNumber _dsackRound;

    private struct Record
    {
        public SeqNumber Start;
        public SeqNumber End;
        public Instant XmitTs;
        public byte Flags;
    }

    /// <summary>Creates an empty state holding up to <paramref name="capacity"/> records (rounded up to a power of two).</summary>
    public RackState(int capacity)
    {
        int size = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(capacity, 8));
        _ring = new Record[size];
        _mask = size - 1;
        Restart();
    }

    /// <summary>The bound on records.</summary>
    public int Capacity => _ring.Length;

    /// <summary>Records held (segments in flight, or merged runs of them).</summary>
    public int Count => _count;

    /// <summary>RACK.xmit_ts: when the most recently sent delivered segment was sent; <see cref="Instant.Never"/> before any.</summary>
    public Instant XmitTs { get; private set; }

    /// <summary>RACK.end_seq: the end of that segment.</summary>
    public SeqNumber EndSeq { get; private set; }

    /// <summary>RACK.rtt: the round trip of that segment.</summary>
    public Duration Rtt { get; private set; }

    /// <summary>RACK.fack: the highest sequence delivered (end, exclusive).</summary>
    public SeqNumber Fack { get; private set; }

    /// <summary>RACK.reordering_seen: a segment never retransmitted was delivered below FACK.</summary>
    public bool ReorderingSeen { get; private set; }

    /// <summary>RACK.reo_wnd_mult: the reordering window in quarters of min_RTT; grows by one per round that sees a DSACK.</summary>
    public int ReoWndMult { get; private set; }

    /// <summary>RACK.reo_wnd_persist: recoveries left before <see cref="ReoWndMult"/> returns to 1.</summary>
    public int ReoWndPersistLeft { get; private set; }

    /// <summary>Transmissions merged into the last record because the ring was full.</summary>
    public long Merges { get; private set; }

    /// <summary>Forgets everything: the state of a new connection.</summary>
    public void Restart()
    {
        _head = 0;
        _count = 0;
        _sackedCount = 0;
        _dsackRoundSet = false;
        _dsackRound = default;
        XmitTs = Instant.Never;
        EndSeq = default;
        Rtt = Duration.Zero;
        Fack = default;
        _fackSet = false;
        ReorderingSeen = false;
        ReoWndMult = 1;
        ReoWndPersistLeft = ReoWndPersist;
        Merges = 0;
    }

    /// <summary>Resizes a pooled state for a connection with another bound, then restarts it.</summary>
    public void Restart(int capacity)
    {
        int size = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(capacity, 8));
        if (size != _ring.Length)
        {
            _ring = new Record[size];
            _mask = size - 1;
        }
        Restart();
    }

    private ref Record At(int i) => ref _ring[(_head + i) & _mask];

    /// <summary>
    /// Records a transmission of [<paramref name="start"/>, start + <paramref name="length"/>) at <paramref name="now"/>.
    /// New data is appended; a retransmission stamps the records it covers with the new time, marks them
    /// retransmitted and no longer lost (splitting a record when only part of it went again and there is room).
    /// </summary>
    public void OnSent(SeqNumber start, int length, Instant now, bool retransmission)
    {
        if (length <= 0)
        {
            return;
        }
        SeqNumber end = start + length;
        SeqNumber tailEnd = _count > 0 ? At(_count - 1).End : start;
        if (_count > 0 && start < tailEnd)
        {
            Restamp(start, SeqNumber.Min(end, tailEnd), now);
            if (end <= tailEnd)
            {
                return;
            }
            start = tailEnd;
        }
        else if (_count > 0 && start > tailEnd)
        {
            // A gap (should not happen: new data goes at SND.MAX); the records would no longer tile, so start over.
            _head = 0;
            _count = 0;
            _sackedCount = 0;
        }
        Append(start, end, now, retransmission ? RetransmittedFlag : (byte)0);
    }

    private void Append(SeqNumber start, SeqNumber end, Instant now, byte flags)
    {
        if (_count == _ring.Length)
        {
            ref Record last = ref At(_count - 1);
            if ((last.Flags & SackedFlag) != 0)
            {
                _sackedCount--;
            }
            last.End = end;
            last.XmitTs = now;
            last.Flags = (byte)((last.Flags & RetransmittedFlag) | flags);
            Merges++;
            return;
        }
        _count++;
        At(_count - 1) = new Record { Start = start, End = end, XmitTs = now, Flags = flags };
    }

    private void Restamp(SeqNumber start, SeqNumber end, Instant now)
    {
        for (int i = 0; i < _count; i++)
        {
            ref Record r = ref At(i);
            if (r.End <= start)
            {
                continue;
            }
            if (r.Start >= end)
            {
                break;
            }
            if (r.Start < start && _count < _ring.Length)
            {
                Split(i, start);
                continue; // the upper half is next
            }
            if (r.End > end && _count < _ring.Length)
            {
                Split(i, end);
                r = ref At(i);
            }
            r.XmitTs = now;
            r.Flags = (byte)((r.Flags | RetransmittedFlag) & ~LostFlag);
        }
    }

    /// <summary>Cuts record <paramref name="i"/> at <paramref name="at"/> into two records with its time and flags.</summary>
    private void Split(int i, SeqNumber at)
    {
        for (int j = _count; j > i + 1; j--)
        {
            At(j) = At(j - 1);
        }
        _count++;
        ref Record lower = ref At(i);
        Record upper = lower;
        upper.Start = at;
        lower.End = at;
        At(i + 1) = upper;
        if ((upper.Flags & SackedFlag) != 0)
        {
            _sackedCount++;
        }
    }

    /// <summary>
    /// RFC 8985 section 6.2 steps 2 and 3 for one ACK: drops what <paramref name="sndUna"/> covers, marks records
    /// that <paramref name="sacked"/> (the scoreboard's ranges above SND.UNA) now covers whole, and for every
    /// segment newly delivered updates RACK.xmit_ts/end_seq/rtt (skipping an ambiguous retransmission: its RTT is
    /// below <paramref name="minRtt"/>, or the ACK echoes a timestamp older than the retransmission,
    /// <paramref name="echoedSentAt"/>) and FACK, noting reordering when a never-retransmitted segment is delivered
    /// below FACK. Returns the bytes newly delivered by SACK (not by the cumulative ACK).
    /// </summary>
    public long OnAck(SeqNumber sndUna, ReadOnlySpan<SackBlock> sacked, Instant now, Duration minRtt, Instant echoedSentAt)
    {
        while (_count > 0 && At(0).End <= sndUna)
        {
            Record r = At(0);
            if ((r.Flags & SackedFlag) != 0)
            {
                _sackedCount--;
            }
            else
            {
                OnDelivered(r, now, minRtt, echoedSentAt);
            }
            _head = (_head + 1) & _mask;
            _count--;
        }
        if (_count > 0 && At(0).Start < sndUna)
        {
            At(0).Start = sndUna;
        }
        long newlySacked = 0;
        int k = 0;
        for (int i = 0; i < _count && k < sacked.Length; i++)
        {
            ref Record r = ref At(i);
            while (k < sacked.Length && sacked[k].Right <= r.Start)
            {
                k++;
            }
            if (k == sacked.Length)
            {
                break;
            }
            if ((r.Flags & SackedFlag) != 0 || sacked[k].Left > r.Start || sacked[k].Right < r.End)
            {
                continue;
            }
            r.Flags = (byte)((r.Flags | SackedFlag) & ~LostFlag);
            _sackedCount++;
            newlySacked += r.End - r.Start;
            OnDelivered(r, now, minRtt, echoedSentAt);
        }
        if (_dsackRoundSet && sndUna >= _dsackRound)
        {
            _dsackRoundSet = false;
        }
        return newlySacked;
    }

    private void OnDelivered(in Record r, Instant now, Duration minRtt, Instant echoedSentAt)
    {
        bool retransmitted = (r.Flags & RetransmittedFlag) != 0;
        // Step 2: a retransmission whose delivery may be the original's gives no RACK sample.
        bool ambiguous = retransmitted && (now - r.XmitTs < minRtt || echoedSentAt < r.XmitTs);
        if (!ambiguous && SentAfter(r.XmitTs, r.End, XmitTs, EndSeq))
        {
            Rtt = now - r.XmitTs;
            XmitTs = r.XmitTs;
            EndSeq = r.End;
        }
        // Step 3.
        if (!_fackSet || r.End > Fack)
        {
            Fack = r.End;
            _fackSet = true;
        }
        else if (r.End < Fack && !retransmitted)
        {
            ReorderingSeen = true;
        }
    }

    /// <summary>RFC 8985's RACK_sent_after: t1 later than t2, or the same instant and a higher end.</summary>
    private static bool SentAfter(Instant t1, SeqNumber seq1, Instant t2, SeqNumber seq2) =>
        t2 == Instant.Never || t1 > t2 || (t1 == t2 && seq1 > seq2);

    /// <summary>
    /// RFC 8985 section 6.2 step 4, DSACK part: the first ACK with a D-SACK in a round (a round ends when SND.UNA
    /// passes the SND.NXT of that moment, <paramref name="sndNxt"/>) widens the reordering window by a quarter
    /// min_RTT and keeps it for <see cref="ReoWndPersist"/> recoveries. Also marks reordering seen.
    /// </summary>
    public void OnDsack(SeqNumber sndNxt)
    {
        ReorderingSeen = true;
        if (_dsackRoundSet)
        {
            return;
        }
        _dsackRoundSet = true;
        _dsackRound = sndNxt;
        ReoWndMult = Math.Min(ReoWndMult + 1, 64);
        ReoWndPersistLeft = ReoWndPersist;
    }

    /// <summary>A fast or timeout recovery ended: after <see cref="ReoWndPersist"/> without a DSACK the multiplier returns to 1.</summary>
    public void OnRecoveryEnded()
    {
        if (--ReoWndPersistLeft <= 0)
        {
            ReoWndMult = 1;
            ReoWndPersistLeft = ReoWndPersist;
        }
    }

    /// <summary>
    /// RFC 8985 section 6.2 step 4: RACK.reo_wnd. Zero when no reordering has been seen and either loss recovery is
    /// on or DupThresh segments are SACKed (so RACK is never slower than DupThresh); otherwise
    /// min(reo_wnd_mult * min_RTT / 4, SRTT).
    /// </summary>
    public Duration ReoWnd(bool inRecovery, Duration minRtt, Duration srtt)
    {
        if (!ReorderingSeen && (inRecovery || _sackedCount >= DupThresh))
        {
            return Duration.Zero;
        }
        if (minRtt == Duration.Infinite)
        {
            return Duration.Zero;
        }
        long wnd = minRtt.TotalMicros / 4 * ReoWndMult;
        return new Duration(Math.Min(wnd, srtt.TotalMicros));
    }

    /// <summary>
    /// RFC 8985 section 6.2 step 5: every record not delivered and not already lost, sent before RACK.xmit_ts (ties by
    /// end), is lost once RACK.rtt + <paramref name="reoWnd"/> has passed since it was sent. Returns how many records
    /// were marked, and in <paramref name="timeout"/> the longest wait until the next one could be (zero if none):
    /// the RACK reordering timer.
    /// </summary>
    public int DetectLoss(Instant now, Duration reoWnd, out Duration timeout)
    {
        timeout = Duration.Zero;
        if (XmitTs == Instant.Never)
        {
            return 0;
        }
        int marked = 0;
        for (int i = 0; i < _count; i++)
        {
            ref Record r = ref At(i);
            // Sent before RACK's segment: earlier, or at the same instant below it, unless it is a retransmission (sent
            // at that instant, it went after every original transmission of the instant).
            bool sentBefore = r.XmitTs < XmitTs || (r.XmitTs == XmitTs && r.End < EndSeq && (r.Flags & RetransmittedFlag) == 0);
            if ((r.Flags & (SackedFlag | LostFlag)) != 0 || !sentBefore)
            {
                continue;
            }
            Duration remaining = r.XmitTs + Rtt + reoWnd - now;
            if (remaining <= Duration.Zero)
            {
                r.Flags |= LostFlag;
                marked++;
            }
            else if (remaining > timeout)
            {
                timeout = remaining;
            }
        }
        return marked;
    }

    /// <summary>A retransmission timeout: every record not SACKed is lost (RFC 8985 section 6.3; Linux's tcp_timeout_mark_lost).</summary>
    public void OnRetransmissionTimeout()
    {
        for (int i = 0; i < _count; i++)
        {
            ref Record r = ref At(i);
            if ((r.Flags & SackedFlag) == 0)
            {
                r.Flags |= LostFlag;
            }
        }
    }

    /// <summary>A loss response proved spurious (Eifel or D-SACK): the path reorders, so the reordering window stays open.</summary>
    public void OnSpuriousRetransmission() => ReorderingSeen = true;

    /// <summary>Clears the lost mark of the record starting at <paramref name="start"/> (its bytes were all SACKed, in pieces).</summary>
    public void ClearLost(SeqNumber start)
    {
        for (int i = 0; i < _count; i++)
        {
            ref Record r = ref At(i);
            if (r.Start == start)
            {
                r.Flags &= unchecked((byte)~LostFlag);
                return;
            }
        }
    }

    /// <summary>A loss episode was undone as spurious: nothing is lost after all.</summary>
    public void ClearLost()
    {
        for (int i = 0; i < _count; i++)
        {
            At(i).Flags &= unchecked((byte)~LostFlag);
        }
    }

    /// <summary>
    /// Bytes in flight (RFC 6675's pipe with RACK's losses, as Linux's packets_in_flight): the unSACKed bytes of
    /// every record not marked lost. <paramref name="sacked"/> is the scoreboard's ranges, so a record SACKed only in
    /// part counts only its unSACKed bytes.
    /// </summary>
    public long InFlightBytes(ReadOnlySpan<SackBlock> sacked)
    {
        long pipe = 0;
        int k = 0;
        for (int i = 0; i < _count; i++)
        {
            Record r = At(i);
            if ((r.Flags & (SackedFlag | LostFlag)) != 0)
            {
                continue;
            }
            long bytes = r.End - r.Start;
            while (k < sacked.Length && sacked[k].Right <= r.Start)
            {
                k++;
            }
            for (int j = k; j < sacked.Length && sacked[j].Left < r.End; j++)
            {
                SeqNumber lo = SeqNumber.Max(sacked[j].Left, r.Start);
                SeqNumber hi = SeqNumber.Min(sacked[j].Right, r.End);
                if (hi > lo)
                {
                    bytes -= hi - lo;
                }
            }
            pipe += bytes;
        }
        return pipe;
    }

    /// <summary>The first record marked lost and not yet sent again: what loss recovery retransmits next.</summary>
    public bool NextLost(out SeqNumber start, out SeqNumber end)
    {
        for (int i = 0; i < _count; i++)
        {
            Record r = At(i);
            if ((r.Flags & (SackedFlag | LostFlag)) == LostFlag)
            {
                start = r.Start;
                end = r.End;
                return true;
            }
        }
        start = default;
        end = default;
        return false;
    }

    /// <summary>The last record (the highest data sent), for a tail loss probe that has no new data to send.</summary>
    public bool Last(out SeqNumber start, out SeqNumber end)
    {
        if (_count == 0)
        {
            start = default;
            end = default;
            return false;
        }
        Record r = At(_count - 1);
        start = r.Start;
        end = r.End;
        return true;
    }

    /// <summary>True when the record holding <paramref name="seq"/> is marked lost (for tests and diagnostics).</summary>
    public bool IsLost(SeqNumber seq)
    {
        for (int i = 0; i < _count; i++)
        {
            Record r = At(i);
            if (seq.InRange(r.Start, r.End))
            {
                return (r.Flags & LostFlag) != 0;
            }
        }
        return false;
    }
}

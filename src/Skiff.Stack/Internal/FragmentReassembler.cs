using Skiff.Stack.Ipv4;

namespace Skiff.Stack.Internal;

/// <summary>
/// The hole-descriptor reassembly of RFC 815 shared by IPv4 (RFC 791) and IPv6 (RFC 8200 section 4.5): preallocated
/// slots, the bounds of contract 5, overlaps discarding the whole datagram (RFC 5722), identical duplicates ignored.
/// The family's wrapper parses its header, passes the part kept from fragment zero as <c>header</c>, and fixes the
/// datagram's header when it completes. See <see cref="Skiff.Stack.Ipv4.Ipv4Reassembler"/> for the full contract.
/// </summary>
internal sealed class FragmentReassembler<TKey> where TKey : struct, IEquatable<TKey>
{
    private const int Open = int.MaxValue; // the "infinity" end of RFC 815's last hole

    private struct Slot
    {
        public bool InUse;
        public TKey Key;
        public Instant Deadline;
        public int TotalPayloadBytes; // -1 until the last fragment (MF = 0) arrives
        public int BufferedBytes;
        public int Fragments;
        public int HoleCount;
        public int HeaderBytes; // 0 until fragment zero arrives
    }

    private readonly Ipv4ReassemblerOptions _options;
    private readonly int _minHeaderBytes;
    private readonly int _maxHeaderBytes;
    private readonly int _maxTotalBytes;
    private readonly Slot[] _slots;
    private readonly byte[] _memory; // slot s: [s * _slotBytes, +60) header area, right-aligned; then the payload
    private readonly int _slotBytes;
    private readonly int _payloadCapacity;
    private readonly int[] _holeFirst; // slot s: [s * _holesPerSlot, ...), sorted, inclusive bounds
    private readonly int[] _holeLast;
    private readonly int _holesPerSlot;
    private int _bufferedBytes;

    /// <summary>Creates a reassembler; <paramref name="options"/> defaults to <see cref="Ipv4ReassemblerOptions"/>' defaults.</summary>
    /// <param name="options">The bounds.</param>
    /// <param name="minHeaderBytes">The shortest header kept from fragment zero.</param>
    /// <param name="maxHeaderBytes">The longest header kept from fragment zero.</param>
    /// <param name="maxTotalBytes">The largest header + offset + length a fragment may reach (the family's length field).</param>
    public FragmentReassembler(Ipv4ReassemblerOptions options, int minHeaderBytes, int maxHeaderBytes, int maxTotalBytes)
    {
        _options = options;
        _minHeaderBytes = minHeaderBytes;
        _maxHeaderBytes = maxHeaderBytes;
        _maxTotalBytes = maxTotalBytes;
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(_options.MaxDatagrams);
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.MaxDatagramBytes, 576);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(_options.MaxDatagramBytes, maxTotalBytes);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(_options.MaxBufferedBytes);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(_options.MaxFragmentsPerDatagram);
        if (_options.Timeout <= Duration.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "The reassembly timeout must be positive.");
        }
        _slots = new Slot[_options.MaxDatagrams];
        _payloadCapacity = _options.MaxDatagramBytes - _minHeaderBytes;
        _slotBytes = _maxHeaderBytes + _payloadCapacity;
        _memory = GC.AllocateUninitializedArray<byte>(checked(_slotBytes * _options.MaxDatagrams));
        _holesPerSlot = _options.MaxFragmentsPerDatagram + 1;
        _holeFirst = new int[_holesPerSlot * _options.MaxDatagrams];
        _holeLast = new int[_holesPerSlot * _options.MaxDatagrams];
    }

    /// <summary>The options this reassembler was made with.</summary>
    public Ipv4ReassemblerOptions Options => _options;

    /// <summary>Datagrams currently in reassembly.</summary>
    public int InProgress { get; private set; }

    /// <summary>Payload bytes currently held.</summary>
    public int BufferedBytes => _bufferedBytes;

    /// <summary>Datagrams reassembled completely.</summary>
    public long Reassembled { get; private set; }

    /// <summary>Datagrams given up on by <see cref="TryExpire"/>.</summary>
    public long Timeouts { get; private set; }

    /// <summary>Datagrams discarded because fragments overlapped.</summary>
    public long Overlaps { get; private set; }

    /// <summary>Identical duplicate fragments ignored.</summary>
    public long Duplicates { get; private set; }

    /// <summary>Fragments with an impossible offset or length (see <see cref="Ipv4ReassemblyStatus.BadLength"/>).</summary>
    public long BadLengths { get; private set; }

    /// <summary>First fragments of a new datagram refused because every slot was in use.</summary>
    public long RefusedDatagrams { get; private set; }

    /// <summary>Fragments refused by the byte budget or because the datagram would exceed <see cref="Ipv4ReassemblerOptions.MaxDatagramBytes"/>.</summary>
    public long RefusedBytes { get; private set; }

    /// <summary>Datagrams discarded for having more than <see cref="Ipv4ReassemblerOptions.MaxFragmentsPerDatagram"/> fragments.</summary>
    public long RefusedFragments { get; private set; }

    /// <summary>
    /// Adds one fragment. <paramref name="offsetBytes"/> is the Fragment Offset field times 8;
    /// <paramref name="header"/> is the fragment's IPv4 header (20 to 60 bytes, options included), kept only from
    /// fragment zero; <paramref name="payload"/> is its data. Both are copied: the caller keeps its buffer. Never
    /// throws on packet data: every outcome is a status and a counter. When the result is
    /// <see cref="Ipv4ReassemblyStatus.Complete"/> its spans are valid until the next call on this reassembler.
    /// </summary>
    public FragmentResult Add(in TKey key, int offsetBytes, bool moreFragments, ReadOnlySpan<byte> header, ReadOnlySpan<byte> payload, Instant now)
    {
        int length = payload.Length;
        // RFC 791 section 3.1: offsets count 8-byte units, so every fragment but the last carries a multiple of 8;
        // header + offset + length is the datagram's Total Length, a 16-bit field ("ping of death" when past it).
        if (offsetBytes < 0 || (offsetBytes & 7) != 0 || length == 0 || (moreFragments && (length & 7) != 0)
            || header.Length < _minHeaderBytes || header.Length > _maxHeaderBytes || header.Length + offsetBytes + length > _maxTotalBytes)
        {
            BadLengths++;
            return new FragmentResult(Ipv4ReassemblyStatus.BadLength);
        }
        int first = offsetBytes;
        int last = offsetBytes + length - 1;
        if (last >= _payloadCapacity)
        {
            RefusedBytes++;
            return new FragmentResult(Ipv4ReassemblyStatus.Refused);
        }

        int s = FindSlot(in key);
        if (s < 0)
        {
            s = FindFreeSlot();
            if (s < 0)
            {
                RefusedDatagrams++;
                return new FragmentResult(Ipv4ReassemblyStatus.Refused);
            }
            if (_bufferedBytes + length > _options.MaxBufferedBytes)
            {
                RefusedBytes++;
                return new FragmentResult(Ipv4ReassemblyStatus.Refused);
            }
            _slots[s] = new Slot { InUse = true, Key = key, Deadline = now + _options.Timeout, TotalPayloadBytes = -1, HoleCount = 1 };
            _holeFirst[s * _holesPerSlot] = 0;
            _holeLast[s * _holesPerSlot] = Open;
            InProgress++;
        }
        ref Slot slot = ref _slots[s];
        Span<byte> data = _memory.AsSpan(s * _slotBytes + _maxHeaderBytes, _payloadCapacity);

        // A fragment past the known end, or a last fragment that moves the end, contradicts the datagram.
        if (slot.TotalPayloadBytes >= 0 && (last >= slot.TotalPayloadBytes || (!moreFragments && last + 1 != slot.TotalPayloadBytes)))
        {
            BadLengths++;
            Release(s);
            return new FragmentResult(Ipv4ReassemblyStatus.BadLength);
        }

        // RFC 815 step 1-3: find the hole that holds the fragment; a fragment touching received data is an overlap.
        int holeBase = s * _holesPerSlot;
        int containing = -1;
        bool touchesHole = false;
        for (int h = 0; h < slot.HoleCount; h++)
        {
            int hf = _holeFirst[holeBase + h];
            int hl = _holeLast[holeBase + h];
            if (hf <= last && hl >= first)
            {
                touchesHole = true;
                if (hf <= first && last <= hl)
                {
                    containing = h;
                }
                break; // holes are disjoint and sorted: the first one touched decides
            }
        }
        if (!touchesHole)
        {
            // A last fragment whose bytes all arrived before is a duplicate only once the end is known; before
            // that it would move the end under data already placed, so it counts as an overlap.
            if ((moreFragments || slot.TotalPayloadBytes >= 0) && payload.SequenceEqual(data.Slice(first, length)))
            {
                Duplicates++;
                return new FragmentResult(Ipv4ReassemblyStatus.Duplicate);
            }
            Overlaps++;
            Release(s);
            return new FragmentResult(Ipv4ReassemblyStatus.Overlap);
        }
        if (containing < 0 || (!moreFragments && _holeLast[holeBase + containing] != Open))
        {
            // Partly in a hole, partly over received data; or a last fragment with received data after its end.
            Overlaps++;
            Release(s);
            return new FragmentResult(Ipv4ReassemblyStatus.Overlap);
        }
        if (slot.Fragments == _options.MaxFragmentsPerDatagram)
        {
            RefusedFragments++;
            Release(s);
            return new FragmentResult(Ipv4ReassemblyStatus.Refused);
        }
        if (_bufferedBytes + length > _options.MaxBufferedBytes)
        {
            RefusedBytes++;
            return new FragmentResult(Ipv4ReassemblyStatus.Refused);
        }

        // RFC 815 steps 4-6: replace the hole by what the fragment leaves of it, in order.
        int holeFirst = _holeFirst[holeBase + containing];
        int holeLast = _holeLast[holeBase + containing];
        bool keepBefore = first > holeFirst;
        bool keepAfter = moreFragments && last < holeLast;
        int added = (keepBefore ? 1 : 0) + (keepAfter ? 1 : 0);
        int tail = slot.HoleCount - containing - 1;
        _holeFirst.AsSpan(holeBase + containing + 1, tail).CopyTo(_holeFirst.AsSpan(holeBase + containing + added));
        _holeLast.AsSpan(holeBase + containing + 1, tail).CopyTo(_holeLast.AsSpan(holeBase + containing + added));
        int at = holeBase + containing;
        if (keepBefore)
        {
            _holeFirst[at] = holeFirst;
            _holeLast[at] = first - 1;
            at++;
        }
        if (keepAfter)
        {
            _holeFirst[at] = last + 1;
            _holeLast[at] = holeLast;
        }
        slot.HoleCount += added - 1;

        payload.CopyTo(data.Slice(first));
        if (!moreFragments)
        {
            slot.TotalPayloadBytes = last + 1;
        }
        if (first == 0)
        {
            // Right-aligned so the header ends where the payload starts: the datagram is one contiguous span.
            header.CopyTo(_memory.AsSpan(s * _slotBytes + _maxHeaderBytes - header.Length));
            slot.HeaderBytes = header.Length;
        }
        slot.Fragments++;
        slot.BufferedBytes += length;
        _bufferedBytes += length;

        if (slot.HoleCount > 0)
        {
            return new FragmentResult(Ipv4ReassemblyStatus.Held);
        }

        // RFC 791 section 3.2: the datagram takes the first fragment's header, with the length of the whole.
        int headerBytes = slot.HeaderBytes;
        Span<byte> datagram = _memory.AsSpan(s * _slotBytes + _maxHeaderBytes - headerBytes, headerBytes + slot.TotalPayloadBytes);
        Reassembled++;
        Release(s);
        return new FragmentResult(Ipv4ReassemblyStatus.Complete, datagram, headerBytes);
    }

    /// <summary>
    /// Gives up on one datagram whose <see cref="Ipv4ReassemblerOptions.Timeout"/> has passed, if any: frees its slot,
    /// counts <see cref="Timeouts"/> and describes it in <paramref name="expired"/> (valid until the next call).
    /// Call in a loop until it returns false; each call does bounded work.
    /// </summary>
    public bool TryExpire(Instant now, out FragmentTimeout<TKey> expired)
    {
        if (InProgress == 0)
        {
            expired = default; // the common case, checked on every poll: no walk over the slots
            return false;
        }
        for (int s = 0; s < _slots.Length; s++)
        {
            ref Slot slot = ref _slots[s];
            if (!slot.InUse || now < slot.Deadline)
            {
                continue;
            }
            ReadOnlySpan<byte> quote = default;
            if (slot.HeaderBytes > 0)
            {
                int received = slot.HoleCount > 0 ? _holeFirst[s * _holesPerSlot] : slot.TotalPayloadBytes;
                quote = _memory.AsSpan(s * _slotBytes + _maxHeaderBytes - slot.HeaderBytes, slot.HeaderBytes + Math.Min(8, received));
            }
            expired = new FragmentTimeout<TKey>(slot.Key, quote);
            Timeouts++;
            Release(s);
            return true;
        }
        expired = default;
        return false;
    }

    /// <summary>The earliest reassembly deadline, or <see cref="Instant.Never"/> when nothing is in reassembly.</summary>
    public Instant PollAt()
    {
        Instant next = Instant.Never;
        foreach (ref readonly Slot slot in _slots.AsSpan())
        {
            if (slot.InUse)
            {
                next = Instant.Min(next, slot.Deadline);
            }
        }
        return next;
    }

    private int FindSlot(in TKey key)
    {
        for (int s = 0; s < _slots.Length; s++)
        {
            if (_slots[s].InUse && _slots[s].Key.Equals(key))
            {
                return s;
            }
        }
        return -1;
    }

    private int FindFreeSlot()
    {
        for (int s = 0; s < _slots.Length; s++)
        {
            if (!_slots[s].InUse)
            {
                return s;
            }
        }
        return -1;
    }

    // Frees the slot; its bytes stay untouched until the slot is reused, which is what keeps returned spans valid.
    private void Release(int s)
    {
        _bufferedBytes -= _slots[s].BufferedBytes;
        _slots[s].InUse = false;
        _slots[s].BufferedBytes = 0;
        InProgress--;
    }
}

/// <summary>What <see cref="FragmentReassembler{TKey}.Add"/> decided; on Complete, the datagram (writable, valid until the next call).</summary>
internal readonly ref struct FragmentResult
{
    internal FragmentResult(Ipv4ReassemblyStatus status, Span<byte> datagram = default, int headerBytes = 0)
    {
        Status = status;
        Datagram = datagram;
        HeaderBytes = headerBytes;
    }

    public Ipv4ReassemblyStatus Status { get; }

    public Span<byte> Datagram { get; }

    public int HeaderBytes { get; }
}

/// <summary>A datagram given up on: its key and the quote for a Time Exceeded (empty without fragment zero).</summary>
internal readonly ref struct FragmentTimeout<TKey>
{
    internal FragmentTimeout(TKey key, ReadOnlySpan<byte> icmpQuote)
    {
        Key = key;
        IcmpQuote = icmpQuote;
    }

    public TKey Key { get; }

    public ReadOnlySpan<byte> IcmpQuote { get; }
}

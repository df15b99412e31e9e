namespace Skiff;

/// <summary>
/// A bounded burst of frames on their way out of one port (DPDK's <c>rte_eth_dev_tx_buffer</c>): the stage that sends
/// (the stack's egress, a hook's Tx verdict, a generator) adds frames one by one; its owner, the engine, flushes it
/// through the port's TX hooks and egress stage to the device a burst at a time. When it is full,
/// <see cref="TryAdd"/> first asks the flusher given at construction to make room, as <c>rte_eth_tx_buffer</c> sends
/// when its buffer fills; if there is still none, the frame stays with the caller (back-pressure, not a drop).
/// </summary>
/// <remarks>
/// <para>Ownership: a frame <see cref="TryAdd"/> accepted belongs to the buffer until <see cref="RemoveFirst"/> hands
/// it on; <see cref="FreeAll"/> returns what is left to its pool.</para>
/// <para>Cost: adding is an array store; the flusher is called once per burst, never per frame.</para>
/// <para>Thread-safety: one thread (the engine loop that owns the port).</para>
/// </remarks>
public sealed class TxBuffer
{
    private readonly PacketBuffer[] _frames;
    private readonly ITxBufferFlusher? _flusher;
    private int _count;

    /// <summary>A buffer of <paramref name="capacity"/> frames for a port that offloads what <paramref name="capabilities"/> says.</summary>
    /// <param name="capacity">Frames it holds (at least 1).</param>
    /// <param name="capabilities">What the port it leads to can do; senders read <see cref="DeviceCapabilities.TxChecksum"/> from it.</param>
    /// <param name="flusher">Called when the buffer is full and a frame is added; null: a full buffer refuses.</param>
    public TxBuffer(int capacity, DeviceCapabilities capabilities, ITxBufferFlusher? flusher = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _frames = new PacketBuffer[capacity];
        Capabilities = capabilities;
        _flusher = flusher;
    }

    /// <summary>What the port behind this buffer can do (MTU, transmit checksum offloads).</summary>
    public DeviceCapabilities Capabilities { get; set; }

    /// <summary>
    /// The egress stage behind this buffer, when it queues frames per sender (a qdisc): TCP asks it before building data
    /// segments (TCP small queues). Null: frames go straight to the device. Set by the buffer's owner (the engine).
    /// </summary>
    public IEgressBacklog? Backlog { get; set; }

    /// <summary>Frames held.</summary>
    public int Count => _count;

    /// <summary>Frames it can hold.</summary>
    public int Capacity => _frames.Length;

    /// <summary>The frames held, oldest first. They still belong to the buffer.</summary>
    public Span<PacketBuffer> Frames => _frames.AsSpan(0, _count);

    /// <summary>
    /// True if a frame can be added now; when the buffer is full it asks the flusher first. Senders that must build a
    /// frame before adding it (TCP segments) ask here first so that they do not build what cannot leave.
    /// </summary>
    public bool HasRoom()
    {
        if (_count == _frames.Length && _flusher is not null)
        {
            _flusher.Flush(this);
        }
        return _count < _frames.Length;
    }

    /// <summary>Adds <paramref name="frame"/> (ownership passes) and returns true; false when it is full even after a flush (the caller keeps the frame).</summary>
    public bool TryAdd(PacketBuffer frame)
    {
        ArgumentNullException.ThrowIfNull(frame);
        if (_count == _frames.Length && !HasRoom())
        {
            return false;
        }
        _frames[_count++] = frame;
        return true;
    }

    /// <summary>Removes the first <paramref name="count"/> frames, which the caller has handed on (sent, freed, queued); the rest move to the front.</summary>
    public void RemoveFirst(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, _count);
        int rest = _count - count;
        Array.Copy(_frames, count, _frames, 0, rest);
        Array.Clear(_frames, rest, count);
        _count = rest;
    }

    /// <summary>Keeps the first <see cref="Count"/> minus <paramref name="count"/> frames: the caller took the last <paramref name="count"/> out of <see cref="Frames"/> and handed them on.</summary>
    public void RemoveLast(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, _count);
        Array.Clear(_frames, _count - count, count);
        _count -= count;
    }

    /// <summary>Returns every frame held to its pool (shutdown).</summary>
    public void FreeAll()
    {
        for (int i = 0; i < _count; i++)
        {
            _frames[i].Free();
            _frames[i] = null!;
        }
        _count = 0;
    }
}

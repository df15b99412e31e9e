using Skiff.Stack.Tcp;

namespace Skiff.Stack;

/// <summary>
/// TCP small queues (Linux's TSQ, tcp_small_queue_check): when the output leads to an egress stage that queues frames
/// (<see cref="TxBuffer.Backlog"/>, a qdisc), a socket builds another data segment only while fewer than
/// <see cref="IEgressBacklog.LimitBytes"/> of its bytes wait below it, in the qdisc or in the output not yet flushed into
/// it. The rest stays unsent in the socket, so a bulk sender does not build a standing queue in its own qdisc (where a
/// sparse flow would wait behind it and the qdisc's limit or AQM would drop it as if the network had). Segments without
/// data (ACKs, SYN, RST, a bare FIN) are never held. Frames carry the socket's hash (<see cref="PacketBuffer.RssHash"/>,
/// Linux's sk_txhash) so the stage can count them per socket.
/// </summary>
public sealed partial class Interface
{
    /// <summary>Sender hash buckets of the bytes added to the output since its last flush (a power of two).</summary>
    private const int SmallQueueBuckets = 1024;

    private int[]? _unflushedBytes; // by sender hash bucket: stamped bytes added to the output since it was last flushed
    private int[]? _unflushedEpoch; // the epoch each bucket's count belongs to; older counts read as 0
    private int _smallQueueEpoch;
    private int _outputCountAfterEmit; // the output's frame count after the last TCP emit: fewer now means it was flushed
    private bool _smallQueueThrottled; // a data segment was held back during this Transmit
    private uint _lastThrottledHash;   // the last connection held back

    /// <summary>The hash TCP stamps on its frames: the connection's, never 0.</summary>
    private static uint TxHashOf(in TcpTuple tuple) => (uint)tuple.TableHash() | 0x8000_0000u;

    /// <summary>Start of a Transmit: the engine flushed the output since the last one, and nothing is held back yet.</summary>
    private void ResetSmallQueues()
    {
        _smallQueueEpoch++;
        _outputCountAfterEmit = 0;
        _smallQueueThrottled = false;
    }

    /// <summary>True if a data segment of the connection stamped <paramref name="txHash"/> may be built now.</summary>
    private bool SmallQueueHasRoom(IEgressBacklog backlog, uint txHash)
    {
        if (_unflushedBytes is null)
        {
            _unflushedBytes = new int[SmallQueueBuckets]; // once per interface, the first time an output has a qdisc
            _unflushedEpoch = new int[SmallQueueBuckets];
        }
        if (_output.Count < _outputCountAfterEmit)
        {
            _smallQueueEpoch++; // the output was flushed into the egress stage, which counts those bytes now
        }
        int bucket = (int)(txHash & (SmallQueueBuckets - 1));
        int unflushed = _unflushedEpoch![bucket] == _smallQueueEpoch ? _unflushedBytes[bucket] : 0;
        if (backlog.QueuedBytes(txHash) + unflushed < backlog.LimitBytes)
        {
            return true;
        }
        Counters.TcpSmallQueueThrottles++;
        _smallQueueThrottled = true;
        _lastThrottledHash = txHash;
        return false;
    }

    /// <summary>
    /// True when the sockets held back this Transmit may wait for the engine to wake at the egress stage's next departure:
    /// the last one held back still has bytes queued there, so the qdisc is not empty and will let a frame go. Otherwise
    /// (the qdisc dropped them all) the loop polls again at once.
    /// </summary>
    private bool HeldBackWaitForEgress => _smallQueueThrottled && _output.Backlog is IEgressBacklog backlog && backlog.QueuedBytes(_lastThrottledHash) > 0;

    /// <summary>After a TCP frame stamped <paramref name="txHash"/> of <paramref name="bytes"/> went to the output.</summary>
    private void ChargeSmallQueue(uint txHash, int bytes)
    {
        if (_unflushedBytes is not null)
        {
            int bucket = (int)(txHash & (SmallQueueBuckets - 1));
            if (_unflushedEpoch![bucket] != _smallQueueEpoch)
            {
                _unflushedEpoch[bucket] = _smallQueueEpoch;
                _unflushedBytes[bucket] = 0;
            }
            _unflushedBytes[bucket] += bytes;
        }
        _outputCountAfterEmit = _output.Count;
    }
}

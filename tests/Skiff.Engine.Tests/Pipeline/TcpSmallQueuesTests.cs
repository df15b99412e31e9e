using Skiff.QDisc;
using Skiff.QDisc.Spec;
using Skiff.Stack;
using Skiff.Stack.Tcp;

namespace Skiff.Engine.Tests.Pipeline;

/// <summary>
/// TCP small queues on the manual clock: the engine's stack sends a bulk transfer to the peer through a slow shaper on its
/// own egress (docs/qdisc.md, "TCP small queues"). The sender keeps its unsent data in the socket: the qdisc holds a few
/// segments at most, drops nothing, and TCP never retransmits, while the transfer still runs at the shaped rate.
/// </summary>
public sealed class TcpSmallQueuesTests
{
    private const ushort Port = 5001;

    [Theory]
    [InlineData("fq_codel", 20_000_000)] // --shape 20mbit
    [InlineData("pfifo limit 1000", 20_000_000)] // --shape 20mbit --qdisc 'pfifo limit 1000': the bufferbloat setting
    [InlineData("fq_codel", 2_000_000)] // slow enough that a few segments would already exceed CoDel's 5 ms target
    public void A_bulk_sender_over_a_slow_shaper_keeps_the_qdisc_backlog_to_a_few_segments_and_loses_nothing(string below, long bitsPerSecond)
    {
        using PipelineRig rig = new();
        QueueDiscipline root = QDiscSpec.Shape(new Rate(bitsPerSecond), QDiscSpec.Parse(below)).Build();
        rig.Engine.SetEgressQDisc(0, root);
        int total = (int)(bitsPerSecond / 8 / 2); // half a second of the rate
        Transfer transfer = new(rig, total);

        long maxBacklog = 0;
        int rounds = 0;
        int idealRounds = (int)(total * 8L * 1000 / bitsPerSecond); // ms at the rate, headers aside
        while (transfer.Received < total && rounds < 4 * idealRounds + 500)
        {
            transfer.Step();
            maxBacklog = Math.Max(maxBacklog, root.BacklogBytes);
            rounds++;
        }

        Assert.Equal(total, transfer.Received);
        Assert.Equal(0, root.Statistics.Dropped);
        Assert.Equal(0, transfer.Sender.Counters.Retransmissions);
        Assert.True(rig.Interface.Counters.TcpSmallQueueThrottles > 0, "TCP small queues never held data back");
        // A few segments: the limit is two full frames (1 ms of these rates is less), plus the segment in flight to the qdisc.
        Assert.True(maxBacklog <= 4 * 1514, $"the qdisc held up to {maxBacklog} bytes of the bulk transfer");
        // Still at the rate (the shaper counts whole frames: 1514 bytes carry 1460 or fewer): no stall waiting for a wake-up.
        Assert.True(rounds <= idealRounds * 1.25 + 100, $"{total} bytes took {rounds} ms; at the rate {idealRounds} ms");
    }

    [Fact]
    public void Without_a_qdisc_nothing_is_held_back()
    {
        using PipelineRig rig = new();
        Transfer transfer = new(rig, 1_000_000);
        for (int i = 0; i < 2000 && transfer.Received < 1_000_000; i++)
        {
            transfer.Step();
        }
        Assert.Equal(1_000_000, transfer.Received);
        Assert.Equal(0, rig.Interface.Counters.TcpSmallQueueThrottles);
    }

    /// <summary>A connection from the engine's stack to the peer, filled by the engine's side and drained by the peer's, a millisecond a step.</summary>
    private sealed class Transfer
    {
        private readonly PipelineRig _rig;
        private readonly TcpListener _listener;
        private readonly int _total;
        private readonly byte[] _chunk = new byte[16384];
        private TcpSocket? _receiver;
        private int _sent;

        public Transfer(PipelineRig rig, int total)
        {
            _rig = rig;
            _total = total;
            _listener = rig.Peer.Tcp.Listen(Port);
            SocketHandle handle = rig.Interface.Tcp.Connect(rig.Clock.Now, PipelineRig.EngineAddress, PipelineRig.PeerAddress, Port);
            Sender = rig.Interface.Tcp.Get(handle);
        }

        public TcpSocket Sender { get; }

        public int Received { get; private set; }

        /// <summary>The peer, then the engine (its qdisc included), then the peer again, at this instant; then a millisecond passes.</summary>
        public void Step()
        {
            if (Sender.IsConnected)
            {
                while (_sent < _total && Sender.CanSend)
                {
                    _sent += Sender.Send(_chunk.AsSpan(0, Math.Min(_chunk.Length, _total - _sent)));
                }
            }
            if (_receiver is null && _rig.Peer.Tcp.TryAccept(_listener, out SocketHandle accepted))
            {
                _receiver = _rig.Peer.Tcp.Get(accepted);
            }
            while (_receiver is not null && _receiver.TryPeek(out ReadOnlySpan<byte> data))
            {
                Received += data.Length;
                _receiver.Consume(data.Length);
            }
            _rig.Round();
        }
    }
}

using Skiff.Stack.Tcp;
using Skiff.Wire;

namespace Skiff.Stack.Tests.Tcp.Conformance;

/// <summary>
/// One <see cref="TcpLayer"/> driven directly with hand-built segments and a manual clock, as smoltcp's
/// socket tests and gVisor's packetimpact do: the test plays the peer (<see cref="TcpPeer"/>) and asserts
/// on the exact segments the stack emits. Payloads travel in buffers from <see cref="Pool"/>, so a test
/// can check that every buffer came back.
/// </summary>
internal sealed class TcpHarness : IDisposable
{
    public static readonly Ipv4Address LocalAddress = new(10, 0, 0, 1);
    public static readonly Ipv4Address RemoteAddress = new(10, 0, 0, 2);
    public const int LocalMss = 1460;
    public const ushort ServerPort = 80;
    public static readonly UInt128 SecretKey = 0x0123_4567_89AB_CDEF;

    public TcpHarness(TcpLayerOptions? options = null, int poolFrames = 4096)
    {
        Pool = new PacketPool(poolFrames);
        Layer = new TcpLayer(options ?? new TcpLayerOptions(), LocalMss, SecretKey);
    }

    public TcpLayer Layer { get; }

    public PacketPool Pool { get; }

    /// <summary>The manual clock: only tests move it.</summary>
    public Instant Now { get; set; } = Instant.FromMillis(10_000);

    /// <summary>Every segment emitted since the harness was made, in order.</summary>
    public List<EmittedSegment> AllSent { get; } = new();

    public void Advance(Duration d) => Now += d;

    /// <summary>Feeds one segment from <paramref name="source"/> (the peer) with a payload copied into a pool buffer; frees the buffer if the stack did not take it.</summary>
    public bool Deliver(in TcpRepr seg, ReadOnlySpan<byte> payload = default, Ipv4Address? source = null)
    {
        PacketBuffer? buffer = null;
        if (!payload.IsEmpty)
        {
            Assert.True(Pool.TryAllocate(out buffer), "test pool exhausted");
            Assert.True(buffer.TryAppend(payload.Length));
            payload.CopyTo(buffer.Data);
        }
        bool taken = Layer.Process(Now, source ?? RemoteAddress, LocalAddress, seg with { PayloadLength = payload.Length }, buffer);
        if (!taken)
        {
            buffer?.Free();
        }
        return taken;
    }

    /// <summary>Collects what the layer sends now (no timers fired).</summary>
    public List<EmittedSegment> Dispatch(int budget = 10_000)
    {
        List<EmittedSegment> sent = new();
        RecordingEmitter emitter = new(sent);
        Layer.Dispatch(Now, ref emitter, budget);
        AllSent.AddRange(sent);
        return sent;
    }

    /// <summary>Fires due timers, then dispatches.</summary>
    public List<EmittedSegment> Poll()
    {
        Layer.OnTimers(Now);
        return Dispatch();
    }

    /// <summary>Moves the clock to <paramref name="at"/> and polls.</summary>
    public List<EmittedSegment> PollAt(Instant at)
    {
        Now = at;
        return Poll();
    }

    /// <summary>Dispatches and expects exactly one segment.</summary>
    public EmittedSegment DispatchOne()
    {
        List<EmittedSegment> sent = Dispatch();
        Assert.True(sent.Count == 1, $"expected one segment, got {sent.Count}: {string.Join("; ", sent)}");
        return sent[0];
    }

    /// <summary>A peer at <see cref="RemoteAddress"/>:<paramref name="port"/> talking to our <paramref name="localPort"/>.</summary>
    public TcpPeer Peer(ushort port = 40_000, ushort localPort = ServerPort, uint iss = 1_000_000) => new(this, port, localPort, iss);

    /// <summary>
    /// Active open from local port <paramref name="localPort"/> to <paramref name="peer"/>: checks the SYN,
    /// answers with the peer's SYN-ACK and checks our ACK. Returns the ESTABLISHED socket.
    /// </summary>
    public TcpSocket OpenActive(TcpPeer peer, TcpConfig? config = null)
    {
        peer.Handle = Layer.Connect(Now, LocalAddress, RemoteAddress, peer.Port, config, peer.LocalPort);
        EmittedSegment syn = DispatchOne();
        Assert.Equal(TcpFlags.Syn, syn.Flags);
        peer.OnSyn(syn);
        Deliver(peer.SynAck());
        peer.Nxt = peer.Iss + 1;
        EmittedSegment ack = DispatchOne();
        Assert.Equal(TcpFlags.Ack, ack.Flags);
        peer.Observe(ack);
        TcpSocket s = Layer.Get(peer.Handle);
        Assert.Equal(TcpState.Established, s.State);
        return s;
    }

    /// <summary>
    /// Active open, then the active close into TIME-WAIT: our FIN, the peer's ACK of it, the peer's FIN, and our ACK
    /// (dispatched). Returns the socket, which the application still holds.
    /// </summary>
    public TcpSocket OpenActiveIntoTimeWait(TcpPeer peer, TcpConfig? config = null)
    {
        TcpSocket s = OpenActive(peer, config);
        s.Close();
        peer.AckAll([DispatchOne()]);
        peer.SendFin();
        Dispatch();
        Assert.Equal(TcpState.TimeWait, s.State);
        return s;
    }

    /// <summary>Passive open: the peer's SYN to <paramref name="listener"/>, our SYN-ACK, the peer's ACK, accept.</summary>
    public TcpSocket OpenPassive(TcpListener listener, TcpPeer peer)
    {
        Deliver(peer.Syn());
        EmittedSegment synAck = DispatchOne();
        Assert.Equal(TcpFlags.Syn | TcpFlags.Ack, synAck.Flags);
        Assert.Equal(peer.Iss + 1, synAck.Ack);
        peer.OnSyn(synAck);
        peer.Nxt = peer.Iss + 1;
        Deliver(peer.AckSegment());
        Assert.Empty(Dispatch());
        Assert.True(Layer.TryAccept(listener, out SocketHandle h));
        peer.Handle = h;
        TcpSocket s = Layer.Get(h);
        Assert.Equal(TcpState.Established, s.State);
        return s;
    }

    /// <summary>A deterministic payload.</summary>
    public static byte[] Bytes(int length, int seed = 1)
    {
        byte[] b = new byte[length];
        new Random(seed).NextBytes(b);
        return b;
    }

    /// <summary>Releases every handle the peers hold, runs time forward until every connection is gone, and checks the pool came back whole.</summary>
    public void AssertAllReleased(params TcpPeer[] peers)
    {
        foreach (TcpPeer p in peers)
        {
            Layer.Release(p.Handle);
        }
        for (int i = 0; i < 200 && Layer.ConnectionCount > 0; i++)
        {
            PollAt(Now + Duration.FromSeconds(10));
        }
        Assert.Equal(0, Layer.ConnectionCount);
        Assert.Equal(0, Pool.InUse);
    }

    public void Dispose() => Pool.Dispose();
}

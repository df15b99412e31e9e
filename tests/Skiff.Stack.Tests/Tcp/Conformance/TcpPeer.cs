using Skiff.Stack.Tcp;
using Skiff.Wire;

namespace Skiff.Stack.Tests.Tcp.Conformance;

/// <summary>
/// The test's side of a connection: its sequence space and options, and builders for the segments it
/// sends. Fields are public so a test can forge anything (old timestamps, odd sequence numbers).
/// </summary>
internal sealed class TcpPeer(TcpHarness harness, ushort port, ushort localPort, uint iss)
{
    public TcpHarness Harness { get; } = harness;

    public ushort Port { get; } = port;

    public ushort LocalPort { get; } = localPort;

    /// <summary>The peer's ISS.</summary>
    public uint Iss { get; } = iss;

    /// <summary>The peer's SND.NXT: the sequence number of its next segment.</summary>
    public uint Nxt { get; set; } = iss;

    /// <summary>The peer's RCV.NXT: what it acknowledges.</summary>
    public uint RcvNxt { get; set; }

    /// <summary>The stack's ISS, learnt from its SYN or SYN-ACK.</summary>
    public uint StackIss { get; private set; }

    /// <summary>The raw window field the peer advertises.</summary>
    public ushort Window { get; set; } = 65535;

    // Options offered in the peer's SYN (or SYN-ACK).
    public ushort? Mss { get; set; } = 1460;

    public byte? WindowScale { get; set; } = 7;

    public bool SackPermitted { get; set; } = true;

    public bool Timestamps { get; set; } = true;

    /// <summary>The peer's TSval clock (moved by hand).</summary>
    public uint TsVal { get; set; } = 5_000;

    /// <summary>The TSecr the peer sends: the latest TSval seen from the stack.</summary>
    public uint TsEcr { get; set; }

    public SocketHandle Handle { get; set; }

    public TcpTuple Tuple => new(TcpHarness.LocalAddress, LocalPort, TcpHarness.RemoteAddress, Port);

    public TcpSocket Socket => Harness.Layer.Get(Handle);

    /// <summary>A segment from the peer with its current numbers (overridable).</summary>
    public TcpRepr Segment(TcpFlags flags, uint? seq = null, uint? ack = null, ushort? window = null, bool? timestamps = null)
    {
        TcpRepr r = new()
        {
            SourcePort = Port,
            DestinationPort = LocalPort,
            SequenceNumber = seq ?? Nxt,
            AcknowledgmentNumber = (flags & TcpFlags.Ack) != 0 ? ack ?? RcvNxt : 0,
            Flags = flags,
            WindowLength = window ?? Window,
        };
        if (timestamps ?? Timestamps)
        {
            r = r with { Timestamp = new TcpTimestamp(TsVal, TsEcr) };
        }
        return r;
    }

    public TcpRepr Syn() => SynOptions(Segment(TcpFlags.Syn, seq: Iss) with { Timestamp = Timestamps ? new TcpTimestamp(TsVal, 0) : null });

    public TcpRepr SynAck() => SynOptions(Segment(TcpFlags.Syn | TcpFlags.Ack, seq: Iss, ack: RcvNxt));

    private TcpRepr SynOptions(TcpRepr r) => r with { MaxSegmentSize = Mss, WindowScale = WindowScale, SackPermitted = SackPermitted };

    public TcpRepr AckSegment(uint? ack = null, ushort? window = null) => Segment(TcpFlags.Ack, ack: ack, window: window);

    /// <summary>Records the stack's SYN or SYN-ACK: its ISS, and what the peer now acknowledges.</summary>
    public void OnSyn(in EmittedSegment syn)
    {
        StackIss = syn.Seq;
        RcvNxt = syn.Seq + 1;
        Observe(syn);
    }

    /// <summary>Takes the TSval of a stack segment as the next TSecr.</summary>
    public void Observe(in EmittedSegment seg)
    {
        if (seg.Repr.Timestamp is TcpTimestamp ts)
        {
            TsEcr = ts.Value;
        }
    }

    /// <summary>Sends in-order data (ACK|PSH) and advances <see cref="Nxt"/>; returns whether the stack took the buffer.</summary>
    public bool SendData(ReadOnlySpan<byte> data, TcpFlags extra = TcpFlags.Psh)
    {
        bool taken = Harness.Deliver(Segment(TcpFlags.Ack | extra), data);
        Nxt += (uint)data.Length + ((extra & TcpFlags.Fin) != 0 ? 1u : 0u);
        return taken;
    }

    /// <summary>Sends data at an explicit sequence number (out of order, retransmission); <see cref="Nxt"/> is left alone.</summary>
    public bool SendDataAt(uint seq, ReadOnlySpan<byte> data, TcpFlags flags = TcpFlags.Ack) => Harness.Deliver(Segment(flags, seq: seq), data);

    /// <summary>Sends a FIN (with ACK) and advances <see cref="Nxt"/>.</summary>
    public void SendFin()
    {
        Harness.Deliver(Segment(TcpFlags.Fin | TcpFlags.Ack));
        Nxt++;
    }

    /// <summary>Acknowledges everything the stack sent so far in <paramref name="segments"/> (data and FIN).</summary>
    public void AckAll(IEnumerable<EmittedSegment> segments, ushort? window = null)
    {
        foreach (EmittedSegment s in segments)
        {
            uint end = s.Seq + (uint)s.Length + (s.Has(TcpFlags.Fin) ? 1u : 0u);
            if ((int)(end - RcvNxt) > 0)
            {
                RcvNxt = end;
            }
            Observe(s);
        }
        Harness.Deliver(AckSegment(window: window));
    }
}

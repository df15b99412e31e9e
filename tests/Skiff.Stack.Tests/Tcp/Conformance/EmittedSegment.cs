using Skiff.Stack.Tcp;
using Skiff.Wire;

namespace Skiff.Stack.Tests.Tcp.Conformance;

/// <summary>One segment the stack sent: its 4-tuple (seen from the stack), header and a copy of its payload.</summary>
internal readonly record struct EmittedSegment(TcpTuple Tuple, TcpRepr Repr, byte[] Payload)
{
    public TcpFlags Flags => Repr.Flags;

    public uint Seq => Repr.SequenceNumber;

    public uint Ack => Repr.AcknowledgmentNumber;

    public int Length => Payload.Length;

    public bool Is(TcpFlags flags) => Repr.Flags == flags;

    public bool Has(TcpFlags flag) => (Repr.Flags & flag) == flag;

    public override string ToString() => $"{Tuple.LocalPort}->{Tuple.RemotePort} [{Repr.Flags}] seq {Seq} ack {Ack} win {Repr.WindowLength} len {Payload.Length}";
}

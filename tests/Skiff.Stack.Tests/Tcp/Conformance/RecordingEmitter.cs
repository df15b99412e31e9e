using Skiff.Stack.Tcp;
using Skiff.Wire;

namespace Skiff.Stack.Tests.Tcp.Conformance;

/// <summary>An <see cref="ITcpEmitter"/> that records every segment (payload copied, both ring halves joined).</summary>
internal readonly struct RecordingEmitter(List<EmittedSegment> sent) : ITcpEmitter
{
    public bool TryEmit(in TcpTuple tuple, in TcpRepr repr, ReadOnlySpan<byte> payloadFirst, ReadOnlySpan<byte> payloadSecond)
    {
        byte[] payload = new byte[payloadFirst.Length + payloadSecond.Length];
        payloadFirst.CopyTo(payload);
        payloadSecond.CopyTo(payload.AsSpan(payloadFirst.Length));
        Assert.Equal(payload.Length, repr.PayloadLength);
        sent.Add(new EmittedSegment(tuple, repr, payload));
        return true;
    }
}

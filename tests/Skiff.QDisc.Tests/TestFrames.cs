using System.Buffers.Binary;
using Skiff.Wire;

namespace Skiff.QDisc.Tests;

/// <summary>Ethernet/IPv4/UDP frames of a chosen size, flow and TOS in a pool; the pool checks nothing leaks.</summary>
internal sealed class TestFrames : IDisposable
{
    public TestFrames(int frames = 8192) => Pool = new PacketPool(frames);

    public PacketPool Pool { get; }

    /// <summary>A UDP frame of <paramref name="length"/> bytes (Ethernet header included) of flow <paramref name="flow"/> (its source port), with <paramref name="tos"/>.</summary>
    public PacketBuffer Udp(int length = 1514, int flow = 1, byte tos = 0, uint source = 0x0A000001)
    {
        Assert.True(Pool.TryAllocate(out PacketBuffer? b), "The test pool ran out of frames.");
        Assert.True(b.TrySetLength(length));
        Span<byte> d = b.Data;
        d.Clear();
        d[0] = 0x02; d[5] = 0x02; d[6] = 0x02; d[11] = 0x01;
        BinaryPrimitives.WriteUInt16BigEndian(d[12..], 0x0800);
        Span<byte> ip = d[14..];
        ip[0] = 0x45;
        ip[1] = tos;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(length - 14));
        ip[8] = 64;
        ip[9] = 17;
        BinaryPrimitives.WriteUInt32BigEndian(ip[12..], source);
        BinaryPrimitives.WriteUInt32BigEndian(ip[16..], 0x0A000002);
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], Checksum.Compute(ip[..20]));
        BinaryPrimitives.WriteUInt16BigEndian(ip[20..], (ushort)(10000 + flow));
        BinaryPrimitives.WriteUInt16BigEndian(ip[22..], 9);
        BinaryPrimitives.WriteUInt16BigEndian(ip[24..], (ushort)(length - 34));
        return b;
    }

    /// <summary>The UDP source port minus 10000: the flow a frame was made for.</summary>
    public static int FlowOf(PacketBuffer frame) => BinaryPrimitives.ReadUInt16BigEndian(frame.Data[34..]) - 10000;

    /// <summary>Dequeues everything that may leave at <paramref name="now"/> and frees it; returns how many.</summary>
    public static int Drain(QueueDiscipline q, Instant now)
    {
        int n = 0;
        while (q.Dequeue(now) is PacketBuffer f)
        {
            f.Free();
            n++;
        }
        return n;
    }

    public void Dispose()
    {
        Assert.Equal(0, Pool.InUse);
        Pool.Dispose();
    }
}

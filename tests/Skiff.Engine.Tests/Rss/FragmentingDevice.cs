using System.Buffers.Binary;
using Skiff.Wire;

namespace Skiff.Engine.Tests.Rss;

/// <summary>
/// A test device in front of another: every IPv4 TCP frame it transmits that is longer than <paramref name="maxIpBytes"/>
/// leaves as IP fragments (as a host or router without DF would send it), the last fragment first for every second
/// datagram, so that the receiver's steering meets later fragments before their first one.
/// </summary>
internal sealed class FragmentingDevice(IDevice inner, int maxIpBytes) : IDevice
{
    private readonly PacketBuffer[] _out = new PacketBuffer[256];
    private ushort _identification = 1;

    public long DatagramsFragmented { get; private set; }

    public DeviceCapabilities Capabilities => inner.Capabilities;

    public PacketPool Pool => inner.Pool;

    public int ReceiveBurst(Span<PacketBuffer> buffers, Instant now) => inner.ReceiveBurst(buffers, now);

    public int TransmitBurst(ReadOnlySpan<PacketBuffer> buffers, Instant now)
    {
        int taken = 0;
        foreach (PacketBuffer frame in buffers)
        {
            int n = Split(frame, _out);
            int sent = inner.TransmitBurst(_out.AsSpan(0, n), now);
            for (int i = sent; i < n; i++)
            {
                _out[i].Free(); // the link is full: the datagram is lost, as on a wire
            }
            Array.Clear(_out, 0, n);
            taken++;
        }
        return taken;
    }

    private int Split(PacketBuffer frame, PacketBuffer[] into)
    {
        ReadOnlySpan<byte> data = frame.Data;
        if (data.Length < 34 || BinaryPrimitives.ReadUInt16BigEndian(data[12..]) != (ushort)EtherType.Ipv4 || data[14 + 9] != (byte)IpProtocol.Tcp
            || data.Length - 14 <= maxIpBytes)
        {
            into[0] = frame;
            return 1;
        }
        int headerLength = (data[14] & 0x0F) * 4;
        int payloadLength = BinaryPrimitives.ReadUInt16BigEndian(data[16..]) - headerLength;
        int chunk = (maxIpBytes - headerLength) & ~7;
        int count = 0;
        ushort id = _identification++;
        for (int offset = 0; offset < payloadLength; offset += chunk)
        {
            int length = Math.Min(chunk, payloadLength - offset);
            Assert.True(frame.Pool.TryAllocate(out PacketBuffer? piece));
            Assert.True(piece.TryAppend(14 + headerLength + length));
            Span<byte> p = piece.Data;
            data[..(14 + headerLength)].CopyTo(p);
            data.Slice(14 + headerLength + offset, length).CopyTo(p[(14 + headerLength)..]);
            Span<byte> ip = p[14..];
            BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(headerLength + length));
            BinaryPrimitives.WriteUInt16BigEndian(ip[4..], id);
            bool more = offset + length < payloadLength;
            BinaryPrimitives.WriteUInt16BigEndian(ip[6..], (ushort)((more ? 0x2000 : 0) | (offset / 8)));
            new Ipv4Packet(ip).FillChecksum();
            into[count++] = piece;
        }
        frame.Free();
        if (id % 2 == 0)
        {
            (into[0], into[count - 1]) = (into[count - 1], into[0]); // the last fragment first
        }
        DatagramsFragmented++;
        return count;
    }
}

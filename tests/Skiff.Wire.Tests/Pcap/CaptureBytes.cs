using System.Buffers.Binary;

namespace Skiff.Wire.Tests.Pcap;

/// <summary>Builds capture files by hand, in either byte order, to test readers against files no writer of ours makes.</summary>
internal sealed class CaptureBytes(bool bigEndian)
{
    private readonly List<byte> _bytes = [];

    public int Length => _bytes.Count;

    public CaptureBytes U16(int value)
    {
        Span<byte> b = stackalloc byte[2];
        if (bigEndian) BinaryPrimitives.WriteUInt16BigEndian(b, (ushort)value); else BinaryPrimitives.WriteUInt16LittleEndian(b, (ushort)value);
        _bytes.AddRange(b.ToArray());
        return this;
    }

    public CaptureBytes U32(uint value)
    {
        Span<byte> b = stackalloc byte[4];
        if (bigEndian) BinaryPrimitives.WriteUInt32BigEndian(b, value); else BinaryPrimitives.WriteUInt32LittleEndian(b, value);
        _bytes.AddRange(b.ToArray());
        return this;
    }

    public CaptureBytes U64(ulong value)
    {
        Span<byte> b = stackalloc byte[8];
        if (bigEndian) BinaryPrimitives.WriteUInt64BigEndian(b, value); else BinaryPrimitives.WriteUInt64LittleEndian(b, value);
        _bytes.AddRange(b.ToArray());
        return this;
    }

    public CaptureBytes Raw(params byte[] bytes)
    {
        _bytes.AddRange(bytes);
        return this;
    }

    public CaptureBytes Pad4()
    {
        while (_bytes.Count % 4 != 0) _bytes.Add(0);
        return this;
    }

    /// <summary>A pcapng block: type, length, body (padded), length; <paramref name="trailer"/> overrides the trailing length.</summary>
    public CaptureBytes Block(uint type, Action<CaptureBytes> body, uint? trailer = null)
    {
        CaptureBytes inner = new(bigEndian);
        body(inner);
        inner.Pad4();
        uint length = (uint)(inner.Length + 12);
        U32(type).U32(length).Raw([.. inner._bytes]).U32(trailer ?? length);
        return this;
    }

    public CaptureBytes SectionHeader() =>
        Block(0x0A0D0D0A, b => b.U32(0x1A2B3C4D).U16(1).U16(0).U64(ulong.MaxValue));

    public CaptureBytes InterfaceDescription(LinkTypeValue link, uint snap, byte? tsresol = null, string? name = null) =>
        Block(1, b =>
        {
            b.U16((int)link).U16(0).U32(snap);
            if (name is not null)
            {
                byte[] n = System.Text.Encoding.UTF8.GetBytes(name);
                b.U16(2).U16(n.Length).Raw(n).Pad4();
            }
            if (tsresol is byte r)
            {
                b.U16(9).U16(1).Raw(r).Pad4();
            }
            b.U16(0).U16(0);
        });

    public CaptureBytes EnhancedPacket(uint interfaceId, ulong ticks, byte[] data, uint? originalLength = null, uint? trailer = null) =>
        Block(6, b => b.U32(interfaceId).U32((uint)(ticks >> 32)).U32((uint)ticks).U32((uint)data.Length).U32(originalLength ?? (uint)data.Length).Raw(data), trailer);

    public CaptureBytes SimplePacket(uint originalLength, byte[] data) =>
        Block(3, b => b.U32(originalLength).Raw(data));

    public CaptureBytes PcapHeader(bool nanos, uint snap, uint link) =>
        U32(nanos ? 0xA1B23C4D : 0xA1B2C3D4).U16(2).U16(4).U32(0).U32(0).U32(snap).U32(link);

    public CaptureBytes PcapRecord(uint seconds, uint fraction, byte[] data, uint? originalLength = null) =>
        U32(seconds).U32(fraction).U32((uint)data.Length).U32(originalLength ?? (uint)data.Length).Raw(data);

    public byte[] ToArray() => [.. _bytes];

    public MemoryStream ToStream() => new(ToArray(), writable: false);
}

/// <summary>Link type numbers for hand-built files.</summary>
internal enum LinkTypeValue : ushort
{
    Ethernet = 1,
    Raw = 101,
}

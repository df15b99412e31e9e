using Skiff.Wire.Pcap;

namespace Skiff.Wire.Tests.Pcap;

public class PcapFileTests
{
    private const long T0 = 1_700_000_000_123_456_789; // 2023-11-14, nanoseconds

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void RoundTrip_GivesBackBytesTimesAndLengths(bool nanosecond)
    {
        MemoryStream file = new();
        byte[] a = CaptureAssert.Frame(60, 1), b = CaptureAssert.Frame(1514, 2), c = CaptureAssert.Frame(3, 3);
        using (PcapWriter writer = new(file, LinkType.Ethernet, nanosecond: nanosecond, leaveOpen: true))
        {
            writer.Write(a, T0);
            writer.Write(b, T0 + 1_000_000_001, originalLength: 9000);
            writer.Write(c, 0);
            Assert.Equal(3, writer.FramesWritten);
        }
        file.Position = 0;
        using ICaptureReader reader = CaptureAssert.OpenOk(file);
        Assert.Equal(CaptureFormat.Pcap, reader.Format);
        Assert.False(reader.IsBigEndian);
        Assert.Equal(nanosecond, ((PcapReader)reader).IsNanosecond);
        Assert.Equal(LinkType.Ethernet, reader.Interfaces[0].LinkType);
        Assert.Equal(PcapWriter.DefaultSnapLengthBytes, reader.Interfaces[0].SnapLengthBytes);
        List<CaptureAssert.Outcome> got = CaptureAssert.ReadAll(reader);
        long micros(long ns) => nanosecond ? ns : ns / 1000 * 1000;
        Assert.Equal(3, got.Count);
        Assert.Equal(new CaptureAssert.Outcome(WireError.Ok, micros(T0), 0, LinkType.Ethernet, 60, a), got[0] with { Data = a });
        Assert.Equal(a, got[0].Data);
        Assert.Equal(b, got[1].Data);
        Assert.Equal(9000, got[1].OriginalLength);
        Assert.Equal(micros(T0 + 1_000_000_001), got[1].TimestampNanos);
        Assert.Equal(c, got[2].Data);
        Assert.Equal(0, got[2].TimestampNanos);
    }

    [Fact]
    public void Writer_CutsFramesAtSnapLength_AndKeepsOriginalLength()
    {
        MemoryStream file = new();
        using (PcapWriter writer = new(file, snapLengthBytes: 64, leaveOpen: true))
        {
            writer.Write(CaptureAssert.Frame(100, 9), T0);
        }
        file.Position = 0;
        using ICaptureReader reader = CaptureAssert.OpenOk(file);
        Assert.True(reader.TryReadNext(out CaptureRecord r, out _));
        Assert.Equal(64, r.CapturedLength);
        Assert.Equal(100, r.OriginalLength);
        Assert.True(r.IsSnapped);
        Assert.Equal(CaptureAssert.Frame(100, 9).AsSpan(0, 64).ToArray(), r.Data.ToArray());
    }

    [Theory]
    [InlineData(false, 123_456u, 1_000_123_456_000L)]
    [InlineData(true, 123_456_789u, 1_000_123_456_789L)]
    public void BigEndianFile_IsRead(bool nanos, uint fraction, long expectedNanos)
    {
        byte[] data = CaptureAssert.Frame(42, 5);
        CaptureBytes file = new CaptureBytes(bigEndian: true).PcapHeader(nanos, 65535, 1).PcapRecord(1000, fraction, data, 100);
        using ICaptureReader reader = CaptureAssert.OpenOk(file.ToStream());
        Assert.True(reader.IsBigEndian);
        Assert.Equal(65535, reader.Interfaces[0].SnapLengthBytes);
        List<CaptureAssert.Outcome> got = CaptureAssert.ReadAll(reader);
        Assert.Single(got);
        Assert.Equal(expectedNanos, got[0].TimestampNanos);
        Assert.Equal(100, got[0].OriginalLength);
        Assert.Equal(data, got[0].Data);
    }

    [Fact]
    public void OtherLinkTypes_AreReported()
    {
        CaptureBytes file = new CaptureBytes(false).PcapHeader(false, 65535, 113 | (1u << 28)).PcapRecord(1, 0, [1, 2]);
        using ICaptureReader reader = CaptureAssert.OpenOk(file.ToStream());
        Assert.Equal(LinkType.LinuxSll, reader.Interfaces[0].LinkType);
        Assert.True(reader.TryReadNext(out CaptureRecord r, out _));
        Assert.Equal(LinkType.LinuxSll, r.LinkType);
    }

    [Fact]
    public void TruncatedRecord_GivesFramesBeforeItThenTruncated()
    {
        byte[] whole = new CaptureBytes(false).PcapHeader(false, 65535, 1).PcapRecord(1, 0, CaptureAssert.Frame(60, 1)).PcapRecord(2, 0, CaptureAssert.Frame(60, 2)).ToArray();
        using ICaptureReader reader = CaptureAssert.OpenOk(new MemoryStream(whole[..^10]));
        List<CaptureAssert.Outcome> got = CaptureAssert.ReadAll(reader);
        Assert.Equal([WireError.Ok, WireError.Truncated], got.Select(o => o.Error));
    }

    [Fact]
    public void TruncatedRecordHeader_IsTruncated()
    {
        byte[] whole = new CaptureBytes(false).PcapHeader(false, 65535, 1).PcapRecord(1, 0, [1, 2, 3]).ToArray();
        using ICaptureReader reader = CaptureAssert.OpenOk(new MemoryStream(whole[..(24 + 7)]));
        Assert.Equal([WireError.Truncated], CaptureAssert.ReadAll(reader).Select(o => o.Error));
    }

    [Fact]
    public void ImpossibleCapturedLength_IsBadFormat_AndAllocatesNothingHuge()
    {
        CaptureBytes file = new CaptureBytes(false).PcapHeader(false, 65535, 1).U32(1).U32(0).U32(0x7FFF_FFFF).U32(0x7FFF_FFFF);
        using ICaptureReader reader = CaptureAssert.OpenOk(file.ToStream());
        long before = GC.GetAllocatedBytesForCurrentThread();
        Assert.False(reader.TryReadNext(out _, out WireError error));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1024 * 1024);
        Assert.Equal(WireError.BadFormat, error);
        Assert.False(reader.CanContinue);
        Assert.False(reader.TryReadNext(out _, out error));
        Assert.Equal(WireError.Ok, error);
    }

    [Theory]
    [InlineData(new byte[0], WireError.Truncated)]
    [InlineData(new byte[] { 0xD4, 0xC3 }, WireError.Truncated)]
    [InlineData(new byte[] { (byte)'G', (byte)'E', (byte)'T', (byte)' ', 1, 2, 3 }, WireError.BadMagic)]
    [InlineData(new byte[] { 0xD4, 0xC3, 0xB2, 0xA1, 2, 0, 4, 0, 0, 0 }, WireError.Truncated)]
    [InlineData(new byte[] { 0xD4, 0xC3, 0xB2, 0xA1, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0, 0, 1, 0, 0, 0 }, WireError.BadVersion)]
    public void BadFileHeaders_GiveResultCodes(byte[] bytes, WireError expected)
    {
        Assert.Equal(expected, CaptureReader.TryOpen(new MemoryStream(bytes), out ICaptureReader? reader));
        Assert.Null(reader);
    }

    [Fact]
    public void Open_ThrowsASentence_ForANonCapture()
    {
        InvalidDataException e = Assert.Throws<InvalidDataException>(() => CaptureReader.Open(new MemoryStream("hello, world"u8.ToArray())));
        Assert.Contains("not a pcap or pcapng", e.Message);
    }

    [Fact]
    public void WritingAndReading_DoNotAllocatePerFrame()
    {
        byte[] frame = CaptureAssert.Frame(1514, 4);
        MemoryStream file = new(16 * 1024 * 1024);
        using PcapWriter writer = new(file, leaveOpen: true);
                long n = 0;
        Assert.Equal(0, Skiff.TestSupport.Allocations.LeastPerRound(() => writer.Write(frame, T0 + n++)));
        writer.Dispose();

        file.Position = 0;
        using ICaptureReader reader = CaptureAssert.OpenOk(file);
        int frames = 0;
        Assert.Equal(0, Skiff.TestSupport.Allocations.LeastPerRound(() =>
        {
            if (!reader.TryReadNext(out CaptureRecord r, out _))
            {
                throw new InvalidOperationException("the capture ended early");
            }
            frames += r.CapturedLength == 1514 ? 1 : 0;
        }));
        Assert.Equal(7000, frames);
    }
}

using Skiff.Wire.Pcap;

namespace Skiff.Wire.Tests.Pcap;

public class PcapNgFileTests
{
    private const long T0 = 1_700_000_000_123_456_789;

    [Fact]
    public void RoundTrip_TwoInterfaces_MicroAndNanoseconds_WithStatistics()
    {
        MemoryStream file = new();
        byte[] a = CaptureAssert.Frame(60, 1), b = CaptureAssert.Frame(1514, 2), c = CaptureAssert.Frame(61, 3);
        using (PcapNgWriter writer = new(file, leaveOpen: true))
        {
            int eth0 = writer.AddInterface(LinkType.Ethernet, "eth0");
            int raw = writer.AddInterface(LinkType.Raw, "tun0", snapLengthBytes: 100, nanosecond: true);
            writer.Write(a, T0, eth0);
            writer.Write(b, T0 + 1, raw);
            writer.Write(c, T0 + 2, eth0, originalLength: 70);
            writer.AddDrops(raw, 5);
            Assert.Equal(3, writer.FramesWritten);
        }
        Assert.Equal(0, file.Length % 4);
        file.Position = 0;
        using ICaptureReader reader = CaptureAssert.OpenOk(file);
        Assert.Equal(CaptureFormat.PcapNg, reader.Format);
        List<CaptureAssert.Outcome> got = CaptureAssert.ReadAll(reader);
        Assert.Equal(3, got.Count);
        Assert.All(got, o => Assert.Equal(WireError.Ok, o.Error));

        Assert.Equal((T0 / 1000) * 1000, got[0].TimestampNanos);
        Assert.Equal((0, LinkType.Ethernet, 60), (got[0].InterfaceId, got[0].LinkType, got[0].OriginalLength));
        Assert.Equal(a, got[0].Data);

        Assert.Equal(T0 + 1, got[1].TimestampNanos);
        Assert.Equal((1, LinkType.Raw, 1514), (got[1].InterfaceId, got[1].LinkType, got[1].OriginalLength));
        Assert.Equal(b.AsSpan(0, 100).ToArray(), got[1].Data);

        Assert.Equal(70, got[2].OriginalLength);
        Assert.Equal(c, got[2].Data);

        Assert.Equal(2, reader.Interfaces.Count);
        Assert.Equal("eth0", reader.Interfaces[0].Name);
        Assert.Equal(1_000_000, reader.Interfaces[0].TimestampUnitsPerSecond);
        Assert.Equal(1_000_000_000, reader.Interfaces[1].TimestampUnitsPerSecond);
        Assert.Equal(100, reader.Interfaces[1].SnapLengthBytes);
        Assert.Equal((2UL, 0UL), (reader.Interfaces[0].ReceivedPackets!.Value, reader.Interfaces[0].DroppedPackets!.Value));
        Assert.Equal((6UL, 5UL), (reader.Interfaces[1].ReceivedPackets!.Value, reader.Interfaces[1].DroppedPackets!.Value));
    }

    [Fact]
    public void Writer_AddsAnEthernetInterface_WhenNoneWasAdded()
    {
        MemoryStream file = new();
        using (PcapNgWriter writer = new(file, application: null, leaveOpen: true))
        {
            writer.Write(CaptureAssert.Frame(60, 1), T0);
        }
        file.Position = 0;
        using ICaptureReader reader = CaptureAssert.OpenOk(file);
        Assert.Single(CaptureAssert.ReadAll(reader));
        Assert.Equal(LinkType.Ethernet, Assert.Single(reader.Interfaces).LinkType);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void HandBuiltFile_EitherByteOrder_AllBlockKinds(bool bigEndian)
    {
        byte[] d1 = CaptureAssert.Frame(60, 1), d2 = CaptureAssert.Frame(50, 2), d3 = CaptureAssert.Frame(45, 3);
        CaptureBytes file = new CaptureBytes(bigEndian)
            .SectionHeader()
            .InterfaceDescription(LinkTypeValue.Ethernet, 48, tsresol: null, name: "veth0")        // microseconds by default; snaplen 48
            .Block(4, b => b.U16(1).U16(4).Raw(10, 0, 0, 1).Raw((byte)'h', 0).Pad4().U32(0))    // name resolution: skipped
            .InterfaceDescription(LinkTypeValue.Raw, 0, tsresol: 0x80 | 10)                      // 2^-10 s
            .EnhancedPacket(0, 1_000_000_500_000UL, d1.AsSpan(0, 48).ToArray(), originalLength: 60)
            .SimplePacket(50, d2)                                                                // interface 0, cut to snaplen 48
            .Block(0x0BAD, b => b.Raw(CaptureAssert.Frame(100, 0)))                             // unknown: skipped
            .EnhancedPacket(1, 3 * 1024 + 512, d3)
            .Block(5, b => b.U32(1).U32(0).U32(0).U16(4).U16(8).U64(1000).U16(5).U16(8).U64(7).U16(0).U16(0));
        using ICaptureReader reader = CaptureAssert.OpenOk(file.ToStream());
        Assert.Equal(bigEndian, reader.IsBigEndian);
        List<CaptureAssert.Outcome> got = CaptureAssert.ReadAll(reader);
        Assert.Equal(3, got.Count);
        Assert.All(got, o => Assert.Equal(WireError.Ok, o.Error));
        Assert.Equal(1_000_000_500_000_000L, got[0].TimestampNanos);
        Assert.Equal((60, 48), (got[0].OriginalLength, got[0].Data.Length));
        Assert.Equal((0L, 0, 50), (got[1].TimestampNanos, got[1].InterfaceId, got[1].OriginalLength));
        Assert.Equal(d2.AsSpan(0, 48).ToArray(), got[1].Data);
        Assert.Equal(3_500_000_000L, got[2].TimestampNanos);
        Assert.Equal(LinkType.Raw, got[2].LinkType);
        Assert.Equal(d3, got[2].Data);
        Assert.Equal("veth0", reader.Interfaces[0].Name);
        Assert.Equal(1024, reader.Interfaces[1].TimestampUnitsPerSecond);
        Assert.Equal((1000UL, 7UL), (reader.Interfaces[1].ReceivedPackets!.Value, reader.Interfaces[1].DroppedPackets!.Value));
    }

    [Fact]
    public void SecondSection_InOtherByteOrder_ResetsInterfaces()
    {
        byte[] little = new CaptureBytes(false).SectionHeader().InterfaceDescription(LinkTypeValue.Ethernet, 0).EnhancedPacket(0, 1, [1, 2, 3]).ToArray();
        byte[] big = new CaptureBytes(true).SectionHeader().InterfaceDescription(LinkTypeValue.Raw, 0).EnhancedPacket(0, 2, [4, 5]).ToArray();
        using ICaptureReader reader = CaptureAssert.OpenOk(new MemoryStream([.. little, .. big]));
        List<CaptureAssert.Outcome> got = CaptureAssert.ReadAll(reader);
        Assert.Equal([LinkType.Ethernet, LinkType.Raw], got.Select(o => o.LinkType));
        Assert.True(reader.IsBigEndian);
        Assert.Single(reader.Interfaces);
        Assert.Equal(2, ((PcapNgReader)reader).SectionCount);
    }

    [Fact]
    public void WrongTrailer_IsBadFormat_AndReadingGoesOn()
    {
        CaptureBytes file = new CaptureBytes(false).SectionHeader().InterfaceDescription(LinkTypeValue.Ethernet, 0)
            .EnhancedPacket(0, 1, [1, 2, 3, 4], trailer: 999)
            .EnhancedPacket(0, 2, [5, 6, 7, 8]);
        using ICaptureReader reader = CaptureAssert.OpenOk(file.ToStream());
        List<CaptureAssert.Outcome> got = CaptureAssert.ReadAll(reader);
        Assert.Equal([WireError.BadFormat, WireError.Ok], got.Select(o => o.Error));
        Assert.Equal([5, 6, 7, 8], got[1].Data);
    }

    [Fact]
    public void PacketOnUndescribedInterface_OrLongerThanItsBlock_IsBadFormat_AndReadingGoesOn()
    {
        CaptureBytes file = new CaptureBytes(false).SectionHeader().InterfaceDescription(LinkTypeValue.Ethernet, 0)
            .EnhancedPacket(7, 1, [1, 2, 3, 4])
            .Block(6, b => b.U32(0).U32(0).U32(0).U32(500).U32(500).Raw(1, 2, 3, 4))
            .SimplePacket(4, [9, 9, 9, 9]);
        using ICaptureReader reader = CaptureAssert.OpenOk(file.ToStream());
        Assert.Equal([WireError.BadFormat, WireError.BadFormat, WireError.Ok], CaptureAssert.ReadAll(reader).Select(o => o.Error));
    }

    [Fact]
    public void MalformedInterfaceOption_IsReported_AndTheInterfaceStillCounts()
    {
        CaptureBytes file = new CaptureBytes(false).SectionHeader()
            .Block(1, b => b.U16(1).U16(0).U32(0).U16(2).U16(200).Raw(1, 2, 3, 4))
            .EnhancedPacket(0, 1, [1, 2, 3, 4]);
        using ICaptureReader reader = CaptureAssert.OpenOk(file.ToStream());
        Assert.Equal([WireError.BadOptionLength, WireError.Ok], CaptureAssert.ReadAll(reader).Select(o => o.Error));
    }

    [Theory]
    [InlineData(13)]          // not a multiple of 4
    [InlineData(8)]           // shorter than any block
    [InlineData(0x7FFF_FFF0)] // absurd
    public void ImpossibleBlockLength_IsBadFormat_AndStops(uint length)
    {
        CaptureBytes file = new CaptureBytes(false).SectionHeader().InterfaceDescription(LinkTypeValue.Ethernet, 0)
            .U32(6).U32(length).U64(0).U64(0).EnhancedPacket(0, 1, [1, 2, 3, 4]);
        using ICaptureReader reader = CaptureAssert.OpenOk(file.ToStream());
        Assert.Equal([WireError.BadFormat], CaptureAssert.ReadAll(reader).Select(o => o.Error));
    }

    [Fact]
    public void TruncatedBlock_IsTruncated()
    {
        byte[] whole = new CaptureBytes(false).SectionHeader().InterfaceDescription(LinkTypeValue.Ethernet, 0)
            .EnhancedPacket(0, 1, CaptureAssert.Frame(60, 1)).EnhancedPacket(0, 2, CaptureAssert.Frame(60, 2)).ToArray();
        for (int cut = 1; cut < 92; cut += 7)
        {
            using ICaptureReader reader = CaptureAssert.OpenOk(new MemoryStream(whole[..^cut]));
            Assert.Equal([WireError.Ok, WireError.Truncated], CaptureAssert.ReadAll(reader).Select(o => o.Error));
        }
    }

    [Fact]
    public void BadSectionHeaders_GiveResultCodes()
    {
        byte[] badMagic = new CaptureBytes(false).Block(0x0A0D0D0A, b => b.U32(0x11223344).U16(1).U16(0).U64(0)).ToArray();
        byte[] badVersion = new CaptureBytes(false).Block(0x0A0D0D0A, b => b.U32(0x1A2B3C4D).U16(2).U16(0).U64(0)).ToArray();
        byte[] good = new CaptureBytes(false).SectionHeader().ToArray();
        Assert.Equal(WireError.BadMagic, CaptureReader.TryOpen(new MemoryStream(badMagic), out _));
        Assert.Equal(WireError.BadVersion, CaptureReader.TryOpen(new MemoryStream(badVersion), out _));
        Assert.Equal(WireError.Truncated, CaptureReader.TryOpen(new MemoryStream(good[..20]), out _));
        Assert.Equal(WireError.Ok, CaptureReader.TryOpen(new MemoryStream(good), out ICaptureReader? empty));
        Assert.Empty(CaptureAssert.ReadAll(empty!));
    }

    [Fact]
    public void MutatedFiles_NeverThrow_AndAlwaysEnd()
    {
        MemoryStream file = new();
        using (PcapNgWriter writer = new(file, leaveOpen: true))
        {
            writer.AddInterface(LinkType.Ethernet, "eth0");
            for (int i = 0; i < 8; i++) writer.Write(CaptureAssert.Frame(40 + i * 13, (byte)i), T0 + i);
        }
        byte[] original = file.ToArray();
        Random random = new(1234);
        for (int round = 0; round < 3000; round++)
        {
            byte[] mutated = (byte[])original.Clone();
            int flips = random.Next(1, 6);
            for (int f = 0; f < flips; f++) mutated[random.Next(mutated.Length)] = (byte)random.Next(256);
            if (random.Next(4) == 0) mutated = mutated[..random.Next(mutated.Length)];
            if (CaptureReader.TryOpen(new MemoryStream(mutated), out ICaptureReader? reader) == WireError.Ok)
            {
                using (reader!)
                {
                    CaptureAssert.ReadAll(reader!);
                }
            }
        }
    }

    [Fact]
    public void WritingAndReading_DoNotAllocatePerFrame()
    {
        byte[] frame = CaptureAssert.Frame(1514, 4);
        MemoryStream file = new(16 * 1024 * 1024);
        using PcapNgWriter writer = new(file, leaveOpen: true);
        int id = writer.AddInterface(LinkType.Ethernet, "eth0", nanosecond: true);
        long n = 0;
        Assert.Equal(0, Skiff.TestSupport.Allocations.LeastPerRound(() => writer.Write(frame, T0 + n++, id)));
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

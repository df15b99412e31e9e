using FsCheck;
using FsCheck.Fluent;
using Skiff.Wire;

namespace Skiff.Wire.Tests;

public class TcpTests
{
    // Real frames: a Linux 6.18 connect() between two network namespaces over veth (tx checksum offload
    // off so the kernel filled checksums), captured with `tcpdump -xx -vv`, which printed "cksum (correct)".
    // TCP header at byte 34 (Ethernet 14 + IPv4 20).
    // 10.77.0.1.41830 > 10.77.0.2.8080: Flags [S], cksum 0x9bbc, seq 3793255086, win 64240,
    //   options [mss 1460,sackOK,TS val 1487217744 ecr 0,nop,wscale 10], length 0
    internal const string SynHex =
        "be696af6dd657a46573c6da908004500003c659740004006c0880a4d00010a4d0002" +
        "a3661f90e2187aae00000000a002faf09bbc0000020405b40402080a58a52450000000000103030a";

    // 10.77.0.1.41830 > 10.77.0.2.8080: Flags [P.], cksum 0x9701, seq 1:6 (3793255087), ack 3345882585, win 63,
    //   options [nop,nop,TS val 1487217744 ecr 660790690], length 5 ("hello")
    internal const string DataHex =
        "be696af6dd657a46573c6da9080045000039659940004006c0890a4d00010a4d0002" +
        "a3661f90e2187aafc76e1dd98018003f970100000101080a58a524502762dda268656c6c6f";

    private static readonly Ipv4Address s_client = new(10, 77, 0, 1);
    private static readonly Ipv4Address s_server = new(10, 77, 0, 2);

    private static byte[] Syn() => Convert.FromHexString(SynHex)[34..];

    private static byte[] Data() => Convert.FromHexString(DataHex)[34..];

    private static uint Pseudo(int length) => Checksum.PseudoHeader(s_client, s_server, IpProtocol.Tcp, length);

    private static readonly TcpRepr s_synRepr = new()
    {
        SourcePort = 41830,
        DestinationPort = 8080,
        SequenceNumber = 3793255086,
        AcknowledgmentNumber = 0,
        Flags = TcpFlags.Syn,
        WindowLength = 64240,
        MaxSegmentSize = 1460,
        SackPermitted = true,
        Timestamp = new TcpTimestamp(1487217744, 0),
        WindowScale = 10,
        PayloadLength = 0,
    };

    private static readonly TcpRepr s_dataRepr = new()
    {
        SourcePort = 41830,
        DestinationPort = 8080,
        SequenceNumber = 3793255087,
        AcknowledgmentNumber = 3345882585,
        Flags = TcpFlags.Psh | TcpFlags.Ack,
        WindowLength = 63,
        Timestamp = new TcpTimestamp(1487217744, 660790690),
        PayloadLength = 5,
    };

    [Fact]
    public void BytesToFields()
    {
        byte[] bytes = Syn();
        Assert.Equal(WireError.Ok, TcpSegment.TryCreate(bytes, out TcpSegment segment));
        Assert.Equal(41830, segment.SourcePort);
        Assert.Equal(8080, segment.DestinationPort);
        Assert.Equal(3793255086u, segment.SequenceNumber);
        Assert.Equal(0u, segment.AcknowledgmentNumber);
        Assert.Equal(40, segment.HeaderLength);
        Assert.Equal(TcpFlags.Syn, segment.Flags);
        Assert.Equal(64240, segment.WindowLength);
        Assert.Equal(0x9bbc, segment.Checksum);
        Assert.Equal(0, segment.UrgentPointer);
        Assert.Equal(20, segment.Options.Length);
        Assert.Equal(0, segment.Payload.Length);
        Assert.True(segment.VerifyChecksum(Pseudo(bytes.Length)));
        Assert.Equal(
            "41830 > 8080: Flags [S], cksum 0x9bbc, seq 3793255086, win 64240, options [mss 1460,sackOK,TS val 1487217744 ecr 0,nop,wscale 10], length 0",
            segment.ToString());
    }

    [Fact]
    public void FieldsToBytes()
    {
        byte[] bytes = new byte[40];
        var segment = new TcpSegment(bytes)
        {
            SourcePort = 41830,
            DestinationPort = 8080,
            SequenceNumber = 3793255086,
            AcknowledgmentNumber = 0,
            HeaderLength = 40,
            Flags = TcpFlags.Syn,
            WindowLength = 64240,
            UrgentPointer = 0,
        };
        Syn().AsSpan(20, 20).CopyTo(segment.Options);
        segment.FillChecksum(Pseudo(40));
        Assert.Equal(Syn(), bytes);
    }

    [Fact]
    public void BytesToRepr()
    {
        byte[] bytes = Syn();
        Assert.Equal(WireError.Ok, TcpSegment.TryCreate(bytes, out TcpSegment segment));
        Assert.Equal(WireError.Ok, TcpRepr.TryParse(segment, Pseudo(bytes.Length), verifyChecksum: true, out TcpRepr repr));
        Assert.Equal(s_synRepr, repr);

        byte[] data = Data();
        Assert.Equal(WireError.Ok, TcpSegment.TryCreate(data, out segment));
        Assert.Equal(WireError.Ok, TcpRepr.TryParse(segment, Pseudo(data.Length), verifyChecksum: true, out repr));
        Assert.Equal(s_dataRepr, repr);
        Assert.Equal("hello"u8.ToArray(), segment.Payload.ToArray());
    }

    [Fact]
    public void ReprToBytes()
    {
        byte[] bytes = new byte[40];
        Assert.Equal(40, s_synRepr.HeaderLength);
        s_synRepr.Emit(new TcpSegment(bytes), Pseudo(40), fillChecksum: true);
        Assert.Equal(Syn(), bytes);
        Assert.Equal(
            "41830 > 8080: Flags [S], seq 3793255086, win 64240, options [mss 1460,sackOK,TS val 1487217744 ecr 0,nop,wscale 10], length 0",
            s_synRepr.ToString());
    }

    [Fact]
    public void ReprToBytes_PayloadAlreadyInPlace_IsChecksummed()
    {
        byte[] bytes = new byte[37];
        "hello"u8.CopyTo(bytes.AsSpan(32));
        Assert.Equal(32, s_dataRepr.HeaderLength);
        s_dataRepr.Emit(new TcpSegment(bytes), Pseudo(37), fillChecksum: true);
        Assert.Equal(Data(), bytes);

        s_dataRepr.Emit(new TcpSegment(bytes), Pseudo(37), fillChecksum: false);
        Assert.Equal(0, new TcpSegment(bytes).Checksum);
        Assert.Equal("hello"u8.ToArray(), bytes[32..]);
    }

    [Fact]
    public void OptionReader_YieldsEveryOptionInWireOrder()
    {
        byte[] bytes = Syn();
        var reader = new TcpSegment(bytes).ReadOptions();
        var kinds = new List<TcpOptionKind>();
        while (reader.MoveNext())
        {
            kinds.Add(reader.Current.Kind);
        }
        Assert.Equal(WireError.Ok, reader.Error);
        Assert.Equal(
            [TcpOptionKind.MaxSegmentSize, TcpOptionKind.SackPermitted, TcpOptionKind.Timestamp, TcpOptionKind.NoOperation, TcpOptionKind.WindowScale],
            kinds);
    }

    [Fact]
    public void Truncated_EveryPrefixOfTheSyn_ReturnsAnErrorAndNeverThrows()
    {
        byte[] bytes = Syn();
        for (int length = 0; length < bytes.Length; length++)
        {
            WireError expected = length < 20 ? WireError.Truncated : WireError.BadHeaderLength;
            Assert.Equal(expected, TcpSegment.TryCreate(bytes.AsSpan(0, length), out _));
            Assert.Equal(expected, TcpRepr.TryParse(new TcpSegment(bytes.AsSpan(0, length)), 0, true, out _));
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    [InlineData(11)]
    [InlineData(15)]
    public void ImpossibleDataOffset_IsBadHeaderLength(int words)
    {
        byte[] bytes = Syn();
        bytes[12] = (byte)(words << 4);
        Assert.Equal(WireError.BadHeaderLength, TcpSegment.TryCreate(bytes, out _));
        Assert.Equal(WireError.BadHeaderLength, TcpRepr.TryParse(new TcpSegment(bytes), 0, false, out _));
    }

    // Each is a full 20-byte options area (data offset 10) that must be rejected with BadOptionLength.
    [Theory]
    [InlineData("020305b4" + "01010101010101010101010101010101", "MSS length 3")]
    [InlineData("020505b400" + "010101010101010101010101010101", "MSS length 5")]
    [InlineData("0304010a" + "01010101010101010101010101010101", "window scale length 4")]
    [InlineData("030201" + "0101010101010101010101010101010101", "window scale length 2")]
    [InlineData("040301" + "0101010101010101010101010101010101", "SACK-permitted length 3")]
    [InlineData("0502" + "010101010101010101010101010101010101", "SACK with no block")]
    [InlineData("050b0000000100000002ff" + "010101010101010101", "SACK length 11")]
    [InlineData("0808000000010000" + "010101010101010101010101", "timestamps length 8")]
    [InlineData("0800" + "010101010101010101010101010101010101", "length 0")]
    [InlineData("fd01" + "010101010101010101010101010101010101", "unknown kind, length 1")]
    [InlineData("01010101010101010101010101010101010102ff", "length past the end")]
    [InlineData("0101010101010101010101010101010101010102", "kind with no length byte")]
    public void MalformedOptions_AreBadOptionLength(string optionsHex, string why)
    {
        byte[] bytes = Syn();
        Convert.FromHexString(optionsHex).CopyTo(bytes, 20);
        Assert.Equal(WireError.Ok, TcpSegment.TryCreate(bytes, out TcpSegment segment));
        Assert.True(WireError.BadOptionLength == TcpRepr.TryParse(segment, 0, false, out TcpRepr repr), why);
        Assert.Equal(default, repr);
    }

    [Fact]
    public void UnknownOptions_AreSkipped_AndEolStopsParsing()
    {
        byte[] bytes = Syn();
        // unknown kind 253 (RFC 6994 experiment) length 4, MSS 1400, EOL, then bytes that would be a bad MSS.
        Convert.FromHexString("fd04abcd02040578000204ffffffff0000000000").CopyTo(bytes, 20);
        Assert.Equal(WireError.Ok, TcpRepr.TryParse(new TcpSegment(bytes), 0, false, out TcpRepr repr));
        Assert.Equal((ushort)1400, repr.MaxSegmentSize);
        Assert.Null(repr.Timestamp);
        Assert.False(repr.SackPermitted);
        Assert.Contains("options [unknown-253 0xabcd,mss 1400,eol]", new TcpSegment(bytes).ToString());
    }

    [Fact]
    public void CorruptedByte_IsBadChecksum_OnlyWhenVerifying()
    {
        byte[] bytes = Data();
        bytes[^1] ^= 0x01;
        Assert.Equal(WireError.BadChecksum, TcpRepr.TryParse(new TcpSegment(bytes), Pseudo(bytes.Length), true, out _));
        Assert.Equal(WireError.Ok, TcpRepr.TryParse(new TcpSegment(bytes), Pseudo(bytes.Length), false, out _));
    }

    [Theory]
    [InlineData(TcpFlags.Syn | TcpFlags.Fin)]
    [InlineData(TcpFlags.Syn | TcpFlags.Rst | TcpFlags.Ack)]
    [InlineData(TcpFlags.Fin | TcpFlags.Rst)]
    public void ImpossibleFlagCombinations_AreBadFlags(TcpFlags flags)
    {
        byte[] bytes = Syn();
        bytes[13] = (byte)flags;
        Assert.Equal(WireError.BadFlags, TcpRepr.TryParse(new TcpSegment(bytes), 0, false, out _));
    }

    [Fact]
    public void NoFlags_IsPassedOnForTheStackToAnswer()
    {
        byte[] bytes = Syn();
        bytes[13] = 0;
        Assert.Equal(WireError.Ok, TcpRepr.TryParse(new TcpSegment(bytes), 0, false, out TcpRepr repr));
        Assert.Equal(TcpFlags.None, repr.Flags);
    }

    [Fact]
    public void SackBlocks_RoundTripAndFormatLikeTcpdump()
    {
        TcpSackBlocks blocks = default;
        Assert.True(blocks.TryAdd(1001, 2001));
        Assert.True(blocks.TryAdd(3001, 4001));
        Assert.True(blocks.TryAdd(5001, 6001));
        var repr = s_dataRepr with { SackBlocks = blocks, PayloadLength = 0 };
        Assert.Equal(20 + 12 + 4 + 24, repr.HeaderLength);
        byte[] bytes = new byte[repr.HeaderLength];
        repr.Emit(new TcpSegment(bytes), Pseudo(bytes.Length), true);
        Assert.Equal(WireError.Ok, TcpRepr.TryParse(new TcpSegment(bytes), Pseudo(bytes.Length), true, out TcpRepr parsed));
        Assert.Equal(repr, parsed);
        Assert.EndsWith("options [nop,nop,TS val 1487217744 ecr 660790690,nop,nop,sack 3 {1001:2001}{3001:4001}{5001:6001}], length 0", parsed.ToString());
    }

    [Fact]
    public void SackBlocks_ThatDoNotFit_AreLeftOut_HeaderStaysAt60()
    {
        TcpSackBlocks blocks = default;
        for (uint i = 0; i < 4; i++)
        {
            Assert.True(blocks.TryAdd(i * 100, i * 100 + 50));
        }
        Assert.False(blocks.TryAdd(1, 2));
        Assert.Equal(4, blocks.Count);
        Assert.Throws<ArgumentOutOfRangeException>(() => blocks[4]);

        var repr = s_synRepr with { Flags = TcpFlags.Ack, SackBlocks = blocks };
        Assert.Equal(60, repr.HeaderLength); // 20 + MSS 4 + sackOK/TS 12 + WS 4 + NOP NOP SACK 2 blocks 20
        byte[] bytes = new byte[60];
        repr.Emit(new TcpSegment(bytes), 0, true);
        Assert.Equal(WireError.Ok, TcpRepr.TryParse(new TcpSegment(bytes), 0, true, out TcpRepr parsed));
        Assert.Equal(2, parsed.SackBlocks.Count);
        Assert.Equal((100u, 150u), parsed.SackBlocks[1]);
    }

    [Fact]
    public void Emit_IntoTooSmallBuffer_ThrowsBeforeWriting()
    {
        byte[] bytes = new byte[39];
        Assert.Throws<ArgumentOutOfRangeException>(() => s_synRepr.Emit(new TcpSegment(bytes), 0, true));
        Assert.All(bytes, b => Assert.Equal(0, b));
    }

    private static TcpRepr RandomRepr(Random random)
    {
        TcpSackBlocks blocks = default;
        var repr = new TcpRepr
        {
            SourcePort = (ushort)random.Next(0, 0x10000),
            DestinationPort = (ushort)random.Next(0, 0x10000),
            SequenceNumber = (uint)random.NextInt64(0, 1L << 32),
            AcknowledgmentNumber = (uint)random.NextInt64(0, 1L << 32),
            // Any flags but two of SYN/FIN/RST together.
            Flags = (TcpFlags)(random.Next(0, 256) & ~0x07) | (TcpFlags)(new[] { 0, 1, 2, 4 }[random.Next(4)]),
            WindowLength = (ushort)random.Next(0, 0x10000),
            UrgentPointer = (ushort)random.Next(0, 0x10000),
            MaxSegmentSize = random.Next(2) == 0 ? null : (ushort)random.Next(0, 0x10000),
            WindowScale = random.Next(2) == 0 ? null : (byte)random.Next(0, 256),
            SackPermitted = random.Next(2) == 0,
            Timestamp = random.Next(2) == 0 ? null : new TcpTimestamp((uint)random.NextInt64(0, 1L << 32), (uint)random.NextInt64(0, 1L << 32)),
            PayloadLength = random.Next(0, 1500),
        };
        // Only as many SACK blocks as Emit keeps, so the property is about the mirror, not the truncation.
        int fixedOptions = repr.HeaderLength - 20;
        int room = Math.Min(4, Math.Max(0, (40 - fixedOptions - 4) / 8));
        for (int i = random.Next(0, room + 1); i > 0; i--)
        {
            blocks.TryAdd((uint)random.NextInt64(0, 1L << 32), (uint)random.NextInt64(0, 1L << 32));
        }
        return repr with { SackBlocks = blocks };
    }

    [Fact]
    public void ParseOfEmit_IsIdentity_Property()
    {
        Prop.ForAll(ArbMap.Default.ArbFor<int>(), seed =>
        {
            var random = new Random(seed);
            TcpRepr repr = RandomRepr(random);
            byte[] bytes = new byte[repr.HeaderLength + repr.PayloadLength];
            random.NextBytes(bytes);
            uint pseudo = (uint)random.Next(0, 0x10000);
            repr.Emit(new TcpSegment(bytes), pseudo, fillChecksum: true);
            return TcpSegment.TryCreate(bytes, out TcpSegment segment) == WireError.Ok
                && TcpRepr.TryParse(segment, pseudo, verifyChecksum: true, out TcpRepr parsed) == WireError.Ok
                && parsed == repr;
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void MutatedSegments_NeverThrow()
    {
        // Seeded mutation of the kernel frames: flip bytes, cut lengths; every outcome must be a WireError.
        var random = new Random(9293);
        byte[][] seeds = [Syn(), Data()];
        for (int i = 0; i < 200_000; i++)
        {
            byte[] bytes = (byte[])seeds[i & 1].Clone();
            for (int flips = random.Next(1, 6); flips > 0; flips--)
            {
                bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
            }
            Span<byte> span = bytes.AsSpan(0, random.Next(0, bytes.Length + 1));
            if (TcpSegment.TryCreate(span, out TcpSegment segment) == WireError.Ok)
            {
                TcpRepr.TryParse(segment, 0, verifyChecksum: (i & 2) != 0, out _);
                _ = segment.ToString();
            }
        }
    }
}

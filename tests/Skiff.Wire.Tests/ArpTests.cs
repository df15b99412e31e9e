using FsCheck;
using FsCheck.Fluent;
using Skiff.Wire;

namespace Skiff.Wire.Tests;

public class ArpTests
{
    // Linux 6.18 kernel ARP request and reply, captured with tcpdump on a veth pair between two network namespaces
    // (10.23.0.1 pinging 10.23.0.2); the Ethernet header is stripped.
    private static readonly byte[] s_request = Convert.FromHexString("000108000604000102000000000a0a1700010000000000000a170002");
    private static readonly byte[] s_reply = Convert.FromHexString("000108000604000202000000000b0a17000202000000000a0a170001");

    private static readonly ArpRepr s_requestRepr = new(
        ArpOperation.Request, MacAddress.Parse("02:00:00:00:00:0a"), Ipv4Address.Parse("10.23.0.1"), MacAddress.Zero, Ipv4Address.Parse("10.23.0.2"));

    [Fact]
    public void BytesToFields()
    {
        Assert.Equal(WireError.Ok, ArpPacket.TryCreate(s_request, out ArpPacket packet));
        Assert.Equal(1, packet.HardwareType);
        Assert.Equal(EtherType.Ipv4, packet.ProtocolType);
        Assert.Equal(6, packet.HardwareLength);
        Assert.Equal(4, packet.ProtocolLength);
        Assert.Equal(ArpOperation.Request, packet.Operation);
        Assert.Equal(MacAddress.Parse("02:00:00:00:00:0a"), packet.SenderHardwareAddress);
        Assert.Equal(Ipv4Address.Parse("10.23.0.1"), packet.SenderProtocolAddress);
        Assert.Equal(MacAddress.Zero, packet.TargetHardwareAddress);
        Assert.Equal(Ipv4Address.Parse("10.23.0.2"), packet.TargetProtocolAddress);
    }

    [Fact]
    public void FieldsToBytes()
    {
        var bytes = new byte[28];
        _ = new ArpPacket(bytes)
        {
            HardwareType = 1,
            ProtocolType = EtherType.Ipv4,
            HardwareLength = 6,
            ProtocolLength = 4,
            Operation = ArpOperation.Reply,
            SenderHardwareAddress = MacAddress.Parse("02:00:00:00:00:0b"),
            SenderProtocolAddress = Ipv4Address.Parse("10.23.0.2"),
            TargetHardwareAddress = MacAddress.Parse("02:00:00:00:00:0a"),
            TargetProtocolAddress = Ipv4Address.Parse("10.23.0.1"),
        };
        Assert.Equal(s_reply, bytes);
    }

    [Fact]
    public void BytesToRepr()
    {
        Assert.Equal(WireError.Ok, ArpPacket.TryCreate(s_request, out ArpPacket packet));
        Assert.Equal(WireError.Ok, ArpRepr.TryParse(packet, out ArpRepr repr));
        Assert.Equal(s_requestRepr, repr);
        Assert.Equal("ARP, Request who-has 10.23.0.2 tell 10.23.0.1", repr.ToString());
        Assert.Equal(WireError.Ok, ArpPacket.TryCreate(s_reply, out packet));
        Assert.Equal(WireError.Ok, ArpRepr.TryParse(packet, out repr));
        Assert.Equal("ARP, Reply 10.23.0.2 is-at 02:00:00:00:00:0b", repr.ToString());
    }

    [Fact]
    public void ReprToBytes()
    {
        var bytes = new byte[s_requestRepr.BufferLength];
        s_requestRepr.Emit(new ArpPacket(bytes));
        Assert.Equal(s_request, bytes);
    }

    [Fact]
    public void UnknownOperationIsPreserved()
    {
        byte[] bytes = (byte[])s_request.Clone();
        bytes[7] = 9;
        Assert.Equal(WireError.Ok, ArpPacket.TryCreate(bytes, out ArpPacket packet));
        Assert.Equal(WireError.Ok, ArpRepr.TryParse(packet, out ArpRepr repr));
        Assert.Equal((ArpOperation)9, repr.Operation);
    }

    [Theory]
    [InlineData(1, 6, WireError.BadHardwareType)] // hardware type 6 (IEEE 802)
    [InlineData(4, 8, WireError.BadHardwareType)] // hardware length 8
    [InlineData(2, 0x86, WireError.BadProtocolType)] // protocol 0x86DD
    [InlineData(5, 16, WireError.BadProtocolType)] // protocol length 16
    public void OtherHardwareOrProtocolIsRejected(int index, byte value, WireError expected)
    {
        byte[] bytes = new byte[64];
        s_request.CopyTo(bytes, 0);
        bytes[index] = value;
        Assert.Equal(WireError.Ok, ArpPacket.TryCreate(bytes, out ArpPacket packet));
        Assert.Equal(expected, ArpRepr.TryParse(packet, out _));
    }

    [Fact]
    public void TruncatedPacketsAreRejected()
    {
        for (int length = 0; length < 28; length++)
        {
            Assert.Equal(WireError.Truncated, ArpPacket.TryCreate(s_request.AsSpan(0, length).ToArray(), out _));
        }
        // Lengths claiming 255-byte addresses need far more than the buffer holds.
        byte[] huge = (byte[])s_request.Clone();
        huge[4] = 255;
        huge[5] = 255;
        Assert.Equal(WireError.Truncated, ArpPacket.TryCreate(huge, out _));
    }

    [Fact]
    public void ParseOfEmitIsIdentity()
    {
        Gen<ArpRepr> gen =
            from op in Gen.Choose(0, 0xFFFF)
            from sha in Gen.Choose(int.MinValue, int.MaxValue)
            from spa in Gen.Choose(int.MinValue, int.MaxValue)
            from tha in Gen.Choose(int.MinValue, int.MaxValue)
            from tpa in Gen.Choose(int.MinValue, int.MaxValue)
            select new ArpRepr((ArpOperation)op, new MacAddress((ulong)(uint)sha << 12), new Ipv4Address((uint)spa),
                new MacAddress((ulong)(uint)tha * 65537), new Ipv4Address((uint)tpa));
        Prop.ForAll(Arb.From(gen), repr =>
        {
            var bytes = new byte[repr.BufferLength];
            repr.Emit(new ArpPacket(bytes));
            return ArpPacket.TryCreate(bytes, out ArpPacket packet) == WireError.Ok
                && ArpRepr.TryParse(packet, out ArpRepr parsed) == WireError.Ok
                && parsed == repr;
        }).QuickCheckThrowOnFailure();
    }
}

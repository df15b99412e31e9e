using FsCheck;
using FsCheck.Fluent;
using Skiff.Wire;

namespace Skiff.Wire.Tests;

public class EthernetTests
{
    // Linux 6.18 kernel ARP request, captured with tcpdump on a veth in a network namespace (ping 10.23.0.2 from 10.23.0.1).
    private static readonly byte[] s_arpFrame = Convert.FromHexString(
        "ffffffffffff02000000000a0806000108000604000102000000000a0a1700010000000000000a170002");

    // scapy 2.5.0: Ether(src='02:00:00:00:00:0a',dst='02:00:00:00:00:0b')/Dot1Q(vlan=23,prio=5)/IP(src='10.23.1.1',dst='10.23.1.2')/ICMP()
    // (this kernel has no 8021q module, so the tagged frame comes from scapy rather than a capture).
    private static readonly byte[] s_vlanFrame = Convert.FromHexString(
        "02000000000b02000000000a8100a01708004500001c00010000400164b00a1701010a1701020800f7ff00000000");

    private static readonly EthernetRepr s_arpRepr = new(MacAddress.Broadcast, MacAddress.Parse("02:00:00:00:00:0a"), EtherType.Arp);

    [Fact]
    public void BytesToFields()
    {
        Assert.Equal(WireError.Ok, EthernetFrame.TryCreate(s_arpFrame, out EthernetFrame frame));
        Assert.Equal(MacAddress.Broadcast, frame.Destination);
        Assert.Equal(MacAddress.Parse("02:00:00:00:00:0a"), frame.Source);
        Assert.Equal(EtherType.Arp, frame.EtherType);
        Assert.False(frame.IsVlanTagged);
        Assert.Equal(14, frame.HeaderLength);
        Assert.Equal(28, frame.Payload.Length);
    }

    [Fact]
    public void FieldsToBytes()
    {
        var bytes = new byte[s_arpFrame.Length];
        s_arpFrame.AsSpan(14).CopyTo(bytes.AsSpan(14));
        var frame = new EthernetFrame(bytes)
        {
            Destination = MacAddress.Broadcast,
            Source = MacAddress.Parse("02:00:00:00:00:0a"),
            EtherType = EtherType.Arp,
        };
        Assert.Equal(s_arpFrame, bytes);
    }

    [Fact]
    public void BytesToRepr()
    {
        Assert.Equal(WireError.Ok, EthernetFrame.TryCreate(s_arpFrame, out EthernetFrame frame));
        Assert.Equal(WireError.Ok, EthernetRepr.TryParse(frame, out EthernetRepr repr));
        Assert.Equal(s_arpRepr, repr);
        Assert.Equal("02:00:00:00:00:0a > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806)", repr.ToString());
    }

    [Fact]
    public void ReprToBytes()
    {
        var bytes = new byte[s_arpFrame.Length];
        s_arpFrame.AsSpan(14).CopyTo(bytes.AsSpan(14));
        s_arpRepr.Emit(new EthernetFrame(bytes));
        Assert.Equal(14, s_arpRepr.HeaderLength);
        Assert.Equal(s_arpFrame, bytes);
    }

    [Fact]
    public void VlanTaggedFrameParsesAndEmitsIdentically()
    {
        Assert.Equal(WireError.Ok, EthernetFrame.TryCreate(s_vlanFrame, out EthernetFrame frame));
        Assert.True(frame.IsVlanTagged);
        Assert.Equal(18, frame.HeaderLength);
        Assert.Equal(EtherType.Ipv4, frame.PayloadEtherType);
        Assert.Equal(WireError.Ok, EthernetRepr.TryParse(frame, out EthernetRepr repr));
        Assert.Equal(new EthernetRepr(MacAddress.Parse("02:00:00:00:00:0b"), MacAddress.Parse("02:00:00:00:00:0a"), EtherType.Ipv4, 23, 5), repr);
        Assert.Equal(18, repr.HeaderLength);

        var bytes = new byte[s_vlanFrame.Length];
        s_vlanFrame.AsSpan(18).CopyTo(bytes.AsSpan(18));
        repr.Emit(new EthernetFrame(bytes));
        Assert.Equal(s_vlanFrame, bytes);
        Assert.Equal(28, frame.Payload.Length);
    }

    [Fact]
    public void SingleS_TagIsAcceptedButDoubleTagIsUnsupported()
    {
        byte[] sTag = (byte[])s_vlanFrame.Clone();
        sTag[12] = 0x88;
        sTag[13] = 0xA8;
        Assert.Equal(WireError.Ok, EthernetFrame.TryCreate(sTag, out EthernetFrame frame));
        Assert.Equal(WireError.Ok, EthernetRepr.TryParse(frame, out EthernetRepr repr));
        Assert.Equal((ushort?)23, repr.VlanId);

        byte[] qinq = (byte[])s_vlanFrame.Clone();
        qinq[12] = 0x88;
        qinq[13] = 0xA8;
        qinq[16] = 0x81;
        qinq[17] = 0x00;
        Assert.Equal(WireError.Ok, EthernetFrame.TryCreate(qinq, out frame));
        Assert.Equal(WireError.Unsupported, EthernetRepr.TryParse(frame, out _));
    }

    [Fact]
    public void LengthFieldInsteadOfTypeIsUnsupported()
    {
        byte[] llc = (byte[])s_arpFrame.Clone();
        llc[12] = 0x00;
        llc[13] = 0x26;
        Assert.Equal(WireError.Ok, EthernetFrame.TryCreate(llc, out EthernetFrame frame));
        Assert.Equal(WireError.Unsupported, EthernetRepr.TryParse(frame, out _));
    }

    [Fact]
    public void TruncatedFramesAreRejected()
    {
        for (int length = 0; length < 14; length++)
        {
            Assert.Equal(WireError.Truncated, EthernetFrame.TryCreate(s_arpFrame.AsSpan(0, length).ToArray(), out _));
        }
        for (int length = 14; length < 18; length++)
        {
            Assert.Equal(WireError.Truncated, EthernetFrame.TryCreate(s_vlanFrame.AsSpan(0, length).ToArray(), out _));
        }
        Assert.Equal(WireError.Ok, EthernetFrame.TryCreate(s_vlanFrame.AsSpan(0, 18).ToArray(), out EthernetFrame empty));
        Assert.Equal(0, empty.Payload.Length);
    }

    [Fact]
    public void ParseOfEmitIsIdentity()
    {
        Gen<EthernetRepr> gen =
            from dst in Gen.Choose(0, int.MaxValue)
            from dstHigh in Gen.Choose(0, 0xFFFF)
            from src in Gen.Choose(0, int.MaxValue)
            from type in Gen.Choose(0x0600, 0xFFFF).Where(t => t is not (0x8100 or 0x88A8))
            from tagged in Gen.Elements(true, false)
            from vlan in Gen.Choose(0, 4095)
            from priority in Gen.Choose(0, 7)
            select new EthernetRepr(
                new MacAddress(((ulong)dstHigh << 32) | (uint)dst), new MacAddress((ulong)src * 7919), (EtherType)type,
                tagged ? (ushort)vlan : null, tagged ? (byte)priority : (byte)0);
        Prop.ForAll(Arb.From(gen), repr =>
        {
            var bytes = new byte[repr.HeaderLength];
            repr.Emit(new EthernetFrame(bytes));
            return EthernetFrame.TryCreate(bytes, out EthernetFrame frame) == WireError.Ok
                && EthernetRepr.TryParse(frame, out EthernetRepr parsed) == WireError.Ok
                && parsed == repr;
        }).QuickCheckThrowOnFailure();
    }
}

using System.Runtime.InteropServices;
using Skiff.Drivers.Linux.Interop;

namespace Skiff.Drivers.Linux.Tests;

/// <summary>The AF_PACKET structs match linux/if_packet.h (x86-64 and arm64 layouts): a wrong offset would make the kernel read garbage.</summary>
public sealed unsafe class AfPacketInteropTests
{
    [Fact]
    public void StructSizesMatchTheUapiHeader()
    {
        Assert.Equal(20, sizeof(Packet.SockAddrLl));
        Assert.Equal(28, sizeof(Packet.TPacketReq3));
        Assert.Equal(8, sizeof(Packet.TPacketBdTs));
        Assert.Equal(40, sizeof(Packet.TPacketHdrV1));
        Assert.Equal(48, sizeof(Packet.TPacketBlockDesc));
        Assert.Equal(12, sizeof(Packet.TPacketHdrVariant1));
        Assert.Equal(48, sizeof(Packet.TPacket3Hdr));
        Assert.Equal(12, sizeof(Packet.TPacketStatsV3));
        Assert.Equal(8, sizeof(Packet.SockFilter));
        Assert.Equal(16, sizeof(Packet.SockFprog));
        Assert.Equal(16, sizeof(Packet.PacketMreq));
        Assert.Equal(40, sizeof(Packet.IfReqInt));
        Assert.Equal(40, sizeof(Packet.IfReqHwAddr));
        // TPACKET3_HDRLEN - sizeof(struct sockaddr_ll): where the kernel reads a TX frame (tpacket_parse_header).
        Assert.Equal(Packet.TPACKET3_DATA_OFFSET, Packet.Align(sizeof(Packet.TPacket3Hdr)));
    }

    [Fact]
    public void FieldOffsetsMatchTheUapiHeader()
    {
        Assert.Equal(4, Offset<Packet.SockAddrLl>(nameof(Packet.SockAddrLl.IfIndex)));
        Assert.Equal(10, Offset<Packet.SockAddrLl>(nameof(Packet.SockAddrLl.PktType)));
        Assert.Equal(16, Offset<Packet.TPacketReq3>(nameof(Packet.TPacketReq3.RetireBlockTimeoutMillis)));
        Assert.Equal(24, Offset<Packet.TPacketReq3>(nameof(Packet.TPacketReq3.FeatureRequestWord)));
        Assert.Equal(8, Offset<Packet.TPacketBlockDesc>(nameof(Packet.TPacketBlockDesc.Header)));
        Assert.Equal(12, Offset<Packet.TPacketHdrV1>(nameof(Packet.TPacketHdrV1.BlockLength)));
        Assert.Equal(16, Offset<Packet.TPacketHdrV1>(nameof(Packet.TPacketHdrV1.SequenceNumber)));
        Assert.Equal(32, Offset<Packet.TPacketHdrV1>(nameof(Packet.TPacketHdrV1.LastPacketTime)));
        Assert.Equal(12, Offset<Packet.TPacket3Hdr>(nameof(Packet.TPacket3Hdr.SnapLength)));
        Assert.Equal(20, Offset<Packet.TPacket3Hdr>(nameof(Packet.TPacket3Hdr.Status)));
        Assert.Equal(24, Offset<Packet.TPacket3Hdr>(nameof(Packet.TPacket3Hdr.Mac)));
        Assert.Equal(28, Offset<Packet.TPacket3Hdr>(nameof(Packet.TPacket3Hdr.Hv1)));
        Assert.Equal(8, Offset<Packet.TPacketHdrVariant1>(nameof(Packet.TPacketHdrVariant1.VlanTpid)));
        Assert.Equal(8, Offset<Packet.SockFprog>(nameof(Packet.SockFprog.Filter)));
        Assert.Equal(16, Offset<Packet.IfReqInt>(nameof(Packet.IfReqInt.Value)));
        Assert.Equal(16, Offset<Packet.IfReqHwAddr>(nameof(Packet.IfReqHwAddr.Family)));
    }

    [Fact]
    public void BadOptionsAreRefusedBeforeAnySystemCall()
    {
        AfPacketOptions good = new() { InterfaceName = "eth0" };
        Assert.Contains("RxBlockBytes", Assert.Throws<ArgumentOutOfRangeException>(() => new AfPacketDevice(good with { RxBlockBytes = 5000 })).Message);
        Assert.Contains("RxBlockCount", Assert.Throws<ArgumentOutOfRangeException>(() => new AfPacketDevice(good with { RxBlockCount = 1 })).Message);
        Assert.Contains("RxFrameBytes", Assert.Throws<ArgumentOutOfRangeException>(() => new AfPacketDevice(good with { RxFrameBytes = 1000 })).Message);
        Assert.Contains("RetireTimeoutMillis", Assert.Throws<ArgumentOutOfRangeException>(() => new AfPacketDevice(good with { RetireTimeoutMillis = 0 })).Message);
        Assert.Contains("TxFrameBytes", Assert.Throws<ArgumentOutOfRangeException>(() => new AfPacketDevice(good with { TxFrameBytes = 3000 })).Message);
        Assert.Contains("InterfaceName", Assert.Throws<ArgumentOutOfRangeException>(() => new AfPacketDevice(good with { InterfaceName = "a-name-longer-than-15" })).Message);
        Assert.Contains("4096", Assert.Throws<ArgumentOutOfRangeException>(() =>
            new AfPacketDevice(good with { Filter = new AfPacketFilterInstruction[4097] })).Message);
    }

    private static int Offset<T>(string field) => (int)Marshal.OffsetOf<T>(field);
}

using System.Runtime.InteropServices;

namespace Skiff.Drivers.Linux.Interop;

/// <summary>
/// AF_PACKET (packet(7), PACKET_MMAP): constants and structs of <c>linux/if_packet.h</c>, <c>linux/filter.h</c>
/// and the one <c>struct ifreq</c> shape the AF_PACKET device needs. Struct layouts match the uapi header
/// field for field (checked by size and offset tests in AfPacketInteropTests). The calls themselves
/// (socket, setsockopt, mmap, ...) are the common ones in <see cref="Libc"/>.
/// </summary>
internal static unsafe class Packet
{
    public const ushort ETH_P_ALL = 0x0003;
    public const ushort ARPHRD_ETHER = 1;

    // Socket option levels (socket.h).
    public const int SOL_SOCKET = 1;
    public const int SOL_PACKET = 263;

    // SOL_SOCKET options (asm-generic/socket.h).
    public const int SO_ATTACH_FILTER = 26;
    public const int SO_RCVBUF = 8;

    // SOL_PACKET options (if_packet.h).
    public const int PACKET_ADD_MEMBERSHIP = 1;
    public const int PACKET_RX_RING = 5;
    public const int PACKET_STATISTICS = 6;
    public const int PACKET_VERSION = 10;
    public const int PACKET_RESERVE = 12;
    public const int PACKET_TX_RING = 13;
    public const int PACKET_LOSS = 14;
    public const int PACKET_FANOUT = 18;
    public const int PACKET_QDISC_BYPASS = 20;
    public const int PACKET_IGNORE_OUTGOING = 23;

    public const ushort PACKET_MR_PROMISC = 1;

    // Feature request bits for tpacket_req3.tp_feature_req_word.
    public const uint TP_FT_REQ_FILL_RXHASH = 0x1;

    // enum tpacket_versions.
    public const int TPACKET_V3 = 2;

    // Fanout flags (or'ed into the mode, the high 16 bits of the PACKET_FANOUT argument).
    public const int PACKET_FANOUT_FLAG_ROLLOVER = 0x1000;
    public const int PACKET_FANOUT_FLAG_IGNORE_OUTGOING = 0x4000;
    public const int PACKET_FANOUT_FLAG_DEFRAG = 0x8000;

    // RX ring: block and frame status.
    public const uint TP_STATUS_KERNEL = 0;
    public const uint TP_STATUS_USER = 1 << 0;
    public const uint TP_STATUS_COPY = 1 << 1;
    public const uint TP_STATUS_LOSING = 1 << 2;
    public const uint TP_STATUS_CSUMNOTREADY = 1 << 3;
    public const uint TP_STATUS_VLAN_VALID = 1 << 4;
    public const uint TP_STATUS_BLK_TMO = 1 << 5;
    public const uint TP_STATUS_VLAN_TPID_VALID = 1 << 6;
    public const uint TP_STATUS_CSUM_VALID = 1 << 7;

    // TX ring: frame status.
    public const uint TP_STATUS_AVAILABLE = 0;
    public const uint TP_STATUS_SEND_REQUEST = 1 << 0;
    public const uint TP_STATUS_SENDING = 1 << 1;
    public const uint TP_STATUS_WRONG_FORMAT = 1 << 2;

    public const int TPACKET_ALIGNMENT = 16;

    /// <summary>TPACKET_ALIGN(sizeof(struct tpacket3_hdr)): where TX frame data starts in a slot (tp_hdrlen - sizeof(sockaddr_ll)).</summary>
    public const int TPACKET3_DATA_OFFSET = 48;

    // ioctl requests (sockios.h).
    public const nuint SIOCGIFFLAGS = 0x8913;
    public const nuint SIOCGIFMTU = 0x8921;
    public const nuint SIOCGIFHWADDR = 0x8927;

    // Interface flags (if.h).
    public const int IFF_UP = 0x1;

    /// <summary>Aligns to TPACKET_ALIGNMENT (TPACKET_ALIGN).</summary>
    public static int Align(int x) => (x + TPACKET_ALIGNMENT - 1) & ~(TPACKET_ALIGNMENT - 1);

    /// <summary>struct sockaddr_ll (20 bytes). <c>Protocol</c> is big-endian (__be16).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct SockAddrLl
    {
        public ushort Family;
        public ushort Protocol;
        public int IfIndex;
        public ushort HaType;
        public byte PktType;
        public byte HaLen;
        public fixed byte Addr[8];
    }

    /// <summary>struct tpacket_req3 (28 bytes), the PACKET_RX_RING / PACKET_TX_RING argument for TPACKET_V3.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct TPacketReq3
    {
        public uint BlockSize;
        public uint BlockCount;
        public uint FrameSize;
        public uint FrameCount;
        /// <summary>Block retire timeout in milliseconds (RX only; must be 0 for TX).</summary>
        public uint RetireBlockTimeoutMillis;
        public uint SizeOfPriv;
        public uint FeatureRequestWord;
    }

    /// <summary>struct tpacket_bd_ts (8 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct TPacketBdTs
    {
        public uint Seconds;
        /// <summary>ts_usec or ts_nsec (a union).</summary>
        public uint SubSeconds;
    }

    /// <summary>struct tpacket_hdr_v1 (40 bytes): the block header of a TPACKET_V3 RX block.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct TPacketHdrV1
    {
        public uint BlockStatus;
        public uint PacketCount;
        public uint OffsetToFirstPacket;
        public uint BlockLength;
        public ulong SequenceNumber; // __aligned_u64: at offset 16, already 8-aligned
        public TPacketBdTs FirstPacketTime;
        public TPacketBdTs LastPacketTime;
    }

    /// <summary>struct tpacket_block_desc (48 bytes): version, offset_to_priv, then the v1 block header.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct TPacketBlockDesc
    {
        public uint Version;
        public uint OffsetToPriv;
        public TPacketHdrV1 Header;
    }

    /// <summary>struct tpacket_hdr_variant1 (12 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct TPacketHdrVariant1
    {
        public uint RxHash;
        public uint VlanTci;
        public ushort VlanTpid;
        public ushort Padding;
    }

    /// <summary>struct tpacket3_hdr (48 bytes): the per-frame header in a TPACKET_V3 RX block and in every TX slot.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct TPacket3Hdr
    {
        public uint NextOffset;
        public uint Seconds;
        public uint Nanoseconds;
        public uint SnapLength;
        public uint Length;
        public uint Status;
        public ushort Mac;
        public ushort Net;
        public TPacketHdrVariant1 Hv1;
        public fixed byte Padding[8];
    }

    /// <summary>struct tpacket_stats_v3 (12 bytes): what PACKET_STATISTICS returns for TPACKET_V3 (and resets).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct TPacketStatsV3
    {
        public uint Packets;
        public uint Drops;
        public uint FreezeQueueCount;
    }

    /// <summary>struct sock_filter (8 bytes, linux/filter.h): one classic BPF instruction.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct SockFilter
    {
        public ushort Code;
        public byte JumpTrue;
        public byte JumpFalse;
        public uint K;
    }

    /// <summary>struct sock_fprog (16 bytes on 64-bit: len, padding, pointer), the SO_ATTACH_FILTER argument.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct SockFprog
    {
        public ushort Length;
        public SockFilter* Filter;
    }

    /// <summary>struct packet_mreq (16 bytes), the PACKET_ADD_MEMBERSHIP argument.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct PacketMreq
    {
        public int IfIndex;
        public ushort Type;
        public ushort AddressLength;
        public fixed byte Address[8];
    }

    /// <summary>struct ifreq (40 bytes) viewed as ifr_name plus an int at the start of its union: ifr_mtu (SIOCGIFMTU) or ifr_flags in the low 16 bits (SIOCGIFFLAGS).</summary>
    [StructLayout(LayoutKind.Sequential, Size = 40)]
    public struct IfReqInt
    {
        public fixed byte Name[16];
        public int Value;
    }

    /// <summary>struct ifreq (40 bytes) viewed as ifr_name plus the struct sockaddr ifr_hwaddr of its union (SIOCGIFHWADDR).</summary>
    [StructLayout(LayoutKind.Sequential, Size = 40)]
    public struct IfReqHwAddr
    {
        public fixed byte Name[16];
        public ushort Family;
        public fixed byte Data[14];
    }
}

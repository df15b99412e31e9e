using System.Runtime.InteropServices;

namespace Skiff.Drivers.Linux.Interop;

/// <summary>AF_XDP socket options, ring offsets and structs from linux/if_xdp.h.</summary>
internal static unsafe partial class Xdp
{
    public const int SOL_XDP = 283;

    // sockaddr_xdp.sxdp_flags
    public const ushort XDP_SHARED_UMEM = 1 << 0;
    public const ushort XDP_COPY = 1 << 1;
    public const ushort XDP_ZEROCOPY = 1 << 2;
    public const ushort XDP_USE_NEED_WAKEUP = 1 << 3;

    // The flags word of a ring: set by the kernel when it must be woken with a syscall.
    public const uint XDP_RING_NEED_WAKEUP = 1 << 0;

    // SOL_XDP socket options
    public const int XDP_MMAP_OFFSETS = 1;
    public const int XDP_RX_RING = 2;
    public const int XDP_TX_RING = 3;
    public const int XDP_UMEM_REG = 4;
    public const int XDP_UMEM_FILL_RING = 5;
    public const int XDP_UMEM_COMPLETION_RING = 6;
    public const int XDP_STATISTICS = 7;
    public const int XDP_OPTIONS = 8;

    // mmap page offsets of the four rings
    public const long XDP_PGOFF_RX_RING = 0;
    public const long XDP_PGOFF_TX_RING = 0x80000000;
    public const long XDP_UMEM_PGOFF_FILL_RING = 0x100000000;
    public const long XDP_UMEM_PGOFF_COMPLETION_RING = 0x180000000;

    /// <summary>Data the kernel reserves in front of a received frame in the chunk (XDP_PACKET_HEADROOM).</summary>
    public const int XDP_PACKET_HEADROOM = 256;

    /// <summary>struct sockaddr_xdp (16 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct SockAddr
    {
        public ushort Family;
        public ushort Flags;
        public uint IfIndex;
        public uint QueueId;
        public uint SharedUmemFd;
    }

    /// <summary>struct xdp_ring_offset: byte offsets inside a ring's mapping.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct RingOffset
    {
        public ulong Producer;
        public ulong Consumer;
        public ulong Desc;
        public ulong Flags;
    }

    /// <summary>struct xdp_mmap_offsets (128 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct MmapOffsets
    {
        public RingOffset Rx;
        public RingOffset Tx;
        public RingOffset Fill;
        public RingOffset Completion;
    }

    /// <summary>struct xdp_umem_reg (32 bytes with tx_metadata_len, 6.8+; older kernels read the first 28).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct UmemReg
    {
        public ulong Addr;
        public ulong Len;
        public uint ChunkSize;
        public uint Headroom;
        public uint Flags;
        public uint TxMetadataLen;
    }

    /// <summary>struct xdp_desc (16 bytes): one RX or TX descriptor.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Desc
    {
        public ulong Addr;
        public uint Len;
        public uint Options;
    }

    /// <summary>struct xdp_statistics (48 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Statistics
    {
        public ulong RxDropped;
        public ulong RxInvalidDescs;
        public ulong TxInvalidDescs;
        public ulong RxRingFull;
        public ulong RxFillRingEmptyDescs;
        public ulong TxRingEmptyDescs;
    }
}

using System.Buffers.Binary;
using Skiff.Drivers.Linux.Interop;

namespace Skiff.Drivers.Linux;

public sealed unsafe partial class AfPacketDevice
{
    private readonly byte* _rxBase;
    private readonly int _rxRoomBytes;

    // The block being read: its index, the next frame in it, and how many frames are left. _rxRemaining == 0
    // means the device holds no block (it hands each block back as soon as its last frame is copied).
    private int _rxBlockIndex;
    private Packet.TPacket3Hdr* _rxFrame;
    private int _rxRemaining;

    // Single writer (the data path); written with Volatile.Write so ReadStatistics may read them from any thread.
    private long _rxFrames;
    private long _rxBytes;
    private long _rxDropped;
    private long _rxNoBuffer;

    /// <summary>
    /// Copies up to min(<paramref name="buffers"/>.Length, MaxBurst) received frames into buffers from
    /// <see cref="Pool"/>; returns how many (0 when none are ready). The caller owns them. Each is stamped with
    /// <paramref name="now"/>, <see cref="AfPacketOptions.QueueId"/>, <see cref="AfPacketOptions.PortId"/> and its checksum
    /// state (L4Partial for TP_STATUS_CSUMNOTREADY, L4Verified for TP_STATUS_CSUM_VALID, otherwise None). Stops early,
    /// leaving the frame in the ring, when the pool is empty. Never throws on bad frames: they are dropped and counted.
    /// </summary>
    public int ReceiveBurst(Span<PacketBuffer> buffers, Instant now)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        int max = Math.Min(buffers.Length, Capabilities.MaxBurst);
        int n = 0;
        long bytes = 0;
        while (n < max)
        {
            if (_rxRemaining == 0 && !TryOpenBlock())
            {
                break;
            }

            Packet.TPacket3Hdr* frame = _rxFrame;
            uint status = frame->Status;
            int length = (int)frame->SnapLength;
            bool tagged = (status & Packet.TP_STATUS_VLAN_VALID) != 0;
            int deliveredLength = tagged ? length + VlanTagBytes : length;
            if (frame->Length != frame->SnapLength || length < EthernetHeaderBytes || deliveredLength > _rxRoomBytes)
            {
                // Truncated by the ring, a runt, or too big for a pool frame (a GSO super-frame on veth).
                Volatile.Write(ref _rxDropped, _rxDropped + 1);
                AdvanceFrame();
                continue;
            }
            if (!Pool.TryAllocate(out PacketBuffer? buffer))
            {
                Volatile.Write(ref _rxNoBuffer, _rxNoBuffer + 1);
                break;
            }

            byte* source = (byte*)frame + frame->Mac;
            byte* destination = buffer.DangerousDataPointer;
            if (tagged)
            {
                // The kernel moved the 802.1Q/802.1ad tag into the header (VLAN offload); put it back after the MACs.
                ushort tpid = (status & Packet.TP_STATUS_VLAN_TPID_VALID) != 0 ? frame->Hv1.VlanTpid : (ushort)0x8100;
                new ReadOnlySpan<byte>(source, 12).CopyTo(new Span<byte>(destination, 12));
                BinaryPrimitives.WriteUInt16BigEndian(new Span<byte>(destination + 12, 2), tpid);
                BinaryPrimitives.WriteUInt16BigEndian(new Span<byte>(destination + 14, 2), (ushort)frame->Hv1.VlanTci);
                new ReadOnlySpan<byte>(source + 12, length - 12).CopyTo(new Span<byte>(destination + 16, length - 12));
            }
            else
            {
                new ReadOnlySpan<byte>(source, length).CopyTo(new Span<byte>(destination, length));
            }
            buffer.TrySetLength(deliveredLength); // checked against _rxRoomBytes above
            buffer.Timestamp = now;
            buffer.Queue = _queueId;
            buffer.Port = _portId;
            buffer.Checksum = (status & Packet.TP_STATUS_CSUMNOTREADY) != 0
                ? ChecksumState.L4Partial
                : (status & Packet.TP_STATUS_CSUM_VALID) != 0 ? ChecksumState.L4Verified : ChecksumState.None;
            buffers[n++] = buffer;
            bytes += deliveredLength;
            AdvanceFrame();
        }
        if (n > 0)
        {
            Volatile.Write(ref _rxFrames, _rxFrames + n);
            Volatile.Write(ref _rxBytes, _rxBytes + bytes);
        }
        return n;
    }

    private Packet.TPacketBlockDesc* Block(int index) => (Packet.TPacketBlockDesc*)(_rxBase + (long)index * RxBlockBytes);

    private bool IsBlockReady(int index) => (Volatile.Read(ref Block(index)->Header.BlockStatus) & Packet.TP_STATUS_USER) != 0;

    /// <summary>Takes the next block if the kernel has handed it over; false if it has not.</summary>
    private bool TryOpenBlock()
    {
        while (true)
        {
            Packet.TPacketBlockDesc* block = Block(_rxBlockIndex);
            // Acquire: pairs with the kernel's smp_wmb() before it sets TP_STATUS_USER (prb_close_block), so the
            // frames and the block header are visible once the status is.
            if ((Volatile.Read(ref block->Header.BlockStatus) & Packet.TP_STATUS_USER) == 0)
            {
                return false;
            }
            int count = (int)block->Header.PacketCount;
            if (count > 0)
            {
                _rxFrame = (Packet.TPacket3Hdr*)((byte*)block + block->Header.OffsetToFirstPacket);
                _rxRemaining = count;
                return true;
            }
            // A block retired empty by the timer: give it straight back and look at the next.
            ReleaseBlock();
        }
    }

    /// <summary>Moves past the current frame; hands the block back to the kernel after its last frame.</summary>
    private void AdvanceFrame()
    {
        if (--_rxRemaining > 0)
        {
            _rxFrame = (Packet.TPacket3Hdr*)((byte*)_rxFrame + _rxFrame->NextOffset);
        }
        else
        {
            ReleaseBlock();
        }
    }

    private void ReleaseBlock()
    {
        Packet.TPacketBlockDesc* block = Block(_rxBlockIndex);
        // Full fence, then the store (the kernel's own PACKET_MMAP example uses __sync_synchronize()): every read of
        // the block's frames completes before the kernel may see TP_STATUS_KERNEL and refill it. Pairs with the
        // smp_rmb() in the kernel's prb_queue_frozen/prb_dispatch_next_block status check. One fence per block.
        Interlocked.MemoryBarrier();
        Volatile.Write(ref block->Header.BlockStatus, Packet.TP_STATUS_KERNEL);
        _rxFrame = null;
        _rxRemaining = 0;
        if (++_rxBlockIndex == RxBlockCount)
        {
            _rxBlockIndex = 0;
        }
    }
}

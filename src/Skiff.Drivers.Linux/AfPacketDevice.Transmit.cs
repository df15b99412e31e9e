using System.Runtime.InteropServices;
using Skiff.Drivers.Linux.Interop;

namespace Skiff.Drivers.Linux;

public sealed unsafe partial class AfPacketDevice
{
    private readonly byte* _txBase;
    private readonly int _txMaxFrameBytes;

    // The next slot to fill; the kernel walks the ring in the same order (tx_ring.head), so the two stay in step.
    private int _txHead;
    // Frames were filled since the kernel was last seen to take them all: an empty burst checks and re-kicks.
    private bool _txMaybePending;
    private int _lastTransmitErrno;

    private long _txFrames;
    private long _txBytes;
    private long _txDropped;
    private long _txRingFull;
    private long _txKicks;
    private long _txKickErrors;

    /// <summary>The errno of the last failed kick (sendto), or 0. ENETDOWN means the interface went down; ENXIO that it vanished.</summary>
    public int LastTransmitErrno => Volatile.Read(ref _lastTransmitErrno);

    /// <summary>
    /// Copies the leading frames of <paramref name="buffers"/> (at most MaxBurst) into free TX slots, frees them and
    /// returns how many it took; fewer when the ring is full (counted), and the caller keeps the rest. A frame shorter
    /// than an Ethernet header or longer than the MTU (plus a VLAN tag) or a TX slot allows is taken, freed and counted
    /// as dropped: it could never be sent. Then kicks the kernel (sendto with MSG_DONTWAIT; never blocks). An empty
    /// span re-kicks only if frames are still waiting for the kernel. Frames may come from any pool.
    /// <paramref name="now"/> is not used.
    /// </summary>
    public int TransmitBurst(ReadOnlySpan<PacketBuffer> buffers, Instant now)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (buffers.IsEmpty)
        {
            if (_txMaybePending)
            {
                KickIfPending();
            }
            return 0;
        }
        if (buffers.Length > Capabilities.MaxBurst)
        {
            buffers = buffers[..Capabilities.MaxBurst];
        }

        int accepted = 0;
        int filled = 0;
        long bytes = 0;
        for (; accepted < buffers.Length; accepted++)
        {
            PacketBuffer buffer = buffers[accepted];
            int length = buffer.Length;
            if (length < EthernetHeaderBytes || length > _txMaxFrameBytes)
            {
                Volatile.Write(ref _txDropped, _txDropped + 1);
                continue;
            }
            Packet.TPacket3Hdr* slot = Slot(_txHead);
            // Acquire: pairs with the kernel's store of TP_STATUS_AVAILABLE (and its smp_wmb) in
            // tpacket_destruct_skb, after which the kernel no longer reads the slot and we may overwrite it.
            if (Volatile.Read(ref slot->Status) != Packet.TP_STATUS_AVAILABLE)
            {
                Volatile.Write(ref _txRingFull, _txRingFull + 1);
                break;
            }
            new ReadOnlySpan<byte>(buffer.DangerousDataPointer, length).CopyTo(new Span<byte>((byte*)slot + Packet.TPACKET3_DATA_OFFSET, length));
            slot->NextOffset = 0; // the kernel refuses variable-sized TX slots
            slot->Length = (uint)length;
            slot->SnapLength = (uint)length;
            // Release: the frame bytes and header above are visible before the kernel sees SEND_REQUEST (it reads the
            // status, then smp_rmb(), then the frame in tpacket_snd).
            Volatile.Write(ref slot->Status, Packet.TP_STATUS_SEND_REQUEST);
            if (++_txHead == TxFrameCount)
            {
                _txHead = 0;
            }
            filled++;
            bytes += length;
        }

        // The bytes are in the ring (or the frame was dropped): the buffers are ours to free, each to its own pool.
        for (int i = 0; i < accepted; i++)
        {
            buffers[i].Free();
        }
        if (filled > 0)
        {
            Volatile.Write(ref _txFrames, _txFrames + filled);
            Volatile.Write(ref _txBytes, _txBytes + bytes);
            Kick();
        }
        else if (_txMaybePending)
        {
            KickIfPending();
        }
        return accepted;
    }

    private Packet.TPacket3Hdr* Slot(int index) => (Packet.TPacket3Hdr*)(_txBase + (long)index * TxFrameBytes);

    /// <summary>
    /// Re-kicks if the newest filled slot still waits for the kernel. The kernel sends in ring order, so once the
    /// newest frame has left SEND_REQUEST every older one has too and nothing needs a kick.
    /// </summary>
    private void KickIfPending()
    {
        int newest = _txHead == 0 ? TxFrameCount - 1 : _txHead - 1;
        if ((Volatile.Read(ref Slot(newest)->Status) & Packet.TP_STATUS_SEND_REQUEST) != 0)
        {
            Kick();
        }
        else
        {
            _txMaybePending = false;
        }
    }

    private void Kick()
    {
        _txMaybePending = true;
        Volatile.Write(ref _txKicks, _txKicks + 1);
        // MSG_DONTWAIT: tpacket_snd sends every SEND_REQUEST slot it can and returns without waiting for completions.
        if (Libc.SendTo(_fd, null, 0, Libc.MSG_DONTWAIT, null, 0) < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            // EAGAIN/ENOBUFS: the device queue is busy; the frames stay SEND_REQUEST and the next burst re-kicks.
            if (errno is not (Libc.EAGAIN or Libc.ENOBUFS or Libc.EINTR))
            {
                Volatile.Write(ref _txKickErrors, _txKickErrors + 1);
                Volatile.Write(ref _lastTransmitErrno, errno);
            }
        }
    }
}

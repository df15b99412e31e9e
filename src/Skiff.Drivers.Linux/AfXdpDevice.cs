using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Skiff.Drivers.Linux.Interop;

namespace Skiff.Drivers.Linux;

/// <summary>
/// The kernel-bypass device: an AF_XDP socket on one interface queue whose UMEM is the device's
/// <see cref="PacketPool"/> slab (ARCHITECTURE.md, contract 3: the frame the kernel writes is the frame the stack
/// parses), with Skiff's own XDP program steering only Skiff's addresses to it and passing the rest to the kernel.
/// </summary>
/// <remarks>
/// <para>Open it on a thread inside the interface's network namespace; it works from any thread afterwards, one
/// thread at a time (<see cref="IDevice"/>). Needs CAP_NET_RAW, CAP_NET_ADMIN, CAP_BPF and CAP_IPC_LOCK (or a locked-memory limit that holds the pool), or root.</para>
/// <para>Memory: frame <c>i</c> of the pool is UMEM chunk <c>i</c> (address <c>i × FrameBytes</c>). The device keeps
/// the fill ring stocked with free pool frames; the kernel writes a received frame at chunk + 256
/// (XDP_PACKET_HEADROOM, the pool's default data offset) and <see cref="ReceiveBurst"/> hands that very frame to the
/// caller, who owns it. <see cref="TransmitBurst"/> sends frames of this pool in place (address = chunk + data
/// offset) and frees them when the completion ring reports them sent; frames of another pool are copied into a
/// UMEM frame first and freed at once.</para>
/// <para>Lifetime: the XDP program is attached through a BPF link, so disposing the device, or the process dying,
/// detaches it. A pool passed in must outlive the device; a pool the device created is disposed with it.</para>
/// </remarks>
public sealed unsafe class AfXdpDevice : IDevice, IWaitableDevice, IDisposable
{
    private const int ScratchFrames = 64;
    private const int MinimumRefill = 16;

    private readonly AfXdpOptions _options;
    private readonly PacketPool _pool;
    private readonly bool _ownsPool;
    private readonly int _frameShift;
    private readonly ulong _frameMask;
    private readonly int _fillTarget;
    // Frames whose ownership lies with the kernel (in the fill ring, RX in flight, or on the TX ring awaiting
    // completion), so Dispose can return them to the pool. One flag per frame, allocated once.
    private readonly bool[] _kernelHeld;
    private readonly PacketBuffer[] _scratch = new PacketBuffer[ScratchFrames];
    private readonly XdpAttachment _attachment;
    private BpfFileDescriptor _socket = null!;
    private XdpRing _fill = null!;
    private XdpRing _completion = null!;
    private XdpRing _rx = null!;
    private XdpRing _tx = null!;
    private bool _needWakeup;
    private int _fillOutstanding;
    private bool _disposed;

    private long _rxFrames;
    private long _txFrames;
    private long _txCopied;
    private long _txDropped;
    private long _txCompleted;
    private long _wakeups;
    private long _wakeupErrors;

    /// <summary>
    /// Opens queue <see cref="AfXdpOptions.QueueId"/> of <see cref="AfXdpOptions.InterfaceName"/>: loads and attaches
    /// the XDP program, registers the UMEM over <paramref name="pool"/> (or a new pool of
    /// <see cref="AfXdpOptions.FrameCount"/> 2 KiB frames), maps the rings and binds. Throws
    /// <see cref="DriverException"/> with what to do when any step fails, leaving nothing attached.
    /// </summary>
    public AfXdpDevice(AfXdpOptions options, PacketPool? pool = null)
        : this(options, pool, shared: null)
    {
    }

    /// <summary>
    /// Opens <paramref name="queueCount"/> queues of one interface, from <see cref="AfXdpOptions.QueueId"/> on: one
    /// socket, UMEM and pool per queue (each queue's core owns its memory) and one XDP program whose XSKMAP steers each
    /// receiving queue to its socket, attached once after every socket is bound. The program stays attached until the
    /// last of the devices is disposed. <paramref name="pools"/>: one per queue, or null for a new pool each. Throws
    /// <see cref="DriverException"/> with what to do when any step fails, leaving nothing attached.
    /// </summary>
    public static AfXdpDevice[] OpenQueues(AfXdpOptions options, int queueCount, IReadOnlyList<PacketPool>? pools = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (queueCount < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(queueCount), $"Open at least one queue, not {queueCount}.");
        }
        if (pools is not null && pools.Count != queueCount)
        {
            throw new ArgumentException($"Give one pool per queue: {queueCount} queues, {pools.Count} pools.", nameof(pools));
        }
        if (pools is not null && pools.Distinct().Count() != pools.Count)
        {
            throw new ArgumentException("Each queue needs a pool of its own: a UMEM is registered with one socket.", nameof(pools));
        }
        Validate(options, null);
        int ifIndex = InterfaceIndex(options.InterfaceName);
        XdpAttachment attachment = new(options.InterfaceName, ifIndex, options.QueueId + queueCount, options.SteerAddresses);
        List<AfXdpDevice> devices = new(queueCount);
        try
        {
            for (int q = 0; q < queueCount; q++)
            {
                devices.Add(new AfXdpDevice(options with { QueueId = options.QueueId + q }, pools?[q], attachment));
            }
            XdpAttachMode mode = attachment.Attach(options.AttachMode);
            foreach (AfXdpDevice device in devices)
            {
                device.AttachMode = mode;
                device.LogOpened(options.Log);
            }
        }
        catch
        {
            foreach (AfXdpDevice device in devices)
            {
                device.Dispose();
            }
            attachment.Dispose();
            throw;
        }
        attachment.Dispose(); // the devices hold their own references now
        return [.. devices];
    }

    /// <summary>
    /// Opens one queue. With <paramref name="shared"/> null the device creates, attaches and owns its own program;
    /// otherwise it registers its socket in <paramref name="shared"/>'s map, takes a reference, and leaves attaching to
    /// the caller (<see cref="OpenQueues"/>).
    /// </summary>
    private AfXdpDevice(AfXdpOptions options, PacketPool? pool, XdpAttachment? shared)
    {
        ArgumentNullException.ThrowIfNull(options);
        Validate(options, pool);
        _options = options;
        int ifIndex = InterfaceIndex(options.InterfaceName);
        IfIndex = ifIndex;
        _ownsPool = pool is null;
        _pool = pool ?? new PacketPool(new PacketPoolOptions { FrameCount = options.FrameCount, FrameBytes = 2048, HeadroomBytes = Xdp.XDP_PACKET_HEADROOM });
        _frameShift = BitOperations.Log2((uint)_pool.FrameBytes);
        _frameMask = (ulong)_pool.FrameBytes - 1;
        _kernelHeld = new bool[_pool.FrameCount];
        // _fillTarget bounds the frames in the fill ring plus those the kernel has put on the RX ring and we have not
        // taken yet. By default it is the fill ring plus the RX ring (capped at half the pool), so the fill ring stays
        // full even while received frames wait on the RX ring, as libxdp's xdpsock and DPDK's af_xdp keep it. Bounding
        // it by the fill ring alone let the two rings together buffer only one fill ring's worth: a poller descheduled
        // for a few milliseconds (2048 frames at 0.5 Mpps is 4 ms) lost frames as "fill ring empty" drops
        // (bench/drivers.sh on a loaded 2-CPU machine: a third of the frames).
        _fillTarget = options.FillFrames is int fillFrames
            ? Math.Min(fillFrames, options.FillRingSize)
            : Math.Min(options.FillRingSize + options.RxRingSize, _pool.FrameCount / 2);
        Capabilities = new DeviceCapabilities(MtuBytes: options.MtuBytes, MaxBurst: ScratchFrames);

        XdpAttachment? attachment = null;
        try
        {
            if (shared is null)
            {
                attachment = new XdpAttachment(options.InterfaceName, ifIndex, options.QueueId + 1, options.SteerAddresses);
            }
            else
            {
                shared.AddReference();
                attachment = shared;
            }
            OpenSocket(options, ifIndex);
            attachment.RegisterSocket(options.QueueId, _socket.Fd);
            if (shared is null)
            {
                AttachMode = attachment.Attach(options.AttachMode);
            }
            _attachment = attachment;
        }
        catch
        {
            attachment?.Dispose();
            CloseSocket();
            if (_ownsPool)
            {
                _pool.Dispose();
            }
            throw;
        }
        if (shared is null)
        {
            LogOpened(options.Log);
        }
    }

    private static int InterfaceIndex(string interfaceName)
    {
        int ifIndex = (int)Libc.IfNameToIndex(interfaceName);
        if (ifIndex == 0)
        {
            throw new DriverException($"There is no interface named {interfaceName} in this network namespace: check the name with 'ip link'.", Marshal.GetLastPInvokeError());
        }
        return ifIndex;
    }

    private void LogOpened(Action<string>? log) =>
        log?.Invoke($"AF_XDP on {_options.InterfaceName} queue {_options.QueueId}: XDP program attached in {AttachMode.ToString().ToLowerInvariant()} mode, " +
            $"socket bound in {(IsZeroCopy ? "zero-copy" : "copy")} mode{(_needWakeup ? " with need_wakeup" : "")}; steering {_options.SteerAddresses.Count} address(es).");

    /// <summary><see cref="AfXdpOptions.MtuBytes"/> as the MTU, bursts of up to 64 frames, and no checksum offload: the stack computes every checksum.</summary>
    public DeviceCapabilities Capabilities { get; }

    /// <summary>The UMEM: receive frames come from it, and transmit frames from it go out without a copy.</summary>
    public PacketPool Pool => _pool;

    /// <summary>The interface index the device is bound to (in its namespace).</summary>
    public int IfIndex { get; }

    /// <summary>How the XDP program attached: <see cref="XdpAttachMode.Native"/> or <see cref="XdpAttachMode.Generic"/>.</summary>
    public XdpAttachMode AttachMode { get; private set; }

    /// <summary>True if the socket is bound in zero-copy mode (the NIC DMAs into the pool), false in copy mode.</summary>
    public bool IsZeroCopy { get; private set; }

    /// <summary>Frames currently owned by the kernel (fill ring, TX ring, awaiting completion). For tests and diagnostics.</summary>
    public int KernelHeldFrames
    {
        get
        {
            int n = 0;
            foreach (bool held in _kernelHeld)
            {
                n += held ? 1 : 0;
            }
            return n;
        }
    }

    private static void Validate(AfXdpOptions options, PacketPool? pool)
    {
        foreach ((string name, int size) in new[] { ("RX", options.RxRingSize), ("TX", options.TxRingSize), ("fill", options.FillRingSize), ("completion", options.CompletionRingSize) })
        {
            if (size < 2 || !int.IsPow2(size))
            {
                throw new ArgumentOutOfRangeException(nameof(options), $"The AF_XDP {name} ring size {size} must be a power of two of at least 2.");
            }
        }
        if (options.QueueId < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"Queue id {options.QueueId} must not be negative.");
        }
        int frameBytes = pool?.FrameBytes ?? 2048;
        if (frameBytes is not (2048 or 4096))
        {
            throw new ArgumentException($"AF_XDP needs 2048- or 4096-byte frames (UMEM chunks); the pool has {frameBytes}-byte frames.", nameof(pool));
        }
        if (options.MtuBytes + 14 > frameBytes - Xdp.XDP_PACKET_HEADROOM)
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"MTU {options.MtuBytes} does not fit a {frameBytes}-byte frame after the 256-byte XDP headroom: use 4096-byte frames or a smaller MTU.");
        }
    }

    /// <summary>Creates, configures and binds the socket: zero-copy first unless told otherwise, then copy mode on a fresh socket.</summary>
    private void OpenSocket(AfXdpOptions options, int ifIndex)
    {
        ushort wakeup = options.UseNeedWakeup ? Xdp.XDP_USE_NEED_WAKEUP : (ushort)0;
        if (options.CopyMode != AfXdpCopyMode.Copy)
        {
            int errno = TryOpenSocket(options, ifIndex, (ushort)(Xdp.XDP_ZEROCOPY | wakeup));
            if (errno == 0)
            {
                IsZeroCopy = true;
                return;
            }
            if (options.CopyMode == AfXdpCopyMode.ZeroCopy)
            {
                throw new DriverException($"Binding the AF_XDP socket to {options.InterfaceName} queue {options.QueueId} in zero-copy mode failed: {Libc.Describe(errno)} (errno {errno}). " +
                    "The driver does not support AF_XDP zero-copy: allow copy mode (--xdp-copy auto).", errno);
            }
            options.Log?.Invoke($"AF_XDP on {options.InterfaceName}: zero-copy bind refused ({Libc.Describe(errno)}), falling back to copy mode.");
        }
        int copyErrno = TryOpenSocket(options, ifIndex, (ushort)(Xdp.XDP_COPY | wakeup));
        // A socket closed on this queue a moment ago (a restart, or a device of the same process) frees the queue in a
        // kernel work item after close returns (xp_release_deferred), and a bind before that fails with EBUSY: seen
        // in the test suite when a queue was reopened right after its device was disposed. Give it up to 200 ms.
        for (int attempt = 0; copyErrno == Libc.EBUSY && attempt < 40; attempt++)
        {
            Thread.Sleep(5);
            copyErrno = TryOpenSocket(options, ifIndex, (ushort)(Xdp.XDP_COPY | wakeup));
        }
        if (copyErrno != 0)
        {
            string advice = copyErrno switch
            {
                Libc.EPERM or Libc.EACCES => BpfLoader.PrivilegeAdvice,
                Libc.EBUSY => $"Another AF_XDP socket is bound to queue {options.QueueId}: stop it or pick another --queue.",
                Libc.EINVAL => $"Check that queue {options.QueueId} exists on {options.InterfaceName} (ethtool -l {options.InterfaceName}).",
                _ => "Use --driver afpacket if this interface cannot run AF_XDP.",
            };
            throw new DriverException($"Binding the AF_XDP socket to {options.InterfaceName} queue {options.QueueId} failed: {Libc.Describe(copyErrno)} (errno {copyErrno}). {advice}", copyErrno);
        }
    }

    /// <summary>One attempt: socket, UMEM, rings, fill stock, bind. Returns 0, or the bind errno after undoing everything; throws for setup errors.</summary>
    private int TryOpenSocket(AfXdpOptions options, int ifIndex, ushort bindFlags)
    {
        int fd = Libc.Socket(Libc.AF_XDP, Libc.SOCK_RAW | Libc.SOCK_CLOEXEC, 0);
        if (fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw errno == 97 // EAFNOSUPPORT
                ? new DriverException("This kernel has no AF_XDP sockets (CONFIG_XDP_SOCKETS): use --driver afpacket.", errno)
                : DriverException.FromLastError("Creating the AF_XDP socket", BpfLoader.PrivilegeAdvice);
        }
        _socket = new BpfFileDescriptor(fd);
        try
        {
            Xdp.UmemReg reg = new()
            {
                Addr = (ulong)_pool.DangerousSlabPointer,
                Len = (ulong)_pool.SlabBytes,
                ChunkSize = (uint)_pool.FrameBytes,
                // 0: the kernel writes at chunk + XDP_PACKET_HEADROOM (256), the pool's default data offset.
                Headroom = 0,
            };
            if (Libc.SetSockOpt(_socket.Fd, Xdp.SOL_XDP, Xdp.XDP_UMEM_REG, &reg, sizeof(Xdp.UmemReg)) != 0)
            {
                // ENOBUFS: the UMEM's pages count against RLIMIT_MEMLOCK for a process without CAP_IPC_LOCK.
                throw DriverException.FromLastError("Registering the packet pool as UMEM (XDP_UMEM_REG)", Marshal.GetLastPInvokeError() == Libc.ENOBUFS
                    ? $"The pool's {_pool.SlabBytes >> 20} MiB count against the locked-memory limit: raise it (ulimit -l unlimited; LimitMEMLOCK=infinity under systemd), grant CAP_IPC_LOCK, or run as root."
                    : "The pool must be page aligned and its frames a power of two from 2048 to the page size.");
            }
            int size = options.FillRingSize;
            SetOption(Xdp.XDP_UMEM_FILL_RING, &size, sizeof(int), "Sizing the fill ring", "Ring sizes must be powers of two.");
            size = options.CompletionRingSize;
            SetOption(Xdp.XDP_UMEM_COMPLETION_RING, &size, sizeof(int), "Sizing the completion ring", "Ring sizes must be powers of two.");
            size = options.RxRingSize;
            SetOption(Xdp.XDP_RX_RING, &size, sizeof(int), "Sizing the RX ring", "Ring sizes must be powers of two.");
            size = options.TxRingSize;
            SetOption(Xdp.XDP_TX_RING, &size, sizeof(int), "Sizing the TX ring", "Ring sizes must be powers of two.");

            Xdp.MmapOffsets offsets;
            int length = sizeof(Xdp.MmapOffsets);
            if (Libc.GetSockOpt(fd, Xdp.SOL_XDP, Xdp.XDP_MMAP_OFFSETS, &offsets, &length) != 0)
            {
                throw DriverException.FromLastError("Reading the AF_XDP ring offsets (XDP_MMAP_OFFSETS)", "This kernel's AF_XDP is too old: use --driver afpacket.");
            }
            _fill = XdpRing.Map(fd, Xdp.XDP_UMEM_PGOFF_FILL_RING, offsets.Fill, (uint)options.FillRingSize, sizeof(ulong), isProducer: true, "fill");
            _completion = XdpRing.Map(fd, Xdp.XDP_UMEM_PGOFF_COMPLETION_RING, offsets.Completion, (uint)options.CompletionRingSize, sizeof(ulong), isProducer: false, "completion");
            _rx = XdpRing.Map(fd, Xdp.XDP_PGOFF_RX_RING, offsets.Rx, (uint)options.RxRingSize, sizeof(Xdp.Desc), isProducer: false, "RX");
            _tx = XdpRing.Map(fd, Xdp.XDP_PGOFF_TX_RING, offsets.Tx, (uint)options.TxRingSize, sizeof(Xdp.Desc), isProducer: true, "TX");

            // Stock the fill ring before binding, so a zero-copy driver finds frames when it sets up the queue.
            Refill(force: true);

            Xdp.SockAddr address = new()
            {
                Family = Libc.AF_XDP,
                Flags = bindFlags,
                IfIndex = (uint)ifIndex,
                QueueId = (uint)options.QueueId,
            };
            if (Libc.Bind(fd, &address, sizeof(Xdp.SockAddr)) != 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                CloseSocket();
                return errno;
            }
            _needWakeup = (bindFlags & Xdp.XDP_USE_NEED_WAKEUP) != 0;
            return 0;
        }
        catch
        {
            CloseSocket();
            throw;
        }
    }

    private void SetOption(int name, void* value, int length, string what, string advice)
    {
        if (Libc.SetSockOpt(_socket.Fd, Xdp.SOL_XDP, name, value, length) != 0)
        {
            throw DriverException.FromLastError(what, advice);
        }
    }

    /// <summary>Closes the socket and unmaps its rings, and returns every frame the kernel held to the pool.</summary>
    private void CloseSocket()
    {
        _socket?.Dispose();
        _fill?.Dispose();
        _completion?.Dispose();
        _rx?.Dispose();
        _tx?.Dispose();
        for (int i = 0; i < _kernelHeld.Length; i++)
        {
            if (_kernelHeld[i])
            {
                _kernelHeld[i] = false;
                _pool.Free(_pool.GetFrame(i));
            }
        }
        _fillOutstanding = 0;
    }

    /// <summary>The XDP socket: poll(2) reports it readable when the RX ring has frames (and wakes the driver in need-wakeup mode).</summary>
    int IWaitableDevice.ReceiveWaitDescriptor => _disposed ? -1 : _socket.Fd;

    /// <summary>Frames already on the RX ring.</summary>
    bool IWaitableDevice.HasBufferedReceive => !_disposed && _rx.AvailableEntries(1) > 0;

    /// <summary>
    /// Takes up to <c>buffers.Length</c> received frames off the RX ring (the frames the kernel wrote, no copy) and
    /// restocks the fill ring. The caller owns the frames returned.
    /// </summary>
    public int ReceiveBurst(Span<PacketBuffer> buffers, Instant now)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        uint n = _rx.AvailableEntries((uint)buffers.Length);
        if (n == 0)
        {
            Refill(force: false);
            if (_needWakeup && _fill.NeedsWakeup)
            {
                Wake(isTransmit: false);
            }
            return 0;
        }
        uint at = _rx.Next;
        ushort queue = (ushort)_options.QueueId;
        for (uint i = 0; i < n; i++)
        {
            ref Xdp.Desc d = ref _rx.Descriptor(at + i);
            int index = (int)(d.Addr >> _frameShift);
            PacketBuffer frame = _pool.GetFrame(index);
            _kernelHeld[index] = false;
            frame.Reset();
            frame.TrySetData((int)(d.Addr & _frameMask), (int)d.Len);
            frame.Timestamp = now;
            frame.Queue = queue;
            buffers[(int)i] = frame;
        }
        _rx.Release(n);
        _fillOutstanding -= (int)n;
        _rxFrames += n;
        Refill(force: false);
        return (int)n;
    }

    /// <summary>
    /// Puts frames on the TX ring (this pool's frames in place, others copied) and returns how many it took; reaps
    /// the completion ring (freeing sent frames) and kicks the kernel when the TX ring asks for a wakeup. An empty
    /// span only reaps and kicks. Frames that are empty or longer than the device's largest frame are accepted,
    /// freed and counted (<see cref="AfXdpStatistics.TxDropped"/>).
    /// </summary>
    public int TransmitBurst(ReadOnlySpan<PacketBuffer> buffers, Instant now)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ReapCompletions();
        int accepted = 0;
        if (buffers.Length > 0)
        {
            uint free = _tx.FreeEntries((uint)buffers.Length);
            uint at = _tx.Next;
            uint written = 0;
            int maxBytes = Capabilities.MaxFrameBytes;
            for (; accepted < (int)free; accepted++)
            {
                PacketBuffer b = buffers[accepted];
                if (b.Length == 0 || b.Length > maxBytes)
                {
                    b.Free();
                    _txDropped++;
                    continue;
                }
                PacketBuffer frame = b;
                if (!ReferenceEquals(b.Pool, _pool))
                {
                    if (!_pool.TryAllocate(out PacketBuffer? copy))
                    {
                        break; // the caller keeps this frame and the rest
                    }
                    copy.TrySetData(_pool.HeadroomBytes, b.Length);
                    b.Data.CopyTo(copy.Data);
                    b.Free();
                    frame = copy;
                    _txCopied++;
                }
                ref Xdp.Desc d = ref _tx.Descriptor(at + written);
                d.Addr = ((ulong)frame.Index << _frameShift) + (ulong)frame.DataOffset;
                d.Len = (uint)frame.Length;
                d.Options = 0;
                _kernelHeld[frame.Index] = true;
                written++;
            }
            if (written > 0)
            {
                _tx.Submit(written);
                _txFrames += written;
            }
        }
        // Copy mode sends from the sendto() itself, at most 32 frames per call (the kernel's TX_BATCH_SIZE), so a burst
        // of more would leave a poll later, 32 at a time: kick until the ring is empty (bounded; a full completion
        // ring is reaped between kicks). Zero-copy mode only needs the driver woken once.
        if ((!_needWakeup || _tx.NeedsWakeup) && _tx.Outstanding > 0)
        {
            Wake(isTransmit: true);
            for (int kick = 1; !IsZeroCopy && kick < MaxKicksPerBurst && _tx.Outstanding > 0; kick++)
            {
                ReapCompletions();
                Wake(isTransmit: true);
            }
        }
        return accepted;
    }

    /// <summary>sendto calls one transmit burst may make in copy mode: 8 x 32 frames.</summary>
    private const int MaxKicksPerBurst = 8;

    /// <summary>Frees frames the kernel reports sent.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ReapCompletions()
    {
        uint n = _completion.AvailableEntries(ScratchFrames);
        if (n == 0)
        {
            return;
        }
        uint at = _completion.Next;
        for (uint i = 0; i < n; i++)
        {
            int index = (int)(_completion.Address(at + i) >> _frameShift);
            _kernelHeld[index] = false;
            _scratch[i] = _pool.GetFrame(index);
        }
        _completion.Release(n);
        _pool.FreeBurst(_scratch.AsSpan(0, (int)n));
        _txCompleted += n;
    }

    /// <summary>Tops the fill ring up to its target with free pool frames (in batches of at least 16 unless forced).</summary>
    private void Refill(bool force)
    {
        int missing = _fillTarget - _fillOutstanding;
        if (missing <= 0 || (!force && missing < MinimumRefill && _fillOutstanding > 0))
        {
            return;
        }
        while (missing > 0)
        {
            uint room = _fill.FreeEntries((uint)Math.Min(missing, ScratchFrames));
            if (room == 0)
            {
                return;
            }
            int got = _pool.AllocateBurst(_scratch.AsSpan(0, (int)room));
            uint at = _fill.Next;
            for (int i = 0; i < got; i++)
            {
                int index = _scratch[i].Index;
                _fill.Address(at + (uint)i) = (ulong)index << _frameShift;
                _kernelHeld[index] = true;
            }
            if (got > 0)
            {
                _fill.Submit((uint)got);
                _fillOutstanding += got;
                missing -= got;
            }
            if (got < room)
            {
                return; // the pool is short; try again next poll
            }
        }
    }

    /// <summary>sendto (TX) or recvfrom (fill) with MSG_DONTWAIT: the syscall the kernel asked for to make progress.</summary>
    private void Wake(bool isTransmit)
    {
        _wakeups++;
        nint r = isTransmit
            ? Libc.SendTo(_socket.Fd, null, 0, Libc.MSG_DONTWAIT, null, 0)
            : Libc.RecvFrom(_socket.Fd, null, 0, Libc.MSG_DONTWAIT, null, null);
        if (r < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno is not (Libc.EAGAIN or Libc.EBUSY or Libc.ENOBUFS or 100 /* ENETDOWN */ or Libc.EINTR))
            {
                _wakeupErrors++;
            }
        }
    }

    /// <summary>The kernel's XDP_STATISTICS for the socket plus the device's counters. A syscall: not for every poll.</summary>
    public AfXdpStatistics GetStatistics()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Xdp.Statistics s = default;
        int length = sizeof(Xdp.Statistics);
        if (Libc.GetSockOpt(_socket.Fd, Xdp.SOL_XDP, Xdp.XDP_STATISTICS, &s, &length) != 0)
        {
            throw DriverException.FromLastError("Reading AF_XDP statistics (XDP_STATISTICS)", "This kernel's AF_XDP is too old for statistics.");
        }
        return new AfXdpStatistics(s.RxDropped, s.RxInvalidDescs, s.TxInvalidDescs, s.RxRingFull, s.RxFillRingEmptyDescs, s.TxRingEmptyDescs,
            _rxFrames, _txFrames, _txCopied, _txDropped, _txCompleted, _wakeups, _wakeupErrors);
    }

    /// <summary>
    /// Detaches the XDP program (closes the link) first, so nothing is steered to a closing socket, then closes the
    /// socket, unmaps the rings and returns the frames the kernel held to the pool (and disposes the pool if the device
    /// created it). Idempotent. Not concurrent with bursts.
    /// </summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        _attachment.Dispose();
        CloseSocket();
        if (_ownsPool)
        {
            _pool.Dispose();
        }
    }
}

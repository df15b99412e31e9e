using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;
using Skiff.Drivers.Linux.Interop;

namespace Skiff.Drivers.Linux;

/// <summary>
/// A TAP interface (<c>/dev/net/tun</c>, IFF_TAP | IFF_NO_PI) as an <see cref="IDevice"/>: what the kernel transmits on the
/// interface is read here as Ethernet frames, and frames written here arrive in the kernel as if received on it. Use it
/// to talk to the local kernel (development, tests); it copies each frame once in each direction.
/// </summary>
/// <remarks>
/// <para>Opening creates the interface, or attaches to an existing TAP interface of that name. With
/// <see cref="TapOptions.MultiQueue"/> several devices can attach to one interface, one per queue. The file descriptor
/// is non-blocking; bursts never wait. A device opened inside a network namespace stays in it for life.</para>
/// <para>Frames from the kernel carry complete checksums (no virtio-net header is negotiated), so
/// <see cref="PacketBuffer.Checksum"/> is <see cref="ChecksumState.None"/> and the stack verifies them.</para>
/// <para>Thread-safety: one thread at a time uses the bursts (one engine loop per queue); counters may be read from any
/// thread. Dispose closes the queue: an interface this device created and did not make persistent is removed once the
/// kernel has torn it down, which can be a moment after Dispose returns (the kernel removes it when the last reference
/// to the queue's file is gone, and a process forked meanwhile holds one until it execs).</para>
/// <para>Reopening a name right after closing it is safe: if the old interface of that name is still busy, the open
/// retries for up to <see cref="BusyRetryMilliseconds"/> before it reports EBUSY, and <see cref="Created"/> compares
/// the interface's index before and after, so a new device never takes a dying one for an existing interface.</para>
/// </remarks>
public sealed unsafe class TapDevice : IDevice, IWaitableDevice, IDisposable
{
    /// <summary>How long an open waits for a busy interface of its name to go away (a just-closed one being torn down) before it reports it busy.</summary>
    public const int BusyRetryMilliseconds = 250;

    private readonly SafeFileHandle _handle;
    private readonly int _fd;
    private readonly int _receiveOffset;
    private readonly int _receiveCapacity;
    private long _rxPackets;
    private long _rxBytes;
    private long _rxNoBuffer;
    private long _rxErrors;
    private long _txPackets;
    private long _txBytes;
    private long _txErrors;
    private bool _disposed;

    /// <summary>
    /// Opens (creates or attaches to) the TAP interface <see cref="TapOptions.Name"/>. Received frames are read into
    /// buffers of <paramref name="pool"/>, at its default headroom. Throws <see cref="DriverException"/> with what to do
    /// when <c>/dev/net/tun</c> is missing, the process lacks CAP_NET_ADMIN, the name belongs to an interface that is
    /// not a TAP (or disagrees on multi-queue), the interface is busy, or the pool's frames are too small for its MTU.
    /// </summary>
    public TapDevice(TapOptions options, PacketPool pool)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(pool);
        options.Validate();
        Pool = pool;
        Options = options;

        string? requested = string.IsNullOrEmpty(options.Name) ? null : options.Name;
        int fd = Libc.Open(Tun.DevicePath, Libc.O_RDWR | Libc.O_NONBLOCK | Libc.O_CLOEXEC);
        if (fd < 0)
        {
            throw OpenFailure();
        }
        _fd = fd;
        _handle = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            Tun.IfReq request = default;
            if (requested is not null)
            {
                WriteName(ref request, requested);
            }
            request.Flags = (short)(Tun.IFF_TAP | Tun.IFF_NO_PI | (options.MultiQueue ? Tun.IFF_MULTI_QUEUE : 0));
            long deadline = Environment.TickCount64 + BusyRetryMilliseconds;
            int indexBefore;
            while (true)
            {
                indexBefore = requested is null ? 0 : (int)Libc.IfNameToIndex(requested);
                if (Tun.Ioctl(fd, Tun.TUNSETIFF, &request) == 0)
                {
                    break;
                }
                int errno = Marshal.GetLastPInvokeError();
                // EBUSY for an existing name: maybe a queue just closed whose interface the kernel is still tearing
                // down (its file held by a process forked meanwhile). Wait briefly for it to go rather than fail.
                if (errno != Libc.EBUSY || indexBefore == 0 || Environment.TickCount64 >= deadline)
                {
                    throw SetInterfaceFailure(requested, indexBefore != 0, options.MultiQueue, errno);
                }
                Thread.Sleep(10);
            }
            Name = ReadName(ref request);
            // Created: there was no interface of this name, or there was one and it is gone (a new one has a new index;
            // the kernel allocates indexes cyclically). Reading the index again is cheap next to TUNSETIFF.
            Created = indexBefore == 0 || (int)Libc.IfNameToIndex(Name) != indexBefore;
            if (options.Persistent)
            {
                if (Libc.Ioctl(fd, Tun.TUNSETPERSIST, (void*)1) != 0)
                {
                    throw DriverException.FromLastError($"Making TAP interface {Name} persistent (TUNSETPERSIST)", "Run as root, or open it with Persistent = false.");
                }
            }
            int mtu = ReadMtu(Name);
            _receiveOffset = pool.HeadroomBytes;
            _receiveCapacity = pool.FrameBytes - pool.HeadroomBytes;
            if (mtu + 14 > _receiveCapacity)
            {
                throw new DriverException(
                    $"TAP interface {Name} has MTU {mtu}, but a frame of the packet pool holds only {_receiveCapacity} bytes after its headroom: " +
                    $"use a pool with larger frames, or lower the MTU (ip link set {Name} mtu {_receiveCapacity - 14}).");
            }
            Capabilities = new DeviceCapabilities(MtuBytes: mtu, MaxBurst: options.MaxBurst);
        }
        catch
        {
            _handle.Dispose();
            throw;
        }
    }

    /// <summary>The interface name (the kernel's choice when <see cref="TapOptions.Name"/> was empty).</summary>
    public string Name { get; }

    /// <summary>True if this device created the interface; false if it attached to an existing one.</summary>
    public bool Created { get; }

    /// <summary>The options the device was opened with.</summary>
    public TapOptions Options { get; }

    /// <summary>MTU read from the interface at open (SIOCGIFMTU); the burst size from <see cref="TapOptions.MaxBurst"/>. No offloads.</summary>
    public DeviceCapabilities Capabilities { get; }

    /// <summary>The pool received frames are read into. Transmitted frames may come from any pool (they are copied).</summary>
    public PacketPool Pool { get; }

    /// <summary>Frames received.</summary>
    public long RxPackets => Volatile.Read(ref _rxPackets);

    /// <summary>Bytes received (Ethernet header included).</summary>
    public long RxBytes => Volatile.Read(ref _rxBytes);

    /// <summary>
    /// Receive bursts cut short because <see cref="Pool"/> was empty. The frames stay in the kernel's queue for the
    /// interface (up to its txqueuelen; beyond it the kernel drops and counts them as TX drops of the interface).
    /// </summary>
    public long RxNoBuffer => Volatile.Read(ref _rxNoBuffer);

    /// <summary>Reads that failed with an error other than "nothing to read" (e.g. the interface went away).</summary>
    public long RxErrors => Volatile.Read(ref _rxErrors);

    /// <summary>Frames written to the kernel.</summary>
    public long TxPackets => Volatile.Read(ref _txPackets);

    /// <summary>Bytes written to the kernel.</summary>
    public long TxBytes => Volatile.Read(ref _txBytes);

    /// <summary>Frames the kernel refused (interface down, malformed frame); they were freed and count as sent.</summary>
    public long TxErrors => Volatile.Read(ref _txErrors);

    /// <summary>The TAP file: readable when the kernel queued a frame for Skiff.</summary>
    int IWaitableDevice.ReceiveWaitDescriptor => _disposed ? -1 : _fd;

    /// <summary>Always false: frames stay in the kernel until read(2).</summary>
    bool IWaitableDevice.HasBufferedReceive => false;

    /// <summary>
    /// Reads up to <c>buffers.Length</c> frames, each into a frame of <see cref="Pool"/> at its default headroom and
    /// stamped with <paramref name="now"/>. Stops when the kernel has no more (EAGAIN) or the pool is empty (counted in
    /// <see cref="RxNoBuffer"/>). The returned frames belong to the caller.
    /// </summary>
    public int ReceiveBurst(Span<PacketBuffer> buffers, Instant now)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        int n = 0;
        while (n < buffers.Length)
        {
            if (!Pool.TryAllocate(out PacketBuffer? buffer))
            {
                _rxNoBuffer++;
                break;
            }
            nint read;
            do
            {
                read = Libc.Read(_fd, buffer.DangerousFramePointer + _receiveOffset, (nuint)_receiveCapacity);
            }
            while (read < 0 && Marshal.GetLastPInvokeError() == Libc.EINTR);
            if (read <= 0)
            {
                if (read < 0 && Marshal.GetLastPInvokeError() != Libc.EAGAIN)
                {
                    _rxErrors++;
                }
                buffer.Free();
                break;
            }
            buffer.TrySetData(_receiveOffset, (int)read);
            buffer.Timestamp = now;
            buffers[n++] = buffer;
            _rxPackets++;
            _rxBytes += read;
        }
        return n;
    }

    /// <summary>
    /// Writes the frames in order and frees each one written; returns how many it took. Stops at the first frame the
    /// kernel cannot take now (EAGAIN, ENOBUFS): that frame and the rest stay with the caller. A frame the kernel
    /// refuses for good (interface down, malformed) is freed and counted in <see cref="TxErrors"/>. An empty burst
    /// returns 0 (a TAP holds no frames, so the kick has nothing to do).
    /// </summary>
    public int TransmitBurst(ReadOnlySpan<PacketBuffer> buffers, Instant now)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        int n = 0;
        for (; n < buffers.Length; n++)
        {
            PacketBuffer buffer = buffers[n];
            nint written;
            do
            {
                written = Libc.Write(_fd, buffer.DangerousDataPointer, (nuint)buffer.Length);
            }
            while (written < 0 && Marshal.GetLastPInvokeError() == Libc.EINTR);
            if (written < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno is Libc.EAGAIN or Libc.ENOBUFS)
                {
                    break;
                }
                _txErrors++;
            }
            else
            {
                _txPackets++;
                _txBytes += written;
            }
            buffer.Free();
        }
        return n;
    }

    /// <summary>
    /// Closes this queue. An interface this device created without <see cref="TapOptions.Persistent"/> goes with its last
    /// queue, once the kernel has torn it down: possibly a moment after this returns, so do not expect the name free at
    /// once (reopening it is safe, see the remarks). Idempotent.
    /// </summary>
    public void Dispose()
    {
        _disposed = true;
        _handle.Dispose();
    }

    /// <summary>"TAP " and the interface name, e.g. "TAP skiff0".</summary>
    public override string ToString() => $"TAP {Name}";

    private static DriverException OpenFailure()
    {
        int errno = Marshal.GetLastPInvokeError();
        return errno switch
        {
            2 or Libc.ENODEV => new DriverException(
                $"{Tun.DevicePath} is missing: load the tun module (modprobe tun), or create the node (mkdir -p /dev/net && mknod {Tun.DevicePath} c 10 200).", errno),
            Libc.EACCES or Libc.EPERM => new DriverException(
                $"TAP needs access to {Tun.DevicePath} and CAP_NET_ADMIN: run as root.", errno),
            _ => DriverException.FromLastError($"Opening {Tun.DevicePath}", "Check that the tun module is loaded (modprobe tun)."),
        };
    }

    private static DriverException SetInterfaceFailure(string? name, bool existed, bool multiQueue, int errno)
    {
        string what = name is null ? "a TAP interface" : $"TAP interface {name}";
        return errno switch
        {
            Libc.EPERM or Libc.EACCES => new DriverException(
                $"Creating {what} needs CAP_NET_ADMIN: run as root.", errno),
            Libc.EINVAL when existed => new DriverException(
                $"Interface {name} exists but is not a TAP interface{(multiQueue ? " opened with multi-queue" : " opened without multi-queue")}: " +
                $"choose another name, delete it (ip link del {name}), or match its MultiQueue setting.", errno),
            Libc.EBUSY => new DriverException(
                $"TAP interface {name} is already open in another process or device (still after {BusyRetryMilliseconds} ms): close that one, or open every queue with MultiQueue = true.", errno),
            _ => new DriverException($"Creating {what} (TUNSETIFF) failed: {Libc.Describe(errno)} (errno {errno}). Check the interface name and that the tun module is loaded.", errno),
        };
    }

    private static void WriteName(ref Tun.IfReq request, string name)
    {
        fixed (byte* destination = request.Name)
        {
            // Validate() checked the length: at most 15 bytes, so the NUL from default(IfReq) stays.
            Encoding.UTF8.GetBytes(name, new Span<byte>(destination, Tun.InterfaceNameBytes - 1));
        }
    }

    private static string ReadName(ref Tun.IfReq request)
    {
        fixed (byte* source = request.Name)
        {
            ReadOnlySpan<byte> bytes = new(source, Tun.InterfaceNameBytes);
            int end = bytes.IndexOf((byte)0);
            return Encoding.UTF8.GetString(end < 0 ? bytes : bytes[..end]);
        }
    }

    private static int ReadMtu(string name)
    {
        int socket = Libc.Socket(Tun.AF_INET, Tun.SOCK_DGRAM | Libc.SOCK_CLOEXEC, 0);
        if (socket < 0)
        {
            throw DriverException.FromLastError($"Opening a socket to read the MTU of {name}", "Check that IPv4 is available in this network namespace.");
        }
        try
        {
            Tun.IfReq request = default;
            WriteName(ref request, name);
            if (Tun.Ioctl(socket, Tun.SIOCGIFMTU, &request) != 0)
            {
                throw DriverException.FromLastError($"Reading the MTU of {name} (SIOCGIFMTU)", "Check that the interface still exists.");
            }
            return request.Mtu;
        }
        finally
        {
            Libc.Close(socket);
        }
    }
}

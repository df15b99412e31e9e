using Microsoft.Win32.SafeHandles;
using Skiff.Drivers.Linux.Interop;

namespace Skiff.Drivers.Linux;

/// <summary>
/// A kernel file descriptor (a BPF map, program or link, or an AF_XDP socket) closed exactly once, by
/// <c>Dispose()</c> or, if that is forgotten, by the finalizer. Closing a BPF link fd detaches
/// its program; the kernel also closes every fd when the process dies, so nothing outlives the process.
/// </summary>
internal sealed class BpfFileDescriptor : SafeHandleMinusOneIsInvalid
{
    public BpfFileDescriptor(int fd)
        : base(ownsHandle: true)
    {
        SetHandle(fd);
    }

    /// <summary>The descriptor number (valid while the handle is open).</summary>
    public int Fd => (int)handle;

    protected override bool ReleaseHandle() => Libc.Close((int)handle) == 0;
}

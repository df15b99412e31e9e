using System.Runtime.InteropServices;

namespace Skiff.Drivers.Linux.Interop;

/// <summary>
/// TUN/TAP (linux/if_tun.h) and the interface ioctls (linux/if.h, linux/sockios.h) the TAP driver needs.
/// Ioctl numbers are for the generic _IOC layout (x86-64, arm64).
/// </summary>
internal static unsafe partial class Tun
{
    private const string Lib = "libc";

    public const string DevicePath = "/dev/net/tun";

    /// <summary>IFNAMSIZ: interface names hold at most 15 bytes plus the terminating NUL.</summary>
    public const int InterfaceNameBytes = 16;

    // if_tun.h: TUNSETIFF = _IOW('T', 202, int), TUNSETPERSIST = _IOW('T', 203, int).
    public const nuint TUNSETIFF = 0x400454ca;
    public const nuint TUNSETPERSIST = 0x400454cb;

    // if_tun.h: TUNSETIFF ifr_flags.
    public const short IFF_TAP = 0x0002;
    public const short IFF_MULTI_QUEUE = 0x0100;
    public const short IFF_NO_PI = 0x1000;

    // linux/sockios.h.
    public const nuint SIOCGIFMTU = 0x8921;

    public const int AF_INET = 2;
    public const int SOCK_DGRAM = 2;

    /// <summary>
    /// <c>struct ifreq</c> (linux/if.h): a 16-byte name and a 24-byte union (sockaddr, short flags, int mtu, ...);
    /// 40 bytes on 64-bit Linux.
    /// </summary>
    [StructLayout(LayoutKind.Explicit, Size = 40)]
    public struct IfReq
    {
        /// <summary><c>ifr_name</c>: NUL-terminated interface name.</summary>
        [FieldOffset(0)]
        public fixed byte Name[InterfaceNameBytes];

        /// <summary><c>ifr_flags</c> (TUNSETIFF).</summary>
        [FieldOffset(16)]
        public short Flags;

        /// <summary><c>ifr_mtu</c> (SIOCGIFMTU).</summary>
        [FieldOffset(16)]
        public int Mtu;
    }

    [LibraryImport(Lib, EntryPoint = "ioctl", SetLastError = true)]
    public static partial int Ioctl(int fd, nuint request, IfReq* ifreq);
}

using System.Runtime.InteropServices;

namespace Skiff.Drivers.Linux.Interop;

/// <summary>
/// The one ethtool ioctl Skiff needs (linux/ethtool.h, linux/sockios.h): ETHTOOL_GCHANNELS, how many queues an
/// interface has, asked in the calling thread's network namespace (sysfs may show another).
/// </summary>
internal static unsafe class Ethtool
{
    /// <summary>SIOCETHTOOL (linux/sockios.h).</summary>
    public const nuint SIOCETHTOOL = 0x8946;

    /// <summary>ETHTOOL_GCHANNELS: get the channel (queue) counts.</summary>
    public const uint ETHTOOL_GCHANNELS = 0x3c;

    /// <summary><c>struct ethtool_channels</c> (36 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Channels
    {
        public uint Cmd;
        public uint MaxRx;
        public uint MaxTx;
        public uint MaxOther;
        public uint MaxCombined;
        public uint RxCount;
        public uint TxCount;
        public uint OtherCount;
        public uint CombinedCount;
    }

    /// <summary><c>struct ifreq</c> (40 bytes) viewed as ifr_name plus the <c>ifr_data</c> pointer of its union.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 40)]
    public struct IfReqData
    {
        [FieldOffset(0)]
        public fixed byte Name[16];

        [FieldOffset(16)]
        public void* Data;
    }
}

using System.Runtime.InteropServices;
using System.Text;
using Skiff.Drivers.Linux.Interop;

namespace Skiff.Drivers.Linux;

/// <summary>
/// The bpf(2) commands Skiff's XDP path needs: create an XSKMAP, put a socket in it, load an XDP program
/// (with the verifier's log on failure), and attach it to an interface through a BPF link. Setup only; every
/// method throws <see cref="DriverException"/> with a sentence saying what to do.
/// </summary>
internal static unsafe class BpfLoader
{
    /// <summary>What AF_XDP needs, for every refusal of a privilege on its way (docs/operators.md lists the same).</summary>
    internal const string PrivilegeAdvice =
        "AF_XDP needs CAP_NET_RAW, CAP_NET_ADMIN and CAP_BPF, and CAP_IPC_LOCK or a locked-memory limit that holds the packet pool: " +
        "run as root, grant them (docs/operators.md), or use --driver afpacket.";

    /// <summary>Creates a BPF_MAP_TYPE_XSKMAP with u32 keys (queue ids) and u32 values (AF_XDP socket fds).</summary>
    public static BpfFileDescriptor CreateXskMap(int maxEntries, string name)
    {
        Bpf.Attr attr = default;
        attr.MapType = Bpf.BPF_MAP_TYPE_XSKMAP;
        attr.KeySize = 4;
        attr.ValueSize = 4;
        attr.MaxEntries = (uint)maxEntries;
        WriteName(attr.MapName, name);
        int fd = Bpf.Call(Bpf.BPF_MAP_CREATE, ref attr);
        if (fd < 0)
        {
            throw DriverException.FromLastError("Creating the XSKMAP (bpf BPF_MAP_CREATE)", PrivilegeAdvice);
        }
        return new BpfFileDescriptor(fd);
    }

    /// <summary>map[key] = value (BPF_ANY) for a map of u32 keys and values; throws <see cref="DriverException"/> with <paramref name="what"/> and <paramref name="advice"/>.</summary>
    public static void UpdateElement(BpfFileDescriptor map, uint key, uint value, string what, string advice)
    {
        Bpf.Attr attr = default;
        attr.MapFd = (uint)map.Fd;
        attr.Key = (ulong)&key;
        attr.Value = (ulong)&value;
        attr.ElemFlags = Bpf.BPF_ANY;
        if (Bpf.Call(Bpf.BPF_MAP_UPDATE_ELEM, ref attr) != 0)
        {
            throw DriverException.FromLastError($"{what} (bpf BPF_MAP_UPDATE_ELEM)", advice);
        }
    }

    /// <summary>
    /// Loads an XDP program (license "Dual BSD/GPL"). On failure it loads again with the verifier's log on and
    /// puts the log in the exception.
    /// </summary>
    public static BpfFileDescriptor LoadXdpProgram(ReadOnlySpan<BpfInstruction> program, string name)
    {
        int fd = Load(program, name, Bpf.BPF_PROG_TYPE_XDP, Bpf.BPF_XDP, "Dual BSD/GPL\0"u8, null, 0, out int errno);
        if (fd >= 0)
        {
            return new BpfFileDescriptor(fd);
        }
        if (errno is Libc.EPERM or Libc.EACCES && !Environment.IsPrivilegedProcess)
        {
            throw new DriverException($"Loading Skiff's XDP program failed: {Libc.Describe(errno)}. {PrivilegeAdvice}", errno);
        }
        fd = LoadWithVerifierLog(program, name, Bpf.BPF_PROG_TYPE_XDP, Bpf.BPF_XDP, "Dual BSD/GPL\0"u8, out errno, out string log);
        if (fd >= 0)
        {
            return new BpfFileDescriptor(fd);
        }
        throw new DriverException(
            $"The kernel's verifier refused Skiff's XDP program ({program.Length} instructions): {Libc.Describe(errno)} (errno {errno}). " +
            $"This is a bug in Skiff; please report it with this log, and use --driver afpacket meanwhile.{Environment.NewLine}{log}", errno);
    }

    /// <summary>
    /// Loads again with the verifier's log on (level 1: its path through the program and why it refused it), after a
    /// load without it failed. Returns the fd, or -1 with the errno and the log's last 4000 characters.
    /// </summary>
    public static int LoadWithVerifierLog(ReadOnlySpan<BpfInstruction> program, string name, uint programType, uint attachType,
        ReadOnlySpan<byte> license, out int errno, out string log)
    {
        const int LogBytes = 1 << 20;
        byte[] buffer = new byte[LogBytes];
        int fd;
        fixed (byte* logPointer = buffer)
        {
            fd = Load(program, name, programType, attachType, license, logPointer, LogBytes, out errno);
        }
        int end = Array.IndexOf(buffer, (byte)0);
        string text = Encoding.UTF8.GetString(buffer, 0, end < 0 ? buffer.Length : end).Trim();
        log = text.Length > 4000 ? "..." + text[^4000..] : text;
        return fd;
    }

    /// <summary>bpf(BPF_PROG_LOAD) of <paramref name="program"/> (<paramref name="license"/> NUL-terminated); returns the fd, or -1 with the errno.</summary>
    public static int Load(ReadOnlySpan<BpfInstruction> program, string name, uint programType, uint attachType, ReadOnlySpan<byte> license,
        byte* log, int logBytes, out int errno)
    {
        fixed (BpfInstruction* instructions = program)
        fixed (byte* licensePointer = license)
        {
            Bpf.Attr attr = default;
            attr.ProgType = programType;
            attr.InsnCount = (uint)program.Length;
            attr.Insns = (ulong)instructions;
            attr.License = (ulong)licensePointer;
            attr.LogLevel = log == null ? 0u : 1u;
            attr.LogSize = (uint)logBytes;
            attr.LogBuf = (ulong)log;
            attr.ExpectedAttachType = attachType;
            WriteName(attr.ProgName, name);
            int fd = Bpf.Call(Bpf.BPF_PROG_LOAD, ref attr);
            errno = fd < 0 ? Marshal.GetLastPInvokeError() : 0;
            return fd;
        }
    }

    /// <summary>
    /// Attaches <paramref name="program"/> to interface <paramref name="ifIndex"/> with BPF_LINK_CREATE. The attachment
    /// lives exactly as long as the returned link fd. Returns null with the errno when the kernel refuses this mode.
    /// </summary>
    public static BpfFileDescriptor? TryCreateXdpLink(BpfFileDescriptor program, int ifIndex, uint flags, out int errno)
    {
        Bpf.Attr attr = default;
        attr.LinkProgFd = (uint)program.Fd;
        attr.LinkTargetIfIndex = (uint)ifIndex;
        attr.LinkAttachType = Bpf.BPF_XDP;
        attr.LinkFlags = flags;
        int fd = Bpf.Call(Bpf.BPF_LINK_CREATE, ref attr);
        if (fd < 0)
        {
            errno = Marshal.GetLastPInvokeError();
            return null;
        }
        errno = 0;
        return new BpfFileDescriptor(fd);
    }

    /// <summary>Writes a kernel object name: at most 15 characters of [A-Za-z0-9_.], NUL-terminated.</summary>
    private static void WriteName(byte* destination, string name)
    {
        int n = Math.Min(name.Length, 15);
        for (int i = 0; i < n; i++)
        {
            char c = name[i];
            destination[i] = char.IsAsciiLetterOrDigit(c) || c == '.' ? (byte)c : (byte)'_';
        }
        destination[n] = 0;
    }
}

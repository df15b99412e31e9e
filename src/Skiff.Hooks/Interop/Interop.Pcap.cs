using System.Runtime.InteropServices;

namespace Skiff.Hooks.Interop;

/// <summary>
/// The parts of libpcap (pcap/pcap.h, pcap/bpf.h) Skiff calls: a "dead" handle to compile filter expressions
/// against a link type, <c>pcap_compile</c> and its error text, and the reference filter runners
/// (<c>pcap_offline_filter</c>, <c>bpf_filter</c>, <c>bpf_image</c>) that tests and benchmarks compare with.
/// Debian ships the library as <c>libpcap.so.0.8</c> in the package libpcap0.8.
/// </summary>
internal static unsafe partial class Pcap
{
    public const string Library = "libpcap.so.0.8";

    // pcap/dlt.h
    public const int DLT_NULL = 0;
    public const int DLT_EN10MB = 1;
    public const int DLT_RAW = 12; // Linux's value; the file format calls it LINKTYPE_RAW (101)

    // pcap/pcap.h: the netmask argument when it is not known ("ip broadcast" then fails to compile)
    public const uint PCAP_NETMASK_UNKNOWN = 0xffffffff;

    /// <summary><c>struct bpf_program</c>: a count and a pointer to <c>struct bpf_insn</c> (8 bytes each).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct BpfProgramNative
    {
        public uint Length;
        public void* Instructions;
    }

    /// <summary><c>struct pcap_pkthdr</c> on LP64 Linux: <c>struct timeval</c> (two longs), caplen, len.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct PacketHeader
    {
        public long Seconds;
        public long Microseconds;
        public uint CaptureLength;
        public uint WireLength;
    }

    /// <summary><c>pcap_t *pcap_open_dead(int linktype, int snaplen)</c>: a handle with no device, for compiling; null on failure.</summary>
    [LibraryImport(Library, EntryPoint = "pcap_open_dead")]
    public static partial nint OpenDead(int linkType, int snapLength);

    /// <summary><c>int pcap_compile(pcap_t *, struct bpf_program *, const char *, int optimize, bpf_u_int32 netmask)</c>: 0, or -1 with the message in <see cref="GetError"/>.</summary>
    [LibraryImport(Library, EntryPoint = "pcap_compile", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Compile(nint handle, BpfProgramNative* program, string expression, int optimize, uint netmask);

    /// <summary><c>char *pcap_geterr(pcap_t *)</c>: the handle's last error; owned by the handle, not freed by the caller.</summary>
    [LibraryImport(Library, EntryPoint = "pcap_geterr")]
    public static partial byte* GetError(nint handle);

    /// <summary><c>void pcap_freecode(struct bpf_program *)</c>: frees what <see cref="Compile"/> allocated.</summary>
    [LibraryImport(Library, EntryPoint = "pcap_freecode")]
    public static partial void FreeCode(BpfProgramNative* program);

    /// <summary><c>void pcap_close(pcap_t *)</c>.</summary>
    [LibraryImport(Library, EntryPoint = "pcap_close")]
    public static partial void Close(nint handle);

    /// <summary><c>int pcap_offline_filter(const struct bpf_program *, const struct pcap_pkthdr *, const u_char *)</c>: what the program returns for the frame (0 = reject).</summary>
    [LibraryImport(Library, EntryPoint = "pcap_offline_filter")]
    public static partial int OfflineFilter(BpfProgramNative* program, PacketHeader* header, byte* packet);

    /// <summary><c>u_int bpf_filter(const struct bpf_insn *, const u_char *, u_int wirelen, u_int buflen)</c>: libpcap's interpreter, without a header to fill.</summary>
    [LibraryImport(Library, EntryPoint = "bpf_filter")]
    public static partial uint Filter(void* instructions, byte* packet, uint wireLength, uint capturedLength);

    /// <summary><c>char *bpf_image(const struct bpf_insn *, int n)</c>: one line of <c>tcpdump -d</c> (a static buffer; copy it at once).</summary>
    [LibraryImport(Library, EntryPoint = "bpf_image")]
    public static partial byte* Image(void* instruction, int index);
}

using System.Runtime.InteropServices;
using Skiff.Hooks.Interop;
using Skiff.Wire.Pcap;

namespace Skiff.Hooks.Bpf;

/// <summary>
/// Compiles tcpdump filter expressions (pcap-filter(7)) to classic BPF with libpcap's own compiler
/// (<c>pcap_compile</c> on a <c>pcap_open_dead</c> handle, optimised, netmask unknown), then verifies the result
/// with <see cref="BpfVerifier"/>. Only compilation uses libpcap; running the program is Skiff's own code.
/// </summary>
/// <remarks>Thread-safe: calls into libpcap are serialised (older libpcap compilers keep global state).</remarks>
public static class PcapCompiler
{
    /// <summary>tcpdump's default snapshot length; what a matching program returns.</summary>
    public const int DefaultSnapLength = 262_144;

    /// <summary>Held around every call into libpcap's compiler (tests that call libpcap directly take it too).</summary>
    internal static readonly Lock LibpcapLock = new();

    /// <summary>
    /// Compiles <paramref name="expression"/> for Ethernet frames. Throws <see cref="BpfCompileException"/> with
    /// libpcap's message and the expression when it is not a valid filter, and with what to install when libpcap
    /// (Debian's libpcap0.8) is missing. An empty expression accepts every frame.
    /// </summary>
    public static BpfProgram Compile(string expression, int snapLength = DefaultSnapLength) =>
        Compile(expression, snapLength, LinkType.Ethernet);

    /// <summary>As <see cref="Compile(string, int)"/>, for frames of <paramref name="linkType"/> (e.g. raw IP captures).</summary>
    public static unsafe BpfProgram Compile(string expression, int snapLength, LinkType linkType)
    {
        ArgumentNullException.ThrowIfNull(expression);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(snapLength);
        BpfInstruction[] instructions;
        lock (LibpcapLock)
        {
            nint handle = OpenDead(expression, linkType, snapLength);
            try
            {
                Pcap.BpfProgramNative native = default;
                if (Pcap.Compile(handle, &native, expression, optimize: 1, Pcap.PCAP_NETMASK_UNKNOWN) != 0)
                {
                    string message = Marshal.PtrToStringUTF8((nint)Pcap.GetError(handle)) ?? "unknown error";
                    throw new BpfCompileException(expression,
                        $"The filter expression '{expression}' is not valid: {message}. Write it as for tcpdump (see man pcap-filter), e.g. 'tcp port 80 and host 10.0.0.1'.",
                        message);
                }
                try
                {
                    instructions = new ReadOnlySpan<BpfInstruction>(native.Instructions, checked((int)native.Length)).ToArray();
                }
                finally
                {
                    Pcap.FreeCode(&native);
                }
            }
            finally
            {
                Pcap.Close(handle);
            }
        }
        if (!BpfProgram.TryCreate(instructions, out BpfProgram? program, out BpfVerificationResult result))
        {
            throw new BpfCompileException(expression,
                $"libpcap compiled '{expression}' to a program that Skiff, like the Linux kernel, refuses to run: {result.Reason} Rewrite the filter without that construct.");
        }
        return program;
    }

    private static nint OpenDead(string expression, LinkType linkType, int snapLength)
    {
        int dlt = linkType switch
        {
            LinkType.Raw => Pcap.DLT_RAW,
            LinkType.Unknown => throw new BpfCompileException(expression, $"Cannot compile '{expression}' for an unknown link type; filters need to know the frame's first header."),
            _ => (int)linkType,
        };
        nint handle;
        try
        {
            handle = Pcap.OpenDead(dlt, snapLength);
        }
        catch (DllNotFoundException e)
        {
            throw new BpfCompileException(expression,
                $"Cannot compile the filter '{expression}': libpcap ({Pcap.Library}) is not installed. Install Debian's libpcap0.8 (apt-get install libpcap0.8) and try again.",
                inner: e);
        }
        if (handle == 0)
        {
            throw new BpfCompileException(expression, $"Cannot compile the filter '{expression}': libpcap could not open a handle for link type {linkType} (out of memory?).");
        }
        return handle;
    }
}

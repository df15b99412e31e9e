using Skiff.Wire.Pcap;

namespace Skiff.Hooks.Bpf;

/// <summary>
/// A tcpdump filter expression, compiled by libpcap (<see cref="PcapCompiler"/>), verified and compiled to native
/// code (<see cref="BpfJit"/>): <see cref="Matches(ReadOnlySpan{byte})"/> says whether a frame passes, as
/// <c>tcpdump EXPR</c> would. Immutable; thread-safe; no allocation per frame.
/// </summary>
public sealed class BpfFilter
{
    private readonly CompiledBpfFilter _compiled;

    private BpfFilter(string expression, CompiledBpfFilter compiled)
    {
        Expression = expression;
        _compiled = compiled;
    }

    /// <summary>The expression as given.</summary>
    public string Expression { get; }

    /// <summary>The verified classic BPF program libpcap made of <see cref="Expression"/>.</summary>
    public BpfProgram Program => _compiled.Program;

    /// <summary>The program compiled to native code.</summary>
    public CompiledBpfFilter Compiled => _compiled;

    /// <summary>
    /// Compiles <paramref name="expression"/> for frames of <paramref name="linkType"/> (Ethernet by default). Throws
    /// <see cref="BpfCompileException"/> with libpcap's message when it is not valid, or with what to install when
    /// libpcap is missing.
    /// </summary>
    public static BpfFilter Compile(string expression, int snapLength = PcapCompiler.DefaultSnapLength, LinkType linkType = LinkType.Ethernet) =>
        new(expression, BpfJit.Compile(PcapCompiler.Compile(expression, snapLength, linkType)));

    /// <summary>True when a whole frame (nothing cut off: wire length = <c>frame.Length</c>) passes the filter.</summary>
    public bool Matches(ReadOnlySpan<byte> frame) => _compiled.Run(frame, frame.Length) != 0;

    /// <summary>True when a frame of which <paramref name="captured"/> bytes were kept, of <paramref name="wireLength"/> on the wire, passes.</summary>
    public bool Matches(ReadOnlySpan<byte> captured, int wireLength) => _compiled.Run(captured, wireLength) != 0;

    /// <summary>The tcpdump expression the filter was compiled from.</summary>
    public override string ToString() => Expression;
}

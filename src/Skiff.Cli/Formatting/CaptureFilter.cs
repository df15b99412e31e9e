using Skiff.Hooks.Bpf;
using Skiff.Wire.Pcap;

namespace Skiff.Cli.Formatting;

/// <summary>
/// A tcpdump filter expression for <c>skiff read FILE EXPR</c>: compiled by libpcap and JIT-compiled by Skiff once
/// per link type met in the file (a pcapng file may mix them), then run on every frame with its captured bytes
/// and wire length, as <c>tcpdump -r FILE EXPR</c> does. Not thread-safe.
/// </summary>
internal sealed class CaptureFilter(string expression)
{
    private readonly Dictionary<LinkType, BpfFilter> _byLinkType = [];

    /// <summary>The expression as the user gave it (arguments joined by spaces).</summary>
    public string Expression { get; } = expression;

    /// <summary>Compiles the filter for <paramref name="linkType"/> now, so a bad expression is reported before any output. Throws <see cref="BpfCompileException"/>.</summary>
    public void Prepare(LinkType linkType)
    {
        if (!_byLinkType.ContainsKey(linkType))
        {
            _byLinkType[linkType] = BpfFilter.Compile(Expression, PcapCompiler.DefaultSnapLength, linkType);
        }
    }

    /// <summary>True when the frame passes. Throws <see cref="BpfCompileException"/> when the expression cannot apply to the record's link type.</summary>
    public bool Matches(in CaptureRecord record)
    {
        if (!_byLinkType.TryGetValue(record.LinkType, out BpfFilter? filter))
        {
            Prepare(record.LinkType);
            filter = _byLinkType[record.LinkType];
        }
        return filter.Matches(record.Data, Math.Max(record.OriginalLength, 0));
    }
}

using System.Globalization;
using System.Text.RegularExpressions;

namespace Skiff.Drivers.Linux.Tests.Support;

/// <summary>
/// Loss and duplication on the kernel peer's link, made by nftables (this kernel has no netem, TESTING.md): a
/// <c>table netdev</c> in the peer's namespace with a chain on the link's ingress (frames Skiff sent, before the kernel
/// stack sees them) and one on its egress (frames the kernel sends to Skiff). Each chain drops
/// <see cref="DropPercent"/> % of frames at random; the egress chain also sends a second copy of
/// <see cref="DuplicatePercent"/> % of the frames it passes (<c>dup to</c> the same link, so Skiff receives both).
/// Every rule has a named counter, read by <see cref="Read"/> and printed by <see cref="Describe"/>.
/// </summary>
/// <remarks>
/// The table lives in the peer's namespace, which the test created; deleting the namespace deletes the table, so there
/// is nothing else to undo. Ingress has no duplication: <c>dup to</c> from an ingress hook transmits the copy out of
/// the link, which would hand Skiff back its own frame instead of giving the kernel a duplicate.
/// </remarks>
public sealed partial class NftImpairment
{
    public const string Table = "skiff_impair";

    private readonly string _namespace;

    private NftImpairment(string ns, string link, int dropPercent, int duplicatePercent)
    {
        _namespace = ns;
        Link = link;
        DropPercent = dropPercent;
        DuplicatePercent = duplicatePercent;
    }

    public string Link { get; }

    public int DropPercent { get; }

    public int DuplicatePercent { get; }

    /// <summary>Installs the table on <see cref="DriverSetup.PeerLink"/> in <see cref="DriverSetup.PeerNamespace"/>.</summary>
    public static NftImpairment Apply(DriverSetup setup, int dropPercent, int duplicatePercent)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(dropPercent);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(dropPercent, 100);
        ArgumentOutOfRangeException.ThrowIfNegative(duplicatePercent);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(duplicatePercent, 100);
        string link = setup.PeerLink;
        // numgen random draws a fresh number per rule, so the duplicate rule sees only frames the drop rule let pass.
        string ruleset = $$"""
            table netdev {{Table}} {
                counter ingress_dropped {}
                counter ingress_passed {}
                counter egress_dropped {}
                counter egress_duplicated {}
                counter egress_passed {}
                chain ingress {
                    type filter hook ingress device "{{link}}" priority 0; policy accept;
                    numgen random mod 100 < {{dropPercent}} counter name "ingress_dropped" drop
                    counter name "ingress_passed"
                }
                chain egress {
                    type filter hook egress device "{{link}}" priority 0; policy accept;
                    numgen random mod 100 < {{dropPercent}} counter name "egress_dropped" drop
                    numgen random mod 100 < {{duplicatePercent}} counter name "egress_duplicated" dup to "{{link}}"
                    counter name "egress_passed"
                }
            }
            """;
        string file = Path.Combine(Path.GetTempPath(), $"skiff-nft-{Guid.NewGuid():N}.nft");
        File.WriteAllText(file, ruleset);
        try
        {
            ExternalTools.Check("ip", setup.InPeer(ExternalTools.Require("nft"), "-f", file));
        }
        finally
        {
            File.Delete(file);
        }
        return new NftImpairment(setup.PeerNamespace, link, dropPercent, duplicatePercent);
    }

    /// <summary>Packets counted so far, by counter name (ingress_dropped, ingress_passed, egress_dropped, egress_duplicated, egress_passed).</summary>
    public IReadOnlyDictionary<string, long> Read()
    {
        string listing = ExternalTools.Check("ip", NetnsPair.In(_namespace, ExternalTools.Require("nft"), "list", "counters", "table", "netdev", Table)).Output;
        Dictionary<string, long> counts = [];
        foreach (Match m in CounterPattern().Matches(listing))
        {
            counts[m.Groups[1].Value] = long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
        }
        return counts;
    }

    /// <summary>One line for failure reports; never throws.</summary>
    public string Describe()
    {
        try
        {
            return $"nft on {Link} ({DropPercent} % drop each way, {DuplicatePercent} % duplicated towards Skiff): "
                + string.Join(", ", Read().Select(c => $"{c.Key} {c.Value}"));
        }
        catch (Exception e)
        {
            return $"nft counters unreadable: {e.Message}";
        }
    }

    [GeneratedRegex(@"counter (\w+) \{\s*packets (\d+)", RegexOptions.CultureInvariant)]
    private static partial Regex CounterPattern();
}

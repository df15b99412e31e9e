using System.Globalization;
using Skiff.Hooks.Bpf;

namespace DdosFilter;

/// <summary>The filter's command line, parsed. <see cref="TryParse"/> turns a bad one into a sentence saying what to write.</summary>
public sealed class DdosOptions
{
    public const string Usage = """
        DdosFilter: Skiff in front of a host, as a bump in the wire: frames from the wire go through drop rules, per-source
        rate limits and a SYN proxy, and what passes is forwarded unchanged to the host's kernel (and its answers back).

          DdosFilter --wire IF --host IF [--driver afxdp|afpacket|tap] [--drop EXPR]... [--rules FILE]
                     [--rate PPS] [--burst N] [--sources N] [--syn-proxy PORT]... [--mss N] [--flows N]
                     [--seconds S] [--stats-socket PATH|none] [--busy-poll]

          --wire IF          the interface facing the network (clients and attackers)
          --host IF          the interface into the host's kernel (a veth whose peer is the host's, or a TAP)
          --driver D         afxdp (default), afpacket or tap
          --drop EXPR        drop the wire's frames that match a tcpdump expression (repeatable)
          --rules FILE       more drop rules, one tcpdump expression per line, # comments
          --rate PPS         packets per second per IPv4 source from the wire (default 10000; 0: no rate limit)
          --burst N          a source's bucket size in packets (default: the rate)
          --sources N        sources tracked at once, the table's fixed size (default 65536)
          --syn-proxy PORT   answer SYNs to this TCP port with SYN cookies; connect to the host only for a valid ACK (repeatable)
          --mss N            the MSS announced in the cookie SYN-ACK (default 1460)
          --flows N          proxied connections tracked at once (default 65536)
          --seconds S        stop after S seconds (default: at Ctrl-C or SIGTERM)
          --stats-socket P   the control socket for skiff stats and skiff capture (default skiff-app-PID.sock; none for none)
          --busy-poll        never sleep between polls

        Example:
          DdosFilter --wire eth0 --host veth-host --drop 'udp src port 11211' --drop 'udp src port 53 and greater 600' \
                     --rate 2000 --syn-proxy 80 --syn-proxy 443
        """;

    public string Driver { get; private set; } = "afxdp";
    public string Wire { get; private set; } = "";
    public string Host { get; private set; } = "";
    public List<string> Rules { get; } = [];
    public long Rate { get; private set; } = 10_000;
    public long Burst { get; private set; }
    public int Sources { get; private set; } = 65_536;
    public List<ushort> SynProxyPorts { get; } = [];
    public ushort Mss { get; private set; } = 1460;
    public int Flows { get; private set; } = 65_536;
    public double Seconds { get; private set; }
    public string? StatsSocket { get; private set; }
    public bool BusyPoll { get; private set; }

    /// <summary>Parses <paramref name="args"/>; on failure <paramref name="error"/> says what is wrong and what to write.</summary>
    public static bool TryParse(IReadOnlyList<string> args, out DdosOptions options, out string error)
    {
        options = new DdosOptions();
        error = "";
        bool burstGiven = false;
        for (int i = 0; i < args.Count; i++)
        {
            string name = args[i];
            if (name is "--busy-poll")
            {
                options.BusyPoll = true;
                continue;
            }
            if (name is "-h" or "--help")
            {
                error = Usage;
                return false;
            }
            if (!name.StartsWith("--", StringComparison.Ordinal))
            {
                error = $"Unexpected argument '{name}'; every value follows its option (quote a tcpdump expression: --drop 'udp port 53').";
                return false;
            }
            if (i + 1 >= args.Count)
            {
                error = $"{name} needs a value.";
                return false;
            }
            string value = args[++i];
            switch (name)
            {
                case "--driver":
                    if (value is not ("afxdp" or "afpacket" or "tap"))
                    {
                        error = $"--driver '{value}' is not one of afxdp, afpacket, tap.";
                        return false;
                    }
                    options.Driver = value;
                    break;
                case "--wire":
                    options.Wire = value;
                    break;
                case "--host":
                    options.Host = value;
                    break;
                case "--drop":
                    if (string.IsNullOrWhiteSpace(value))
                    {
                        error = "--drop needs a tcpdump expression; an empty one would drop every frame. Write e.g. --drop 'udp port 11211'.";
                        return false;
                    }
                    options.Rules.Add(value.Trim());
                    break;
                case "--rules":
                    if (!File.Exists(value))
                    {
                        error = $"The rules file {value} does not exist; give a file with one tcpdump expression per line.";
                        return false;
                    }
                    options.Rules.AddRange(ReadRules(File.ReadAllText(value)));
                    break;
                case "--rate":
                    if (!TryLong(value, 0, 1_000_000_000, out long rate))
                    {
                        error = $"--rate '{value}' is not a number of packets per second from 0 (no limit) to 1000000000.";
                        return false;
                    }
                    options.Rate = rate;
                    break;
                case "--burst":
                    if (!TryLong(value, 1, 1_000_000_000, out long burst))
                    {
                        error = $"--burst '{value}' is not a number of packets from 1 to 1000000000.";
                        return false;
                    }
                    options.Burst = burst;
                    burstGiven = true;
                    break;
                case "--sources":
                    if (!TryLong(value, 4, 1 << 26, out long sources))
                    {
                        error = $"--sources '{value}' is not a table size from 4 to {1 << 26}.";
                        return false;
                    }
                    options.Sources = (int)sources;
                    break;
                case "--syn-proxy":
                    if (!TryLong(value, 1, 65535, out long port))
                    {
                        error = $"--syn-proxy '{value}' is not a TCP port from 1 to 65535.";
                        return false;
                    }
                    options.SynProxyPorts.Add((ushort)port);
                    break;
                case "--mss":
                    if (!TryLong(value, 536, 9000, out long mss))
                    {
                        error = $"--mss '{value}' is not an MSS from 536 to 9000.";
                        return false;
                    }
                    options.Mss = (ushort)mss;
                    break;
                case "--flows":
                    if (!TryLong(value, 4, 1 << 24, out long flows))
                    {
                        error = $"--flows '{value}' is not a table size from 4 to {1 << 24}.";
                        return false;
                    }
                    options.Flows = (int)flows;
                    break;
                case "--seconds":
                    if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds) || !double.IsFinite(seconds) || seconds < 0)
                    {
                        error = $"--seconds '{value}' is not a number of seconds, 0 or more.";
                        return false;
                    }
                    options.Seconds = seconds;
                    break;
                case "--stats-socket":
                    options.StatsSocket = value;
                    break;
                default:
                    error = $"Unknown option {name}; see --help.";
                    return false;
            }
        }
        if (options.Wire.Length == 0 || options.Host.Length == 0)
        {
            error = "Give both interfaces: --wire IF (towards the network) and --host IF (into the host's kernel).";
            return false;
        }
        if (options.Wire == options.Host)
        {
            error = $"--wire and --host are both {options.Wire}; the filter sits between two interfaces.";
            return false;
        }
        if (!burstGiven)
        {
            options.Burst = Math.Max(1, options.Rate);
        }
        return true;
    }

    /// <summary>The rules of a rules file: one tcpdump expression per line; blank lines and # comments left out.</summary>
    public static IEnumerable<string> ReadRules(string text)
    {
        foreach (string raw in text.Split('\n'))
        {
            int hash = raw.IndexOf('#', StringComparison.Ordinal);
            string line = (hash >= 0 ? raw[..hash] : raw).Trim();
            if (line.Length > 0)
            {
                yield return line;
            }
        }
    }

    /// <summary>Compiles every rule (libpcap, Skiff's verifier and JIT); on failure <paramref name="error"/> names the rule and libpcap's reason.</summary>
    public bool TryCompileRules(out List<BpfFilter> filters, out string error)
    {
        filters = [];
        error = "";
        foreach (string rule in Rules)
        {
            try
            {
                filters.Add(BpfFilter.Compile(rule));
            }
            catch (Exception e) when (e is BpfCompileException or DllNotFoundException)
            {
                error = $"The drop rule '{rule}' was not accepted: {e.Message}";
                return false;
            }
        }
        return true;
    }

    private static bool TryLong(string text, long min, long max, out long value) =>
        long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out value) && value >= min && value <= max;
}

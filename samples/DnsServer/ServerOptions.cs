using System.Globalization;
using Skiff.Drivers.Linux;
using Skiff.Samples.DnsServer.Dns;
using Skiff.Wire;

namespace Skiff.Samples.DnsServer;

/// <summary>The command line of the sample; every mistake is one sentence saying what to give instead.</summary>
public sealed record ServerOptions
{
    public required string Driver { get; init; }

    public required string Interface { get; init; }

    public required Ipv4Cidr Address { get; init; }

    public required string ZoneFile { get; init; }

    public DnsName? Origin { get; init; }

    public ushort Port { get; init; } = 53;

    public Ipv4Address? Gateway { get; init; }

    public MacAddress? Mac { get; init; }

    public int MaxUdpBytes { get; init; } = DnsAnswerer.DefaultMaxUdpBytes;

    public int Cores { get; init; } = 1;

    public bool BusyPoll { get; init; }

    public string? StatsSocket { get; init; }

    public double? Seconds { get; init; }

    public int PoolFrames { get; init; } = 16384;

    public const string Usage =
        "usage: DnsServer --driver afxdp|afpacket|tap --iface IF --ip ADDR/LEN --zone FILE [--origin NAME] [--port 53] [--gateway ADDR] [--mac MAC]\n" +
        "                 [--edns-size 1232] [--cores 1] [--busy-poll] [--stats-socket PATH|none] [--seconds N]";

    /// <summary>The options, or null after writing what is wrong to <paramref name="error"/>.</summary>
    public static ServerOptions? Parse(IReadOnlyList<string> args, TextWriter error)
    {
        Dictionary<string, string> values = [];
        bool busy = false;
        for (int i = 0; i < args.Count; i++)
        {
            string a = args[i];
            if (a is "-h" or "--help")
            {
                error.WriteLine(Usage);
                return null;
            }
            if (a == "--busy-poll")
            {
                busy = true;
                continue;
            }
            if (!a.StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Count)
            {
                error.WriteLine($"DnsServer: '{a}' is not an option with a value.\n{Usage}");
                return null;
            }
            values[a[2..]] = args[++i];
        }
        string[] known = ["driver", "iface", "ip", "zone", "origin", "port", "gateway", "mac", "edns-size", "cores", "stats-socket", "seconds", "pool-frames"];
        foreach (string key in values.Keys)
        {
            if (!known.Contains(key))
            {
                error.WriteLine($"DnsServer: there is no option --{key}.\n{Usage}");
                return null;
            }
        }
        foreach (string required in new[] { "driver", "iface", "ip", "zone" })
        {
            if (!values.ContainsKey(required))
            {
                error.WriteLine($"DnsServer: give --{required}.\n{Usage}");
                return null;
            }
        }
        if (!LinuxDevices.DriverNames.Contains(values["driver"]))
        {
            error.WriteLine($"DnsServer: there is no driver '{values["driver"]}'; choose one of {string.Join(", ", LinuxDevices.DriverNames)}.");
            return null;
        }
        if (!Ipv4Cidr.TryParse(values["ip"], out Ipv4Cidr address))
        {
            error.WriteLine($"DnsServer: --ip '{values["ip"]}' is not an address with a prefix; write it as a.b.c.d/nn, e.g. 192.0.2.53/24.");
            return null;
        }
        DnsName? origin = null;
        if (values.TryGetValue("origin", out string? o))
        {
            origin = DnsName.Parse(o.EndsWith('.') ? o : o + ".", null, out string? nameError);
            if (origin is null)
            {
                error.WriteLine($"DnsServer: --origin '{o}' is not a valid name: {nameError}.");
                return null;
            }
        }
        ServerOptions options = new() { Driver = values["driver"], Interface = values["iface"], Address = address, ZoneFile = values["zone"], Origin = origin, BusyPoll = busy };
        if (values.TryGetValue("port", out string? port))
        {
            if (!ushort.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out ushort p) || p == 0)
            {
                error.WriteLine($"DnsServer: --port '{port}' is not a port; give 1 to 65535.");
                return null;
            }
            options = options with { Port = p };
        }
        if (values.TryGetValue("gateway", out string? gw))
        {
            if (!Ipv4Address.TryParse(gw, out Ipv4Address g))
            {
                error.WriteLine($"DnsServer: --gateway '{gw}' is not an IPv4 address.");
                return null;
            }
            options = options with { Gateway = g };
        }
        if (values.TryGetValue("mac", out string? macText))
        {
            if (!MacAddress.TryParse(macText, out MacAddress mac))
            {
                error.WriteLine($"DnsServer: --mac '{macText}' is not a MAC address; write it as aa:bb:cc:dd:ee:ff.");
                return null;
            }
            options = options with { Mac = mac };
        }
        if (values.TryGetValue("edns-size", out string? size))
        {
            if (!int.TryParse(size, NumberStyles.None, CultureInfo.InvariantCulture, out int s) || s is < DnsAnswerer.MinUdpBytes or > 65535)
            {
                error.WriteLine($"DnsServer: --edns-size '{size}' is out of range; give 512 to 65535 bytes (it is capped at the MTU less 28).");
                return null;
            }
            options = options with { MaxUdpBytes = s };
        }
        if (values.TryGetValue("cores", out string? cores))
        {
            if (!int.TryParse(cores, NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n is < 1 or > 64)
            {
                error.WriteLine($"DnsServer: --cores '{cores}' is out of range; give 1 to 64 engine loops.");
                return null;
            }
            options = options with { Cores = n };
        }
        if (values.TryGetValue("pool-frames", out string? frames))
        {
            if (!int.TryParse(frames, NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n is < 1024 or > 1 << 20)
            {
                error.WriteLine($"DnsServer: --pool-frames '{frames}' is out of range; give 1024 to 1048576.");
                return null;
            }
            options = options with { PoolFrames = n };
        }
        if (values.TryGetValue("seconds", out string? seconds))
        {
            if (!double.TryParse(seconds, NumberStyles.Float, CultureInfo.InvariantCulture, out double sec) || !double.IsFinite(sec) || sec <= 0)
            {
                error.WriteLine($"DnsServer: --seconds '{seconds}' is not a positive number of seconds.");
                return null;
            }
            options = options with { Seconds = sec };
        }
        if (values.TryGetValue("stats-socket", out string? statsSocket))
        {
            options = options with { StatsSocket = statsSocket };
        }
        return options;
    }
}

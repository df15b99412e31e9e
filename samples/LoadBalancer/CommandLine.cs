using System.Globalization;
using Skiff.Wire;

namespace Skiff.Samples.LoadBalancer;

/// <summary>Parses the sample's command line into <see cref="LoadBalancerSettings"/>; a mistake is a sentence saying what to give.</summary>
public static class CommandLine
{
    public const string Usage = """
        LoadBalancer: an L4 load balancer on Skiff (Maglev hashing, IP-in-IP or DSR, connection table, health checks).

        dotnet run -c Release --project samples/LoadBalancer -- --driver D --iface IF --ip ADDR/LEN --vip VIP:PORT
                   --backend IP[,IP...] [--mode ipip|dsr] [options]

          --driver afxdp|afpacket|tap   the Skiff driver (default afxdp)
          --iface IF                    the interface clients and backends are reached through
          --ip ADDR/LEN                 the balancer's own address: health checks and IP-in-IP come from it
          --mac MAC                     the balancer's MAC (default: the interface's)
          --gateway IP                  the next hop to backends off the link
          --neighbor IP=MAC             a next hop's MAC, given instead of resolved by ARP (repeatable)
          --vip VIP:PORT                the virtual IP and port clients connect to (Skiff answers ARP and ping for it)
          --proto tcp|udp|both          what the VIP balances (default both)
          --backend IP[,IP...]          the backends (repeatable); their order is part of no hash
          --mode ipip|dsr               IP-in-IP to the backend (default), or direct server return by MAC rewrite
          --check tcp|icmp|none         the health check (default tcp: a connect to --check-port)
          --check-port N                the port TCP checks connect to (default the VIP's port)
          --check-interval MS           time between probes of a backend (default 1000)
          --check-timeout MS            a probe's time limit (default 1000)
          --fall N / --rise N           failures that take a backend out, successes that bring it back (default 2 / 2)
          --table-size N                the Maglev table's size, a prime (default 65537)
          --connections N               the connection table's capacity (default 65536)
          --idle-timeout S              a connection entry's idle lifetime in seconds (default 60)
          --seconds S                   stop after S seconds (default: run until Ctrl-C)
          --status S                    print a status line every S seconds (default 5; 0: never)
          --stats-socket PATH|none      the control socket skiff stats and skiff capture attach to
                                        (default skiff-serve-PID.sock in $XDG_RUNTIME_DIR or /tmp)

        Example (three backends that decapsulate IP-in-IP and own 10.0.0.100):
          LoadBalancer --driver afxdp --iface eth1 --ip 10.0.0.2/24 --vip 10.0.0.100:80 \
                       --backend 10.0.0.11,10.0.0.12,10.0.0.13 --mode ipip

        Exit codes: 0 success; 2 a usage error; 3 the environment (a missing privilege, interface or kernel feature).
        """;

    /// <summary>What the command line asks for: the settings, how long to run, how often to print status.</summary>
    public sealed record Parsed(LoadBalancerSettings Settings, double? Seconds, double StatusSeconds, bool Help)
    {
        /// <summary>The control socket's path; null: the default; "none": no socket.</summary>
        public string? StatsSocket { get; init; }
    }

    /// <summary>Parses <paramref name="args"/>; throws <see cref="FormatException"/> with a sentence on a mistake.</summary>
    public static Parsed Parse(IReadOnlyList<string> args)
    {
        Dictionary<string, string> single = [];
        List<string> backends = [];
        Dictionary<Ipv4Address, MacAddress> neighbors = [];
        for (int i = 0; i < args.Count; i++)
        {
            string name = args[i];
            if (name is "--help" or "-h")
            {
                return new Parsed(null!, null, 0, Help: true);
            }
            if (!Known.Contains(name))
            {
                throw new FormatException($"Unknown option '{name}'; see --help for the options.");
            }
            if (i + 1 >= args.Count)
            {
                throw new FormatException($"{name} needs a value; see --help.");
            }
            string value = args[++i];
            if (name == "--backend")
            {
                backends.AddRange(value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            }
            else if (name == "--neighbor")
            {
                string[] parts = value.Split('=');
                if (parts.Length != 2 || !Ipv4Address.TryParse(parts[0], out Ipv4Address ip) || !MacAddress.TryParse(parts[1], out MacAddress neighborMac) || !neighborMac.IsUnicast)
                {
                    throw new FormatException($"--neighbor {value} is not IP=MAC; give e.g. 10.0.0.11=02:00:00:00:00:0b.");
                }
                neighbors[ip] = neighborMac;
            }
            else if (!single.TryAdd(name, value))
            {
                throw new FormatException($"{name} is given twice; give it once.");
            }
        }
        string iface = Required(single, "--iface", "the interface, such as --iface eth1");
        string ipText = Required(single, "--ip", "the balancer's own address, such as --ip 10.0.0.2/24");
        if (!Ipv4Cidr.TryParse(ipText, out Ipv4Cidr address))
        {
            throw new FormatException($"--ip {ipText} is not ADDR/LEN; give the balancer's address with its prefix, such as 10.0.0.2/24.");
        }
        string vipText = Required(single, "--vip", "the virtual IP and port, such as --vip 10.0.0.100:80");
        int colon = vipText.LastIndexOf(':');
        if (colon < 0 || !Ipv4Address.TryParse(vipText.AsSpan(0, colon), out Ipv4Address vip)
            || !ushort.TryParse(vipText.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out ushort port) || port == 0)
        {
            throw new FormatException($"--vip {vipText} is not VIP:PORT; give an IPv4 address and a port 1-65535, such as 10.0.0.100:80.");
        }
        if (backends.Count == 0)
        {
            throw new FormatException("Give the backends with --backend IP[,IP...].");
        }
        List<Ipv4Address> backendAddresses = [];
        foreach (string b in backends)
        {
            if (!Ipv4Address.TryParse(b, out Ipv4Address a) || !a.IsUnicast)
            {
                throw new FormatException($"--backend {b} is not a unicast IPv4 address.");
            }
            if (backendAddresses.Contains(a))
            {
                throw new FormatException($"--backend {b} is listed twice; give each backend once.");
            }
            backendAddresses.Add(a);
        }
        ForwardingMode mode = Optional(single, "--mode", "ipip") switch
        {
            "ipip" => ForwardingMode.Ipip,
            "dsr" => ForwardingMode.Dsr,
            string other => throw new FormatException($"--mode {other} is not a mode; give ipip or dsr."),
        };
        VipProtocols protocols = Optional(single, "--proto", "both") switch
        {
            "tcp" => VipProtocols.Tcp,
            "udp" => VipProtocols.Udp,
            "both" => VipProtocols.Both,
            string other => throw new FormatException($"--proto {other} is not a choice; give tcp, udp or both."),
        };
        HealthCheckKind check = Optional(single, "--check", "tcp") switch
        {
            "tcp" => HealthCheckKind.Tcp,
            "icmp" => HealthCheckKind.Icmp,
            "none" => HealthCheckKind.None,
            string other => throw new FormatException($"--check {other} is not a health check; give tcp, icmp or none."),
        };
        MacAddress? mac = null;
        if (single.TryGetValue("--mac", out string? macText))
        {
            mac = MacAddress.TryParse(macText, out MacAddress m) && m.IsUnicast ? m : throw new FormatException($"--mac {macText} is not a unicast MAC such as 02:00:00:00:00:01.");
        }
        Ipv4Address? gateway = null;
        if (single.TryGetValue("--gateway", out string? gatewayText))
        {
            gateway = Ipv4Address.TryParse(gatewayText, out Ipv4Address g) ? g : throw new FormatException($"--gateway {gatewayText} is not an IPv4 address.");
        }
        string driver = Optional(single, "--driver", "afxdp");
        if (!Skiff.Drivers.Linux.LinuxDevices.DriverNames.Contains(driver))
        {
            throw new FormatException($"--driver {driver} is not a Skiff driver; give one of {string.Join(", ", Skiff.Drivers.Linux.LinuxDevices.DriverNames)}.");
        }
        int tableSize = Integer(single, "--table-size", Maglev.DefaultTableSize, 11, 16_777_259);
        if (!Maglev.IsPrime(tableSize) || tableSize < backendAddresses.Count * 10)
        {
            throw new FormatException($"--table-size {tableSize} must be a prime at least 10 times the number of backends (65537 is the usual one).");
        }
        BalancerOptions balancer = new()
        {
            Vip = vip,
            Port = port,
            Protocols = protocols,
            Backends = backendAddresses,
            Mode = mode,
            LocalAddress = address.Address,
            LocalMac = mac ?? default,
            TableSize = tableSize,
            Connections = Integer(single, "--connections", 65536, 8, 1 << 26),
            IdleTimeout = Duration.FromMillis((long)(Number(single, "--idle-timeout", 60, 0.001, 86400) * 1000)),
        };
        HealthCheckOptions health = new()
        {
            Kind = check,
            Port = (ushort)Integer(single, "--check-port", port, 1, 65535),
            Interval = Duration.FromMillis(Integer(single, "--check-interval", 1000, 10, 3_600_000)),
            Timeout = Duration.FromMillis(Integer(single, "--check-timeout", 1000, 10, 3_600_000)),
            Fall = Integer(single, "--fall", 2, 1, 100),
            Rise = Integer(single, "--rise", 2, 1, 100),
            Gateway = gateway,
            Neighbors = neighbors,
        };
        double? seconds = single.ContainsKey("--seconds") ? Number(single, "--seconds", 0, 0.001, 1e9) : null;
        double status = Number(single, "--status", 5, 0, 86400);
        LoadBalancerSettings settings = new()
        {
            Driver = driver,
            InterfaceName = iface,
            Address = address,
            Mac = mac,
            Gateway = gateway,
            Balancer = balancer,
            HealthCheck = health,
        };
        return new Parsed(settings, seconds, status, Help: false) { StatsSocket = single.GetValueOrDefault("--stats-socket") };
    }

    private static readonly HashSet<string> Known =
    [
        "--driver", "--iface", "--ip", "--mac", "--gateway", "--neighbor", "--vip", "--proto", "--backend", "--mode", "--check", "--check-port",
        "--check-interval", "--check-timeout", "--fall", "--rise", "--table-size", "--connections", "--idle-timeout", "--seconds", "--status",
        "--stats-socket",
    ];

    private static string Required(Dictionary<string, string> values, string name, string what) =>
        values.TryGetValue(name, out string? v) ? v : throw new FormatException($"{name} is required: give {what}.");

    private static string Optional(Dictionary<string, string> values, string name, string fallback) =>
        values.TryGetValue(name, out string? v) ? v : fallback;

    private static int Integer(Dictionary<string, string> values, string name, int fallback, int min, int max)
    {
        if (!values.TryGetValue(name, out string? text))
        {
            return fallback;
        }
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int v) && v >= min && v <= max
            ? v
            : throw new FormatException($"{name} {text} is out of range; give a whole number from {min} to {max}.");
    }

    private static double Number(Dictionary<string, string> values, string name, double fallback, double min, double max)
    {
        if (!values.TryGetValue(name, out string? text))
        {
            return fallback;
        }
        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && double.IsFinite(v) && v >= min && v <= max
            ? v
            : throw new FormatException($"{name} {text} is out of range; give a number from {min} to {max}.");
    }
}

using System.Globalization;
using Skiff.Wire;

namespace Skiff.Forwarding;

/// <summary>
/// A router's IPv4 routes: the connected network of each port's address and static routes via gateways, compiled into
/// one DIR-24-8 table (<see cref="Ipv4LpmTable"/>) whose next-hop ids index <see cref="NextHops"/>. Built once before the
/// loops start; every core's <see cref="Forwarder"/> then reads it (read-only, so sharing it shares no mutable state).
/// </summary>
public sealed class RoutingTable : IDisposable
{
    private readonly List<NextHop> _nextHops = [];
    private readonly Dictionary<NextHop, uint> _ids = [];
    private readonly List<(Ipv4Cidr Prefix, NextHop Hop)> _routes = [];
    private NextHop[] _frozen = [];

    /// <summary>An empty table whose LPM has room for <paramref name="maxGroups"/> /24s holding longer prefixes.</summary>
    public RoutingTable(IReadOnlyList<ForwardingPort> ports, int maxGroups = 4096)
    {
        ArgumentNullException.ThrowIfNull(ports);
        Ports = ports;
        Lpm = new Ipv4LpmTable(maxGroups);
        for (int p = 0; p < ports.Count; p++)
        {
            if (ports[p].Address is Ipv4Cidr a)
            {
                Add(new Ipv4Cidr(a.Network, a.PrefixLength), new NextHop(p, Ipv4Address.Any));
            }
        }
    }

    /// <summary>The ports the routes lead out of.</summary>
    public IReadOnlyList<ForwardingPort> Ports { get; }

    /// <summary>The compiled table.</summary>
    public Ipv4LpmTable Lpm { get; }

    /// <summary>Next hops by id, as the LPM returns them.</summary>
    public ReadOnlySpan<NextHop> NextHops => _frozen;

    /// <summary>Every route added, connected ones first.</summary>
    public IReadOnlyList<(Ipv4Cidr Prefix, NextHop Hop)> Routes => _routes;

    /// <summary>
    /// Adds <paramref name="prefix"/> via <paramref name="gateway"/>, which must lie on one port's connected network
    /// (that port is the way out). Returns null, or a sentence saying what is wrong.
    /// </summary>
    public string? AddVia(Ipv4Cidr prefix, Ipv4Address gateway)
    {
        for (int p = 0; p < Ports.Count; p++)
        {
            if (Ports[p].Address is Ipv4Cidr a && a.Contains(gateway))
            {
                if (a.Address == gateway)
                {
                    return $"the gateway {gateway} of {prefix} is the router's own address on port {p}; give a neighbour's address.";
                }
                return Add(new Ipv4Cidr(prefix.Network, prefix.PrefixLength), new NextHop(p, gateway))
                    ? null
                    : $"the table has no room for {prefix}: more than {Lpm.MaxGroups} /24s hold prefixes longer than /24.";
            }
        }
        return $"the gateway {gateway} of {prefix} is on no port's network; give each --iface an --ip whose network holds the gateway.";
    }

    /// <summary>
    /// Reads routes from <paramref name="reader"/>, one a line: <c>PREFIX/LEN via GATEWAY</c> (also <c>ip route</c>'s
    /// <c>PREFIX/LEN via GATEWAY dev X</c>, whose extra words are ignored); blank lines and lines starting with # are
    /// skipped. Returns null, or a sentence naming the first bad line.
    /// </summary>
    public string? AddFrom(TextReader reader, string name)
    {
        ArgumentNullException.ThrowIfNull(reader);
        int number = 0;
        while (reader.ReadLine() is string line)
        {
            number++;
            string text = line.Trim();
            if (text.Length == 0 || text[0] == '#')
            {
                continue;
            }
            string? error = TryParseRoute(text, out Ipv4Cidr prefix, out Ipv4Address gateway) ?? AddVia(prefix, gateway);
            if (error is not null)
            {
                return $"{name} line {number.ToString(CultureInfo.InvariantCulture)}: {error}";
            }
        }
        return null;
    }

    /// <summary>Parses <c>PREFIX/LEN via GATEWAY</c> (words after the gateway ignored). Null, or what is wrong.</summary>
    public static string? TryParseRoute(string text, out Ipv4Cidr prefix, out Ipv4Address gateway)
    {
        prefix = default;
        gateway = default;
        string[] words = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (words.Length < 3 || words[1] != "via")
        {
            return $"'{text}' is not a route; write PREFIX/LEN via GATEWAY, e.g. 10.1.0.0/16 via 10.0.0.2.";
        }
        string p = words[0] == "default" ? "0.0.0.0/0" : words[0].Contains('/', StringComparison.Ordinal) ? words[0] : words[0] + "/32";
        if (!Ipv4Cidr.TryParse(p, out prefix))
        {
            return $"'{words[0]}' is not an IPv4 prefix; write e.g. 10.1.0.0/16.";
        }
        if (!Ipv4Address.TryParse(words[2], out gateway) || !gateway.IsUnicast)
        {
            return $"'{words[2]}' is not a unicast IPv4 gateway address; write e.g. 10.0.0.2.";
        }
        return null;
    }

    private bool Add(Ipv4Cidr prefix, NextHop hop)
    {
        if (!_ids.TryGetValue(hop, out uint id))
        {
            id = (uint)_nextHops.Count;
            if (id > Ipv4LpmTable.MaxNextHop)
            {
                return false;
            }
            _nextHops.Add(hop);
            _ids[hop] = id;
            _frozen = [.. _nextHops];
        }
        if (!Lpm.Add(prefix, id))
        {
            return false;
        }
        _routes.Add((prefix, hop));
        return true;
    }

    /// <summary>Frees the LPM table's native memory; the table cannot be used afterwards.</summary>
    public void Dispose() => Lpm.Dispose();
}

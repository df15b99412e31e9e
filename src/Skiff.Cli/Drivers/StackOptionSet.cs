using System.CommandLine;
using Skiff.Wire;

namespace Skiff.Cli.Drivers;

/// <summary>
/// The options every device-backed command shares (<c>--driver</c>, <c>--iface</c>) and, for commands that run the
/// stack, <c>--ip</c>, <c>--gateway</c> and <c>--mac</c>. Build one per command: options belong to one command.
/// </summary>
internal sealed class StackOptionSet
{
    public StackOptionSet(bool withStack)
    {
        Driver.AcceptOnlyFromAmong(DriverFactory.Names);
        WithStack = withStack;
    }

    public bool WithStack { get; }

    public Option<string> Driver { get; } = new("--driver") { Required = true, Description = "The device driver: afxdp, afpacket or tap." };

    public Option<string> Interface { get; } = new("--iface") { Required = true, Description = "The network interface (for tap: the TAP interface to create or attach to)." };

    public Option<string[]> Ip { get; } = new("--ip")
    {
        Required = true,
        Arity = ArgumentArity.OneOrMore,
        Description = "An address Skiff owns on the interface, with its prefix: one IPv4, e.g. 10.0.0.2/24, and any IPv6 ones, e.g. fd00::2/64 (repeatable; an IPv6 one turns IPv6 on, as --ip6 does).",
    };

    public Option<string?> Gateway { get; } = new("--gateway") { Description = "Default gateway for destinations off the subnet." };

    public Option<string[]> Ip6 { get; } = new("--ip6")
    {
        Description = "An IPv6 address Skiff owns, with its prefix, e.g. fd00::2/64 (repeatable). Turns IPv6 on: a link-local address from the MAC, DAD, neighbour and router discovery (docs/ipv6.md).",
        Arity = ArgumentArity.ZeroOrMore,
    };

    public Option<string?> Mac { get; } = new("--mac") { Description = "Skiff's MAC address. Default: the interface's own (afpacket, afxdp) or a random local one (tap)." };

    /// <summary>The egress qdisc options (<c>--qdisc</c>, <c>--shape</c>, <c>--qdisc-file</c>), shared with <c>skiff fwd</c>; added by commands whose loop sends.</summary>
    public QDiscOptionSet QDiscs { get; } = new();

    /// <summary>Adds the options to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        command.Options.Add(Driver);
        command.Options.Add(Interface);
        if (WithStack)
        {
            command.Options.Add(Ip);
            command.Options.Add(Gateway);
            command.Options.Add(Mac);
            command.Options.Add(Ip6);
        }
    }

    /// <summary>Reads and checks the stack options; on a bad value writes a sentence to <paramref name="error"/> and returns null.</summary>
    public StackSettings? Read(ParseResult result, string command, TextWriter error)
    {
        List<string> ip6Texts = [];
        string? ipText = null;
        foreach (string text in result.GetValue(Ip) ?? [])
        {
            if (text.Contains(':'))
            {
                ip6Texts.Add(text); // IPv6: checked with the --ip6 ones below
            }
            else if (ipText is null)
            {
                ipText = text;
            }
            else
            {
                error.WriteLine($"{command}: --ip '{ipText}' and --ip '{text}' are both IPv4; give one IPv4 address (and any IPv6 ones).");
                return null;
            }
        }
        if (ipText is null)
        {
            error.WriteLine($"{command}: no IPv4 --ip; give one, e.g. --ip 10.0.0.2/24, beside any IPv6 ones.");
            return null;
        }
        if (!Ipv4Cidr.TryParse(ipText, out Ipv4Cidr cidr) || !cidr.Address.IsUnicast)
        {
            error.WriteLine($"{command}: --ip '{ipText}' is not a unicast IPv4 address with a prefix; write e.g. 10.0.0.2/24.");
            return null;
        }
        Ipv4Address? gateway = null;
        if (result.GetValue(Gateway) is string g)
        {
            if (!Ipv4Address.TryParse(g, out Ipv4Address gw) || !gw.IsUnicast)
            {
                error.WriteLine($"{command}: --gateway '{g}' is not a unicast IPv4 address; write e.g. 10.0.0.1.");
                return null;
            }
            if (!cidr.Contains(gw))
            {
                error.WriteLine($"{command}: the gateway {gw} is not on {cidr}; give a gateway inside the --ip subnet.");
                return null;
            }
            gateway = gw;
        }
        MacAddress? mac = null;
        if (result.GetValue(Mac) is string m)
        {
            if (!MacAddress.TryParse(m, out MacAddress parsed) || !parsed.IsUnicast || parsed == MacAddress.Zero)
            {
                error.WriteLine($"{command}: --mac '{m}' is not a unicast MAC address; write e.g. 02:00:0a:00:00:02.");
                return null;
            }
            mac = parsed;
        }
        List<Skiff.Stack.Ipv6.Ipv6Prefix> ipv6 = [];
        foreach (string text in ip6Texts.Concat(result.GetValue(Ip6) ?? []))
        {
            if (!Skiff.Stack.Ipv6.Ipv6Prefix.TryParse(text, out Skiff.Stack.Ipv6.Ipv6Prefix p) || p.Address.IsMulticast || p.Address.IsUnspecified || new IpAddress(p.Address).IsIpv4)
            {
                string option = ip6Texts.Contains(text) ? "--ip" : "--ip6";
                error.WriteLine($"{command}: {option} '{text}' is not a unicast IPv6 address with a prefix; write e.g. fd00::2/64.");
                return null;
            }
            ipv6.Add(p);
        }
        return new StackSettings(result.GetValue(Driver)!, result.GetValue(Interface)!, cidr, gateway, mac, ipv6);
    }
}

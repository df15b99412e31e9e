using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Skiff.Cli.Drivers;
using Skiff.Cli.Forwarding;
using Skiff.Cli.Serve;
using Skiff.Engine.Control;
using Skiff.Engine;
using Skiff.Forwarding;
using Skiff.Wire;

namespace Skiff.Cli.Commands;

/// <summary>
/// <c>skiff fwd</c>: forwards frames between two (or more) interfaces on the engine, as a bridge (io), DPDK's l2fwd
/// (mac) or an RFC 1812 router (l3); docs/forwarding.md. Each <c>--ip</c>, <c>--peer-mac</c> and <c>--mtu</c> belongs
/// to the <c>--iface</c> before it. Exit 0 when stopped, 1 when a loop failed, 2 for bad arguments, 3 when a device
/// cannot be opened.
/// </summary>
public static class FwdCommand
{
    public static Command Create()
    {
        Option<string> driver = new("--driver") { Required = true, Description = "The device driver of every port: afxdp, afpacket or tap." };
        driver.AcceptOnlyFromAmong(DriverFactory.Names);
        Option<string[]> iface = new("--iface") { Required = true, Description = "A port: the interface (for tap, the TAP interface to create). Give two or more; --ip, --peer-mac and --mtu after it belong to it." };
        Option<string[]> ip = new("--ip") { Description = "l3 mode: the router's address on the --iface before it, with the prefix of the connected network, e.g. 10.0.1.1/24." };
        Option<string[]> peerMac = new("--peer-mac") { Description = "mac mode: the destination MAC of frames leaving the --iface before it (testpmd's --eth-peer). Default 02:00:00:00:00:0N, N the port, as DPDK l2fwd." };
        Option<string[]> mtu = new("--mtu") { Description = "l3 mode: the largest IPv4 packet the --iface before it sends; larger ones with DF get fragmentation-needed. Default 1500." };
        Option<string> mode = new("--mode") { Description = "io: out of the other port as it came (a bridge); mac: MACs rewritten for the next hop (l2fwd); l3: an IPv4 router. Default io.", DefaultValueFactory = _ => "io" };
        mode.AcceptOnlyFromAmong("io", "mac", "l3");
        Option<string[]> route = new("--route")
        {
            Description = "l3 mode: a static route, PREFIX/LEN via GATEWAY (repeatable), e.g. --route 10.9.0.0/16 via 10.0.2.2. The gateway must be on a port's network.",
            AllowMultipleArgumentsPerToken = true,
        };
        Option<string?> routes = new("--routes") { Description = "l3 mode: a file of routes, one 'PREFIX/LEN via GATEWAY' a line (# comments)." };
        Option<int> cores = new("--cores") { Description = "Engine loops: each serves queue q of every port (AF_XDP queues, AF_PACKET fanout, TAP multi-queue). Default 1.", DefaultValueFactory = _ => 1 };
        Option<string[]> drop = new("--drop") { Description = "Drop received frames matching this tcpdump expression before forwarding (repeatable); counted as drop cause Filter.", AllowMultipleArgumentsPerToken = false };
        Option<double> seconds = new Option<double>("--seconds") { Description = "Stop after this many seconds; 0 runs until Ctrl-C. Default 0." }.InRange(0);
        Option<bool> busyPoll = new("--busy-poll") { Description = "Never sleep between polls (DPDK's way): each loop keeps its core busy." };
        Option<string?> statsSocket = new("--stats-socket") { Description = $"The control socket skiff stats reads. Default: {SkiffControlSockets.FilePrefix}PID{SkiffControlSockets.FileSuffix} in $XDG_RUNTIME_DIR, else in /tmp; '{SkiffControlSockets.Off}' for none." };
        Command command = new("fwd", CommandHelp.WithExamples("Forward frames between interfaces: a bridge (io), DPDK l2fwd (mac) or an IPv4 router (l3).",
            "skiff fwd --driver afxdp --iface eth1 --iface eth2",
            "skiff fwd --driver afxdp --iface eth1 --peer-mac 02:00:00:00:00:0b --iface eth2 --peer-mac 02:00:00:00:00:0a --mode mac --cores 2",
            "skiff fwd --driver afpacket --iface eth1 --ip 10.0.1.1/24 --iface eth2 --ip 10.0.2.1/24 --mode l3 --route 10.9.0.0/16 via 10.0.2.2 --drop 'udp port 53'"));
        foreach (Option o in new Option[] { driver, iface, ip, peerMac, mtu, mode, route, routes, cores, drop, seconds, busyPoll, statsSocket })
        {
            command.Options.Add(o);
        }
        QDiscOptionSet qdiscs = new();
        qdiscs.AddTo(command);
        command.SetAction(result =>
        {
            TextWriter output = result.InvocationConfiguration.Output;
            TextWriter error = result.InvocationConfiguration.Error;
            const string Name = "skiff fwd";
            ForwardingMode forwardingMode = result.GetValue(mode) switch { "mac" => ForwardingMode.Mac, "l3" => ForwardingMode.L3, _ => ForwardingMode.Io };
            List<FwdPortSpec>? specs = ReadPorts(result, error);
            if (specs is null)
            {
                return 2;
            }
            Skiff.QDisc.Spec.QDiscSpec? qdisc = qdiscs.Read(result, Name, error, out bool qdiscOk);
            if (!qdiscOk)
            {
                return 2;
            }
            int n = result.GetValue(cores);
            if (n is < 1 or > 64)
            {
                error.WriteLine($"{Name}: --cores must be from 1 to 64, not {n}.");
                return 2;
            }
            if (specs.Count < 2 || (forwardingMode != ForwardingMode.L3 && specs.Count % 2 != 0))
            {
                error.WriteLine($"{Name}: give two --iface (io and mac modes pair them: 0 with 1, 2 with 3); {specs.Count} were given.");
                return 2;
            }
            string[] routeWords = [.. (result.GetValue(route) ?? []).SelectMany(r => r.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))];
            string? routesFile = result.GetValue(routes);
            if (forwardingMode == ForwardingMode.L3)
            {
                if (specs.Any(s => s.Address is null))
                {
                    error.WriteLine($"{Name}: l3 mode routes between the ports' networks: give each --iface an --ip, e.g. --iface eth0 --ip 10.0.1.1/24 --iface eth1 --ip 10.0.2.1/24.");
                    return 2;
                }
                if (n > 1)
                {
                    error.WriteLine($"{Name}: l3 mode runs on one core for now: each core would resolve its neighbours alone, and an ARP reply reaches only one of them. Leave out --cores, or use io or mac mode.");
                    return 2;
                }
            }
            else if (routeWords.Length > 0 || routesFile is not null || specs.Any(s => s.Address is not null))
            {
                error.WriteLine($"{Name}: --ip, --route and --routes are for --mode l3; io and mac modes forward every frame by port.");
                return 2;
            }
            ServeHooks hooks = new(result.GetValue(drop) ?? [], echoHook: false);
            if (!hooks.TryCompile(Name, error))
            {
                return 2;
            }
            string driverName = result.GetValue(driver)!;
            using StopSignal stop = new();
            List<PacketPool> pools = [];
            List<OpenedDevice> opened = [];
            RoutingTable? table = null;
            SkiffControlServer? stats = null;
            try
            {
                // AF_XDP registers each queue's pool as that socket's UMEM: a pool per port and queue (frames between two
                // ports are then copied once). The other drivers copy through the kernel anyway: one pool for all, no copy of ours.
                PacketPool? shared = driverName == "afxdp" ? null : new PacketPool(16384);
                if (shared is not null)
                {
                    pools.Add(shared);
                }
                List<IReadOnlyList<IDevice>> devices = [];
                List<ForwardingPort> ports = [];
                foreach (FwdPortSpec spec in specs)
                {
                    List<PacketPool> queuePools = [];
                    for (int q = 0; q < n; q++)
                    {
                        PacketPool pool = shared ?? new PacketPool(8192);
                        if (shared is null)
                        {
                            pools.Add(pool);
                        }
                        queuePools.Add(pool);
                    }
                    // AF_XDP steers only what it is told: 0.0.0.0 steers every frame of the port to Skiff.
                    OpenedDevice[]? queues = DriverFactory.TryOpenQueues(driverName, spec.Interface, queuePools, [Ipv4Address.Any], Name, error);
                    if (queues is null)
                    {
                        return DriverFactory.ExitDeviceUnavailable;
                    }
                    opened.AddRange(queues);
                    devices.Add([.. queues.Select(o => o.Device)]);
                    ports.Add(new ForwardingPort
                    {
                        Mac = queues[0].HardwareAddress ?? StackHost.RandomLocalMac(),
                        PeerMac = spec.PeerMac,
                        Address = spec.Address,
                        MtuBytes = spec.MtuBytes,
                    });
                }
                if (forwardingMode == ForwardingMode.L3)
                {
                    table = new RoutingTable(ports);
                    if (ReadRoutes(table, routeWords, routesFile, error) is false)
                    {
                        return 2;
                    }
                }
                string? socketPath = result.GetValue(statsSocket);
                if (socketPath != SkiffControlSockets.Off)
                {
                    try
                    {
                        stats = SkiffControlServer.Start(socketPath ?? SkiffControlSockets.Default(Environment.ProcessId), replaceStale: socketPath is null);
                    }
                    catch (SkiffControlException e)
                    {
                        error.WriteLine($"{Name}: {(socketPath is null ? "warning: no stats socket, so skiff stats cannot connect" : "cannot open the stats socket")}: {e.Message}");
                        if (socketPath is not null)
                        {
                            return 2;
                        }
                    }
                }
                output.WriteLine($"{Name}: mode {result.GetValue(mode)}{hooks.Describe()}");
                for (int p = 0; p < ports.Count; p++)
                {
                    string extra = forwardingMode switch
                    {
                        ForwardingMode.L3 => $", router address {ports[p].Address}, MTU {ports[p].MtuBytes}",
                        ForwardingMode.Mac => $", frames leave to {ports[p].PeerMac ?? new MacAddress(0x02_00_00_00_00_00UL | (uint)p)}",
                        _ => "",
                    };
                    output.WriteLine($"  port {p}: {opened[p * n].Description}, MAC {ports[p].Mac}{extra}");
                }
                if (qdisc is not null)
                {
                    output.WriteLine($"  egress qdisc on every port and core: {qdisc.Text}");
                }
                if (table is not null)
                {
                    output.WriteLine($"  routes: {table.Routes.Count} ({table.Lpm.GroupsUsed} /24s hold longer prefixes)");
                }
                FwdRunner runner = new()
                {
                    Devices = devices,
                    Mode = forwardingMode,
                    Ports = ports,
                    Routes = table,
                    Hooks = hooks,
                    Idle = result.GetValue(busyPoll) ? SkiffIdlePolicy.BusyPoll : new SkiffIdlePolicy(),
                    Stats = stats,
                    QDisc = qdisc,
                };
                return runner.Run(TimeSpan.FromSeconds(result.GetValue(seconds)), output, error, stop.Token);
            }
            finally
            {
                stats?.Dispose();
                opened.ForEach(d => d.Dispose());
                table?.Dispose();
                pools.ForEach(p => p.Dispose());
            }
        });
        return command;
    }

    /// <summary>The ports in command-line order, each with the options after its --iface; null after writing what is wrong.</summary>
    internal static List<FwdPortSpec>? ReadPorts(ParseResult result, TextWriter error)
    {
        List<FwdPortSpec> ports = [];
        IReadOnlyList<Token> tokens = result.Tokens;
        for (int i = 0; i < tokens.Count; i++)
        {
            string name = tokens[i].Value;
            if (tokens[i].Type != TokenType.Option || name is not ("--iface" or "--ip" or "--peer-mac" or "--mtu"))
            {
                continue;
            }
            if (i + 1 >= tokens.Count || tokens[i + 1].Type != TokenType.Argument)
            {
                error.WriteLine($"skiff fwd: {name} needs a value.");
                return null;
            }
            string value = tokens[++i].Value;
            if (name == "--iface")
            {
                ports.Add(new FwdPortSpec(value, null, null, 1500));
                continue;
            }
            if (ports.Count == 0)
            {
                error.WriteLine($"skiff fwd: {name} {value} belongs to the --iface before it; give --iface first.");
                return null;
            }
            FwdPortSpec last = ports[^1];
            switch (name)
            {
                case "--ip":
                    if (!Ipv4Cidr.TryParse(value, out Ipv4Cidr cidr) || !cidr.Address.IsUnicast || cidr.PrefixLength > 30)
                    {
                        error.WriteLine($"skiff fwd: --ip '{value}' is not a unicast IPv4 address with a prefix of /30 or shorter; write e.g. 10.0.1.1/24.");
                        return null;
                    }
                    ports[^1] = last with { Address = cidr };
                    break;
                case "--peer-mac":
                    if (!MacAddress.TryParse(value, out MacAddress mac) || !mac.IsUnicast || mac == MacAddress.Zero)
                    {
                        error.WriteLine($"skiff fwd: --peer-mac '{value}' is not a unicast MAC address; write e.g. 02:00:0a:00:00:02.");
                        return null;
                    }
                    ports[^1] = last with { PeerMac = mac };
                    break;
                default:
                    if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int bytes) || bytes is < 576 or > 9000)
                    {
                        error.WriteLine($"skiff fwd: --mtu '{value}' must be a number of bytes from 576 to 9000.");
                        return null;
                    }
                    ports[^1] = last with { MtuBytes = bytes };
                    break;
            }
        }
        return ports;
    }

    /// <summary>Adds the --route words (PREFIX/LEN via GATEWAY triples) and the --routes file; false after writing what is wrong.</summary>
    private static bool ReadRoutes(RoutingTable table, string[] words, string? file, TextWriter error)
    {
        if (words.Length % 3 != 0)
        {
            error.WriteLine($"skiff fwd: --route takes PREFIX/LEN via GATEWAY, e.g. --route 10.9.0.0/16 via 10.0.2.2; '{string.Join(' ', words)}' is not a list of those.");
            return false;
        }
        for (int i = 0; i < words.Length; i += 3)
        {
            string text = $"{words[i]} {words[i + 1]} {words[i + 2]}";
            string? problem = RoutingTable.TryParseRoute(text, out Ipv4Cidr prefix, out Ipv4Address gateway) ?? table.AddVia(prefix, gateway);
            if (problem is not null)
            {
                error.WriteLine($"skiff fwd: --route {text}: {problem}");
                return false;
            }
        }
        if (file is not null)
        {
            try
            {
                using StreamReader reader = new(file);
                if (table.AddFrom(reader, file) is string problem)
                {
                    error.WriteLine($"skiff fwd: --routes {problem}");
                    return false;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                error.WriteLine($"skiff fwd: cannot read --routes {file}: {e.Message}");
                return false;
            }
        }
        return true;
    }
}

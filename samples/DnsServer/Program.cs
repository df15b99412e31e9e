// An authoritative DNS server on Skiff's own UDP/IP stack (and its TCP for truncated answers), using only Skiff's
// public API. It serves one zone from an RFC 1035 master file:
//   dotnet run -c Release --project samples/DnsServer -- --driver afxdp --iface eth1 --ip 192.0.2.53/24 --zone example.com.zone
// README.md beside this file explains the design; docs/benchmarks.md ("Issue 18: DnsServer") has its figures.
using System.Net;
using System.Runtime.InteropServices;
using Skiff;
using Skiff.Drivers.Linux;
using Skiff.Engine;
using Skiff.Engine.Control;
using Skiff.Samples.DnsServer;
using Skiff.Samples.DnsServer.Dns;
using Skiff.Samples.DnsServer.Server;
using Skiff.Wire;

ServerOptions? options = ServerOptions.Parse(args, Console.Error);
if (options is null)
{
    return 2;
}
string text;
try
{
    text = File.ReadAllText(options.ZoneFile);
}
catch (Exception e) when (e is IOException or UnauthorizedAccessException)
{
    Console.Error.WriteLine($"DnsServer: cannot read the zone file {options.ZoneFile}: {e.Message}");
    return 2;
}
ZoneParseResult parsed = ZoneParser.Parse(text, options.Origin);
if (parsed.Zone is null)
{
    foreach (ZoneError error in parsed.Errors)
    {
        Console.Error.WriteLine($"DnsServer: {options.ZoneFile} {error}");
    }
    return 2;
}
CompiledZone zone = new(parsed.Zone);

PacketPool pool = new(options.PoolFrames);
LinuxDevice device;
try
{
    device = LinuxDevices.Open(options.Driver, options.Interface, pool, steerAddresses: [new IPAddress(ToBytes(options.Address.Address))]);
}
catch (DriverException e)
{
    Console.Error.WriteLine($"DnsServer: {e.Message}");
    pool.Dispose();
    return 3;
}
MacAddress mac = options.Mac ?? (device.HardwareAddress?.GetAddressBytes() is { Length: 6 } bytes ? MacAddress.Read(bytes) : MacAddress.Parse("02:00:00:00:00:53"));
int mtu = Math.Clamp(device.Device.Capabilities.MtuBytes is > 0 and int m ? m : 1500, 576, pool.FrameBytes - pool.HeadroomBytes - 18);
int maxUdp = Math.Min(options.MaxUdpBytes, mtu - 28); // never more than one unfragmented datagram
SkiffStackOptions stackOptions = new()
{
    Mac = mac,
    Addresses = [options.Address],
    Gateway = options.Gateway,
    MtuBytes = mtu,
    PoolFrames = options.PoolFrames,
    Cores = options.Cores,
    Engine = new SkiffEngineOptions { Idle = options.BusyPoll ? SkiffIdlePolicy.BusyPoll : new SkiffIdlePolicy { YieldMicros = 1000 } },
};
CancellationTokenSource stop = new(); // not disposed: ProcessExit may cancel it while the process ends
// Ctrl-C and SIGTERM (kill, a service manager) both stop it gracefully: the counters are printed, the device closed.
using PosixSignalRegistration onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
using PosixSignalRegistration onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
try
{
    await using SkiffStack stack = SkiffStack.CreateBuilder(stackOptions).UseDevice(device.Device).Build();
    await using DnsServerHost host = await DnsServerHost.StartAsync(stack, zone, options.Port, maxUdp);
    DnsMetrics.Register(host); // skiff stats' "app" rows, dotnet-counters and OpenTelemetry
    SkiffControlServer? control = null;
    if (options.StatsSocket != "none")
    {
        try
        {
            control = stack.StartControlServer(options.StatsSocket);
        }
        catch (SkiffControlException e)
        {
            Console.Error.WriteLine($"DnsServer: warning: no stats socket, so skiff stats cannot connect: {e.Message}");
        }
    }
    using (control)
    {
        Console.WriteLine($"DnsServer: serving {zone.Apex} ({parsed.Zone.Records.Count} records, {zone.NodeCount} names) on {options.Address.Address} port {options.Port} " +
            $"(UDP up to {maxUdp} bytes, TCP) over {device.Description}, MAC {mac}{(control is null ? "" : $"; counters: skiff stats --socket {control.Path}")}; Ctrl-C to stop");
        Console.Out.Flush();
        try
        {
            await Task.Delay(options.Seconds is double s ? TimeSpan.FromSeconds(s) : Timeout.InfiniteTimeSpan, stop.Token);
        }
        catch (OperationCanceledException)
        {
        }
        foreach (SkiffEngine engine in stack.Engines)
        {
            if (engine.Failure is Exception failure)
            {
                Console.Error.WriteLine($"DnsServer: the engine failed: {failure}");
                return 1;
            }
        }
        Console.WriteLine($"DnsServer: stopped. udp {host.UdpCounters()}; udp queue full {host.UdpReceiveDropped}");
        Console.WriteLine($"DnsServer: tcp {host.Tcp.Counters} ({host.Tcp.Accepted} connections)");
        Console.WriteLine($"DnsServer: gc {GC.CollectionCount(0)} gen0 collections, {GC.GetTotalAllocatedBytes()} bytes allocated by the process");
    }
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"DnsServer: {e.Message}");
    return 2;
}
finally
{
    device.Dispose();
    pool.Dispose();
}
return 0;

void Stop(PosixSignalContext context)
{
    context.Cancel = true;
    stop.Cancel();
}

static byte[] ToBytes(Ipv4Address address)
{
    byte[] bytes = new byte[4];
    address.Write(bytes);
    return bytes;
}

using System.Runtime.InteropServices;
using Skiff.Drivers.Linux;
using Skiff.Samples.LoadBalancer;

CommandLine.Parsed parsed;
try
{
    parsed = CommandLine.Parse(args);
}
catch (FormatException e)
{
    Console.Error.WriteLine($"LoadBalancer: {e.Message}");
    return 2;
}
if (parsed.Help)
{
    Console.WriteLine(CommandLine.Usage);
    return 0;
}

LoadBalancerHost host;
try
{
    host = LoadBalancerHost.Open(parsed.Settings);
}
catch (DriverException e)
{
    Console.Error.WriteLine($"LoadBalancer: cannot open {parsed.Settings.Driver} on {parsed.Settings.InterfaceName}: {e.Message}");
    return 3;
}

using CancellationTokenSource stop = new();
using PosixSignalRegistration sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
using PosixSignalRegistration sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
if (parsed.Seconds is double seconds)
{
    stop.CancelAfter(TimeSpan.FromSeconds(seconds));
}

using (host)
{
    BalancerOptions o = host.Balancer.Options;
    Console.WriteLine($"LoadBalancer: {o.Vip}:{o.Port} ({o.Protocols}) over {o.Backends.Count} backends by {(o.Mode == ForwardingMode.Ipip ? "IP-in-IP" : "direct server return")}, "
        + $"Maglev table {o.TableSize}, {host.Balancer.Connections.Capacity} connections; on {host.DeviceDescription} as {parsed.Settings.Address} ({host.Interface.Mac}); "
        + $"health check {parsed.Settings.HealthCheck.Kind.ToString().ToLowerInvariant()}");
    Skiff.Engine.Control.SkiffControlServer? control = null;
    if (parsed.StatsSocket != "none")
    {
        try
        {
            control = host.StartControlServer(parsed.StatsSocket);
            Console.WriteLine($"LoadBalancer: counters: skiff stats --socket {control.Path}");
        }
        catch (Skiff.Engine.Control.SkiffControlException e)
        {
            Console.Error.WriteLine($"LoadBalancer: warning: no stats socket, so skiff stats cannot connect: {e.Message}");
        }
    }
    using Skiff.Engine.Control.SkiffControlServer? stats = control;
    host.Start();
    bool[] up = new bool[o.Backends.Count];
    DateTime nextStatus = DateTime.UtcNow.AddSeconds(parsed.StatusSeconds);
    while (!stop.IsCancellationRequested && host.Engine.Failure is null)
    {
        stop.Token.WaitHandle.WaitOne(100);
        var backends = host.Backends();
        for (int i = 0; i < backends.Count; i++)
        {
            if (backends[i].Usable != up[i])
            {
                up[i] = backends[i].Usable;
                Console.WriteLine($"LoadBalancer: backend {backends[i].Address} {(up[i] ? "up" : "down")}");
            }
        }
        if (parsed.StatusSeconds > 0 && DateTime.UtcNow >= nextStatus)
        {
            nextStatus = DateTime.UtcNow.AddSeconds(parsed.StatusSeconds);
            Console.WriteLine(Status(host));
        }
    }
    host.Engine.Stop();
    Console.WriteLine(Status(host));
    if (host.Engine.Failure is Exception failure)
    {
        Console.Error.WriteLine($"LoadBalancer: the engine failed: {failure.Message}");
        return 1;
    }
}
return 0;

static string Status(LoadBalancerHost host)
{
    BalancerCounters c = host.Balancer.Counters;
    string backends = string.Join(", ", host.Backends().Select(b => $"{b.Address} {(b.Usable ? "up" : "down")} {b.Forwarded}"));
    return $"LoadBalancer: forwarded [{backends}]; new flows {c.NewFlows}, rescheduled {c.Rescheduled}, no backend {c.NoBackend}, "
        + $"fragments {c.Fragments}, too big {c.TooBig}, malformed {c.Malformed}, table builds {c.TableBuilds}, "
        + $"health probes ok {host.HealthChecker.Successes} failed {host.HealthChecker.Failures}";
}

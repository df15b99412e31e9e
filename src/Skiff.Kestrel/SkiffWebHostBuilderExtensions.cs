using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Skiff.Engine;
using Skiff.Kestrel;
using Skiff.Kestrel.Internal;
using Skiff.Wire;

// The namespace of UseKestrel and UseSockets, so UseSkiff shows up where ASP.NET Core users look for it.
namespace Microsoft.AspNetCore.Hosting;

/// <summary>
/// <c>UseSkiff</c>: Kestrel serves HTTP over Skiff's user-space TCP/IP stack instead of kernel sockets. Call it on
/// the web host builder (<c>builder.WebHost.UseSkiff(...)</c> with <c>WebApplication</c>); Kestrel's own settings,
/// endpoints, HTTP/1.1 and HTTP/2 stay as they are. It registers an <see cref="IConnectionListenerFactory"/> that
/// claims every IP endpoint (Unix sockets and named pipes stay on Kestrel's own transports).
/// </summary>
public static class SkiffWebHostBuilderExtensions
{
    /// <summary>The <c>driver</c> value of <see cref="UseSkiff(IWebHostBuilder, IConfiguration)"/> that keeps Kestrel on kernel sockets.</summary>
    public const string KernelDriver = "kernel";

    /// <summary>Serves over Skiff; <paramref name="configure"/> says where the stack comes from (<see cref="SkiffTransportOptions"/>).</summary>
    public static IWebHostBuilder UseSkiff(this IWebHostBuilder builder, Action<SkiffTransportOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        return builder.ConfigureServices(services =>
        {
            services.Configure(configure);
            // Kestrel tries the transport registered last first; UseKestrel's socket transport is already there.
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IConnectionListenerFactory, SkiffTransportFactory>());
        });
    }

    /// <summary>Serves over <paramref name="stack"/>, which the caller owns and disposes after the host.</summary>
    public static IWebHostBuilder UseSkiff(this IWebHostBuilder builder, SkiffStack stack)
    {
        ArgumentNullException.ThrowIfNull(stack);
        return builder.UseSkiff(o => o.Stack = stack);
    }

    /// <summary>
    /// Serves over a Linux device named by <paramref name="configuration"/>, the way the samples and the <c>skiff</c>
    /// command take it on the command line: <c>driver</c> (afxdp, afpacket or tap), <c>iface</c>, <c>ip</c>
    /// (A.B.C.D/NN), <c>port</c> (Kestrel listens on that port of the stack's address; without it Kestrel's own
    /// <c>urls</c> or <c>http_ports</c> must be set), and optionally <c>gateway</c> and <c>mac</c>. With <c>WebApplication.CreateBuilder(args)</c>, pass
    /// <c>builder.Configuration</c> and run with <c>--driver afxdp --iface eth0 --ip 10.0.0.2/24 --port 8080</c>.
    /// <c>--driver kernel</c> leaves Kestrel on its own kernel sockets, listening on the <c>ip</c> address and
    /// <c>port</c>: the same app and command line without Skiff, for comparisons.
    /// </summary>
    /// <exception cref="SkiffTransportException">A setting is missing or malformed; the message says which and how to write it.</exception>
    public static IWebHostBuilder UseSkiff(this IWebHostBuilder builder, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configuration);
        string? driver = configuration["driver"];
        if (string.IsNullOrWhiteSpace(driver))
        {
            throw new SkiffTransportException("Say which driver Skiff opens: --driver afxdp, afpacket or tap (with --iface IF --ip A.B.C.D/NN --port PORT).");
        }
        bool kernel = driver == KernelDriver;
        if (!kernel && !Skiff.Drivers.Linux.LinuxDevices.DriverNames.Contains(driver))
        {
            throw new SkiffTransportException(
                $"--driver {driver} is not a Skiff driver; choose one of {string.Join(", ", Skiff.Drivers.Linux.LinuxDevices.DriverNames)} (or {KernelDriver}: Kestrel's own sockets).");
        }
        string? iface = configuration["iface"];
        if (!kernel && string.IsNullOrWhiteSpace(iface))
        {
            throw new SkiffTransportException($"Say which interface the {driver} driver opens: --iface IF (see `ip link`).");
        }
        string ipText = configuration["ip"] ?? "";
        if (!Ipv4Cidr.TryParse(ipText, out Ipv4Cidr address) || !address.Address.IsUnicast)
        {
            throw new SkiffTransportException(ipText.Length == 0
                ? "Say which address Skiff owns on the interface: --ip A.B.C.D/NN, e.g. --ip 10.0.0.2/24."
                : $"--ip '{ipText}' is not a unicast IPv4 address with a prefix; write e.g. 10.0.0.2/24.");
        }
        Ipv4Address? gateway = null;
        if (configuration["gateway"] is string g)
        {
            if (!Ipv4Address.TryParse(g, out Ipv4Address gw) || !gw.IsUnicast || !address.Contains(gw))
            {
                throw new SkiffTransportException($"--gateway '{g}' is not a unicast IPv4 address inside {address}; give a gateway on the --ip subnet.");
            }
            gateway = gw;
        }
        MacAddress? mac = null;
        if (configuration["mac"] is string m)
        {
            if (!MacAddress.TryParse(m, out MacAddress parsed) || !parsed.IsUnicast || parsed == MacAddress.Zero)
            {
                throw new SkiffTransportException($"--mac '{m}' is not a unicast MAC address; write e.g. 02:00:0a:00:00:02.");
            }
            mac = parsed;
        }
        ushort? port = null;
        if (configuration["port"] is string p)
        {
            if (!ushort.TryParse(p, out ushort parsedPort) || parsedPort == 0)
            {
                throw new SkiffTransportException($"--port '{p}' is not a TCP port; give a number from 1 to 65535, e.g. --port 8080.");
            }
            port = parsedPort;
        }
        else if (configuration["urls"] is null && configuration["http_ports"] is null)
        {
            // Kestrel's default, http://localhost:5000, is not an address a Skiff stack owns.
            throw new SkiffTransportException("Say which port Kestrel serves: --port PORT, e.g. --port 8080 (or --urls http://A.B.C.D:PORT with the --ip address).");
        }
        bool control = false;
        if (configuration["control-socket"] is string c && !bool.TryParse(c, out control))
        {
            throw new SkiffTransportException($"--control-socket '{c}' is not true or false; give --control-socket true to let skiff stats and skiff capture attach.");
        }
        if (!kernel)
        {
            builder.UseSkiff(o =>
            {
                o.Driver = driver;
                o.InterfaceName = iface;
                o.Address = address;
                o.Gateway = gateway;
                o.Mac = mac;
                o.ControlSocket = control;
            });
        }
        if (port is ushort listenPort)
        {
            byte[] bytes = new byte[4];
            address.Address.Write(bytes);
            builder.ConfigureKestrel(k => k.Listen(new IPAddress(bytes), listenPort));
        }
        return builder;
    }
}

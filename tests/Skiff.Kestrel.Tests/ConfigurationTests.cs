using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Skiff.Wire;

namespace Skiff.Kestrel.Tests;

/// <summary>
/// <c>UseSkiff(IConfiguration)</c> through the options pattern: the <c>Skiff</c> section binds every property, nothing
/// outside it is read (a platform's PORT does not configure Skiff), and bad settings stop the host at start with
/// sentences. The kernel driver lets a real host start here without root: Kestrel on its own sockets on loopback.
/// </summary>
public sealed class ConfigurationTests
{
    private static WebApplication Build(IEnumerable<KeyValuePair<string, string?>>? settings = null, string[]? args = null)
    {
        WebApplicationBuilder builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.Configuration.Sources.Clear(); // the test's settings only, not this process's environment
        if (settings is not null)
        {
            builder.Configuration.AddInMemoryCollection(settings);
        }
        if (args is not null)
        {
            builder.Configuration.AddCommandLine(args, SkiffTransportOptions.CommandLineSwitches());
        }
        builder.WebHost.UseSkiff(builder.Configuration);
        WebApplication app = builder.Build();
        app.MapGet("/", () => "over the kernel\n");
        return app;
    }

    private static KeyValuePair<string, string?> Setting(string key, string? value) => new(key, value);

    [Fact]
    public async Task Every_property_binds_from_the_Skiff_section()
    {
        await using WebApplication app = Build(
        [
            Setting("Skiff:Driver", "afpacket"), Setting("Skiff:InterfaceName", "eth9"), Setting("Skiff:Address", "10.1.2.3/24"),
            Setting("Skiff:Gateway", "10.1.2.1"), Setting("Skiff:Mac", "02:00:00:00:00:42"), Setting("Skiff:Port", "8081"),
            Setting("Skiff:PoolFrames", "4096"), Setting("Skiff:NoDelay", "false"), Setting("Skiff:Backlog", "64"),
            Setting("Skiff:InlineAccepts", "false"), Setting("Skiff:ControlSocket", "true"), Setting("Skiff:ControlSocketPath", "/tmp/x.sock"),
        ]);
        SkiffTransportOptions o = app.Services.GetRequiredService<IOptions<SkiffTransportOptions>>().Value;
        Assert.Equal(("afpacket", "eth9"), (o.Driver, o.InterfaceName));
        Assert.Equal(Ipv4Cidr.Parse("10.1.2.3/24"), o.Address);
        Assert.Equal(new Ipv4Address(10, 1, 2, 1), o.Gateway);
        Assert.Equal(new MacAddress(0x02_00_00_00_00_42UL), o.Mac);
        Assert.Equal((ushort)8081, o.Port);
        Assert.Equal((4096, false, 64, false), (o.PoolFrames, o.NoDelay, o.Backlog, o.InlineAccepts));
        Assert.Equal((true, "/tmp/x.sock"), (o.ControlSocket, o.ControlSocketPath));
    }

    [Fact]
    public async Task Root_keys_such_as_a_platforms_PORT_do_not_configure_Skiff()
    {
        await using WebApplication app = Build([Setting("driver", "afxdp"), Setting("iface", "eth0"), Setting("ip", "10.0.0.2/24"), Setting("port", "9999")]);
        OptionsValidationException e = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());
        Assert.Equal("Say which driver Skiff opens: Skiff:Driver afxdp, afpacket or tap, with Skiff:InterfaceName and Skiff:Address "
            + "(on the command line --driver afxdp --iface IF --ip A.B.C.D/NN --port PORT), or give SkiffTransportOptions a Stack, or a DeviceFactory with StackOptions.",
            Assert.Single(e.Failures));
    }

    [Fact]
    public async Task Malformed_and_unknown_settings_each_stop_the_start_with_a_sentence()
    {
        await using WebApplication app = Build(
        [
            Setting("Skiff:Driver", "dpdk"), Setting("Skiff:Address", "10.0.0.300/24"), Setting("Skiff:Port", "70000"),
            Setting("Skiff:Mac", "ff:ff:ff:ff:ff:ff"), Setting("Skiff:NoDelay", "yes"), Setting("Skiff:Iface", "eth0"),
        ]);
        OptionsValidationException e = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());
        Assert.Contains("Skiff:Iface is not a setting of Skiff's Kestrel transport; the Skiff section takes Driver, InterfaceName, Address,", e.Failures.First());
        Assert.Contains("Skiff:Address '10.0.0.300/24' is not a unicast IPv4 address with a prefix; write e.g. 10.0.0.2/24 (--ip 10.0.0.2/24).", e.Failures);
        Assert.Contains("Skiff:Port '70000' is not a TCP port; give a number from 1 to 65535, e.g. 8080 (--port 8080).", e.Failures);
        Assert.Contains("Skiff:Mac 'ff:ff:ff:ff:ff:ff' is not a unicast MAC address; write e.g. 02:00:0a:00:00:02.", e.Failures);
        Assert.Contains("Skiff:NoDelay 'yes' is not true or false; write Skiff:NoDelay=true or false.", e.Failures);
        Assert.Contains("Skiff:Driver 'dpdk' is not a Skiff driver; choose one of afxdp, afpacket, tap (or kernel: Kestrel's own sockets).", e.Failures);
        // The unparsable address is reported once, not again as missing.
        Assert.DoesNotContain(e.Failures, f => f.StartsWith("Say which address", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_driver_without_interface_address_or_port_is_told_what_to_add()
    {
        await using WebApplication noIface = Build([Setting("Skiff:Driver", "afxdp")]);
        OptionsValidationException e = await Assert.ThrowsAsync<OptionsValidationException>(() => noIface.StartAsync());
        Assert.Equal(
        [
            "Say which interface the afxdp driver opens: Skiff:InterfaceName (--iface IF; see `ip link`).",
            "Say which address Skiff owns on the interface: Skiff:Address A.B.C.D/NN (--ip A.B.C.D/NN, e.g. --ip 10.0.0.2/24).",
        ], e.Failures);

        await using WebApplication noPort = Build([Setting("Skiff:Driver", "afxdp"), Setting("Skiff:InterfaceName", "eth0"), Setting("Skiff:Address", "10.0.0.2/24")]);
        e = await Assert.ThrowsAsync<OptionsValidationException>(() => noPort.StartAsync());
        Assert.StartsWith("Say which port Kestrel serves: Skiff:Port (--port PORT", Assert.Single(e.Failures));

        await using WebApplication badGateway = Build([Setting("Skiff:Driver", "afxdp"), Setting("Skiff:InterfaceName", "eth0"),
            Setting("Skiff:Address", "10.0.0.2/24"), Setting("Skiff:Gateway", "10.9.0.1"), Setting("Skiff:Port", "80")]);
        e = await Assert.ThrowsAsync<OptionsValidationException>(() => badGateway.StartAsync());
        Assert.Equal("Skiff:Gateway 10.9.0.1 is not inside 10.0.0.2/24; give a gateway on the address's subnet (--gateway).", Assert.Single(e.Failures));
    }

    [Fact]
    public async Task Options_set_in_code_are_checked_at_start_too()
    {
        WebApplicationBuilder builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseSkiff(o => o.DeviceFactory = pool => throw new InvalidOperationException("never called"));
        await using WebApplication app = builder.Build();
        OptionsValidationException e = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());
        Assert.Equal("SkiffTransportOptions.DeviceFactory needs StackOptions (the stack's MAC and addresses); set them too.", Assert.Single(e.Failures));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Driver_kernel_serves_on_Kestrels_sockets_at_the_configured_address_and_port(bool commandLine)
    {
        ushort port = FreeLoopbackPort();
        await using WebApplication app = commandLine
            ? Build(args: ["--driver", "kernel", "--ip", "127.0.0.1/8", "--port", port.ToString()])
            : Build([Setting("Skiff:Driver", "kernel"), Setting("Skiff:Address", "127.0.0.1/8"), Setting("Skiff:Port", port.ToString())]);
        await app.StartAsync().WaitAsync(KestrelOverSkiff.Timeout);
        try
        {
            using HttpClient http = new();
            Assert.Equal("over the kernel\n", await http.GetStringAsync($"http://127.0.0.1:{port}/").WaitAsync(KestrelOverSkiff.Timeout));
        }
        finally
        {
            await app.StopAsync();
        }
    }

    private static ushort FreeLoopbackPort()
    {
        using Socket socket = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return (ushort)((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}

using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Microsoft.AspNetCore.Server.Kestrel.Core;
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
    /// <remarks>The options are checked when the host starts; a missing or contradictory setting stops it with an <see cref="OptionsValidationException"/> whose failures say what to set.</remarks>
    public static IWebHostBuilder UseSkiff(this IWebHostBuilder builder, Action<SkiffTransportOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        return builder.ConfigureServices(services => AddTransport(services).Configure(configure));
    }

    /// <summary>Serves over <paramref name="stack"/>, which the caller owns and disposes after the host.</summary>
    public static IWebHostBuilder UseSkiff(this IWebHostBuilder builder, SkiffStack stack)
    {
        ArgumentNullException.ThrowIfNull(stack);
        return builder.UseSkiff(o => o.Stack = stack);
    }

    /// <summary>
    /// Serves over the device the <c>Skiff</c> section of <paramref name="configuration"/> names, bound through the
    /// options pattern (<see cref="SkiffTransportOptions.SectionName"/>; one key per <see cref="SkiffTransportOptions"/>
    /// property): <c>Driver</c> (afxdp, afpacket or tap), <c>InterfaceName</c>, <c>Address</c> (A.B.C.D/NN),
    /// <c>Port</c> (Kestrel listens on that port of the address; without it Kestrel's own <c>urls</c> or endpoints
    /// must be set), and optionally <c>Gateway</c>, <c>Mac</c>, <c>PoolFrames</c>, <c>NoDelay</c>, <c>Backlog</c>,
    /// <c>InlineAccepts</c>, <c>ControlSocket</c> and <c>ControlSocketPath</c>. Nothing outside the section is read.
    /// With <c>WebApplication.CreateBuilder(args)</c>, pass <c>builder.Configuration</c>; add
    /// <c>builder.Configuration.AddCommandLine(args, SkiffTransportOptions.CommandLineSwitches())</c> to take
    /// <c>--driver afxdp --iface eth0 --ip 10.0.0.2/24 --port 8080</c> as the <c>skiff</c> command does.
    /// <c>Driver</c> <c>kernel</c> leaves Kestrel on its own kernel sockets, listening on the address and port: the
    /// same app and command line without Skiff, for comparisons. The settings are checked when the host starts
    /// (<c>ValidateOnStart</c>): a missing or malformed one stops it with an <see cref="OptionsValidationException"/>
    /// whose failures name the setting, its switch and how to write it.
    /// </summary>
    public static IWebHostBuilder UseSkiff(this IWebHostBuilder builder, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configuration);
        return builder.ConfigureServices(services => AddTransport(services).Configure(o => SkiffConfigurationBinder.Bind(configuration, o)));
    }

    /// <summary>
    /// Registers the transport once: its options with the validator run at start, the listener factory, and the
    /// Kestrel endpoint <see cref="SkiffTransportOptions.Port"/> asks for.
    /// </summary>
    private static OptionsBuilder<SkiffTransportOptions> AddTransport(IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SkiffTransportOptions>, SkiffTransportOptionsValidator>());
        // Kestrel tries the transport registered last first; UseKestrel's socket transport is already there.
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConnectionListenerFactory, SkiffTransportFactory>());
        services.TryAddEnumerable(ServiceDescriptor.Transient<IConfigureOptions<KestrelServerOptions>, PortEndpointSetup>());
        return services.AddOptions<SkiffTransportOptions>().ValidateOnStart();
    }

    /// <summary>Adds <see cref="SkiffTransportOptions.Port"/> on <see cref="SkiffTransportOptions.Address"/> to Kestrel's endpoints.</summary>
    private sealed class PortEndpointSetup(IOptions<SkiffTransportOptions> options) : IConfigureOptions<KestrelServerOptions>
    {
        public void Configure(KestrelServerOptions kestrel)
        {
            SkiffTransportOptions o;
            try
            {
                o = options.Value;
            }
            catch (OptionsValidationException)
            {
                // Kestrel's options are made when the app is built, before the host starts; the start-up validation
                // reports every failure then, and the host does not start.
                return;
            }
            if (o.Port is ushort port)
            {
                IPAddress address = IPAddress.Any;
                if (o.Address is Ipv4Cidr cidr)
                {
                    byte[] bytes = new byte[4];
                    cidr.Address.Write(bytes);
                    address = new IPAddress(bytes);
                }
                kestrel.Listen(address, port);
            }
        }
    }
}

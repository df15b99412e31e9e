using Skiff.Engine;
using Skiff.Wire;

namespace Skiff.Kestrel;

/// <summary>
/// Where Kestrel's Skiff transport gets its <see cref="SkiffStack"/>. Set exactly one of three things:
/// <list type="bullet">
/// <item><see cref="Stack"/>: a stack you built and own (the transport never disposes it);</item>
/// <item><see cref="DeviceFactory"/> with <see cref="StackOptions"/>: the transport builds the stack with
/// <see cref="SkiffStackBuilder"/> when Kestrel binds its first endpoint and disposes it with the host;</item>
/// <item><see cref="Driver"/>, <see cref="InterfaceName"/> and <see cref="Address"/>: the transport opens that Linux
/// device (<see cref="Skiff.Drivers.Linux.LinuxDevices.Open"/>) and builds the stack on it when Kestrel binds, and
/// closes both with the host.</item>
/// </list>
/// Kestrel's endpoints (<c>Listen</c>, <c>--urls</c>) or <see cref="Port"/> say which ports are served; each must be an
/// IPv4 endpoint on any address (0.0.0.0) or on one of the stack's addresses.
/// <para>
/// From configuration (<c>UseSkiff(builder.Configuration)</c>) the options come from the <see cref="SectionName"/>
/// section, one key per property: <c>"Skiff": { "Driver": "afxdp", "InterfaceName": "eth0", "Address": "10.0.0.2/24",
/// "Port": 8080 }</c> in appsettings.json, <c>Skiff__Driver=afxdp</c> in the environment, <c>--Skiff:Driver afxdp</c> or,
/// with <see cref="CommandLineSwitches"/>, <c>--driver afxdp</c> on the command line. They are checked when the host
/// starts, whichever way they were set: a missing or malformed setting stops the start with an
/// <c>OptionsValidationException</c> whose failures say which setting and how to write it.
/// </para>
/// </summary>
public sealed class SkiffTransportOptions
{
    /// <summary>The configuration section <c>UseSkiff(IConfiguration)</c> reads: <c>Skiff</c>.</summary>
    public const string SectionName = "Skiff";

    /// <summary>
    /// Short command-line switches for the <see cref="SectionName"/> section, for
    /// <c>builder.Configuration.AddCommandLine(args, SkiffTransportOptions.CommandLineSwitches())</c>: <c>--driver</c>,
    /// <c>--iface</c>, <c>--ip</c>, <c>--gateway</c>, <c>--mac</c>, <c>--port</c>, <c>--pool-frames</c>,
    /// <c>--control-socket</c> and <c>--control-socket-path</c>, the spelling of the <c>skiff</c> command. A new
    /// dictionary on each call.
    /// </summary>
    public static IDictionary<string, string> CommandLineSwitches() => new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["--driver"] = $"{SectionName}:{nameof(Driver)}",
        ["--iface"] = $"{SectionName}:{nameof(InterfaceName)}",
        ["--ip"] = $"{SectionName}:{nameof(Address)}",
        ["--gateway"] = $"{SectionName}:{nameof(Gateway)}",
        ["--mac"] = $"{SectionName}:{nameof(Mac)}",
        ["--port"] = $"{SectionName}:{nameof(Port)}",
        ["--pool-frames"] = $"{SectionName}:{nameof(PoolFrames)}",
        ["--control-socket"] = $"{SectionName}:{nameof(ControlSocket)}",
        ["--control-socket-path"] = $"{SectionName}:{nameof(ControlSocketPath)}",
    };

    /// <summary>A stack to serve on, owned by the caller. Default null.</summary>
    public SkiffStack? Stack { get; set; }

    /// <summary>Creates the device over the pool the builder makes (<see cref="SkiffStackBuilder.UseDevice(Func{PacketPool, IDevice})"/>); needs <see cref="StackOptions"/>. Default null.</summary>
    public Func<PacketPool, IDevice>? DeviceFactory { get; set; }

    /// <summary>The options of the stack built over <see cref="DeviceFactory"/>. Default null.</summary>
    public SkiffStackOptions? StackOptions { get; set; }

    /// <summary>
    /// A Linux driver by name: afxdp, afpacket or tap; or <c>kernel</c>, which leaves Kestrel on its own kernel
    /// sockets (the same app without Skiff, for comparisons). Default null.
    /// </summary>
    public string? Driver { get; set; }

    /// <summary>The interface <see cref="Driver"/> opens (for tap: the TAP interface to create or attach to). Default null.</summary>
    public string? InterfaceName { get; set; }

    /// <summary>The address the stack owns on <see cref="InterfaceName"/>, with its prefix (10.0.0.2/24). Default null.</summary>
    public Ipv4Cidr? Address { get; set; }

    /// <summary>Default gateway for the <see cref="Driver"/> stack. Default none (only on-link peers are reachable).</summary>
    public Ipv4Address? Gateway { get; set; }

    /// <summary>The <see cref="Driver"/> stack's MAC address. Default the interface's own (afpacket, afxdp) or a random local one (tap).</summary>
    public MacAddress? Mac { get; set; }

    /// <summary>
    /// A port Kestrel listens on, on <see cref="Address"/> (0.0.0.0 without one), added to Kestrel's own endpoints.
    /// Default null: only Kestrel's endpoints (<c>Listen</c>, <c>--urls</c>).
    /// </summary>
    public ushort? Port { get; set; }

    /// <summary>Frames in the pool the transport creates for <see cref="Driver"/>. Default 16384 (32 MiB of 2 KiB frames).</summary>
    public int PoolFrames { get; set; } = 16384;

    /// <summary>Changes the options of the <see cref="Driver"/> stack after the transport filled them in (TCP settings, engine, ...). Default null.</summary>
    public Func<SkiffStackOptions, SkiffStackOptions>? ConfigureStack { get; set; }

    /// <summary>
    /// Accepted connections send without Nagle's delay (TCP_NODELAY), as Kestrel's socket transport does by default
    /// (SocketTransportOptions.NoDelay); the rest of their TCP settings are the stack's. Default true.
    /// </summary>
    public bool NoDelay { get; set; } = true;

    /// <summary>Connections each listener queues for Kestrel to accept. Default null: the stack's default backlog.</summary>
    public int? Backlog { get; set; }

    /// <summary>
    /// Kestrel's accept loop resumes on the Skiff engine's thread when a connection arrives, not on the thread pool
    /// (<see cref="SkiffStack.Listen"/>'s <c>unsafeInlineAccepts</c>). That loop only registers the connection and queues
    /// it to the thread pool, so the hand-off it saves is pure gain: about a third more connections per second in
    /// bench/kestrel-wrk.sh. Turn it off if something in Kestrel's accept path may block (the engine's core would
    /// stall with it). Default true.
    /// </summary>
    public bool InlineAccepts { get; set; } = true;

    /// <summary>
    /// Opens the stack's control socket when the transport starts, so <c>skiff stats</c> reads the app's counters and
    /// <c>skiff capture</c> records its traffic from outside the process (<see cref="SkiffStack.StartControlServer"/>);
    /// closed when the transport stops. Default false. On the command line: <c>--control-socket true</c>.
    /// </summary>
    public bool ControlSocket { get; set; }

    /// <summary>
    /// Where <see cref="ControlSocket"/> opens the socket. Default null: <c>skiff-app-PID.sock</c> in
    /// <c>$XDG_RUNTIME_DIR</c>, else in /tmp, which <c>skiff stats</c> and <c>skiff capture</c> find by themselves.
    /// </summary>
    public string? ControlSocketPath { get; set; }

    /// <summary>Sentences about section values that did not parse, reported by the validator when the host starts.</summary>
    internal List<string> ConfigurationErrors { get; } = [];

    /// <summary>Set when the configuration names neither <see cref="Port"/> nor Kestrel endpoints of its own.</summary>
    internal bool PortMissing { get; set; }
}

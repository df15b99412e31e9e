using System.Net;
using Skiff.Engine.Internal;
using Skiff.Engine.Rss;
using Skiff.Stack;
using Skiff.Stack.Tcp;
using Skiff.Stack.Udp;

namespace Skiff.Engine;

/// <summary>
/// A running Skiff TCP/IP stack: one <see cref="Skiff.Stack.Interface"/> per core, each driven by its own
/// <see cref="SkiffEngine"/> loop thread, with .NET async listeners, connections and UDP sockets.
/// Create it with <see cref="CreateBuilder"/>.
/// </summary>
/// <remarks>
/// <para>Cores share nothing: each owns its interface (ARP cache, connections, timers). A flow stays on the
/// core its RSS hash picks (<see cref="Steering"/>): a listener listens on every core and accepts from all of
/// them, a connection this stack opens gets a source port whose hash comes back to the core that opened it,
/// and a UDP socket is bound on every core.</para>
/// Thread-safety: every member is safe from any thread except the engine's own loop thread, where the
/// blocking control calls (<see cref="Listen"/>, <see cref="BindUdp"/>, <see cref="Dispose"/>) must not be made.
/// Disposing stops the engine (connections are reset, outstanding operations fail with
/// <see cref="ObjectDisposedException"/>) and returns every packet buffer to its pool.
/// </remarks>
public sealed class SkiffStack : IDisposable, IAsyncDisposable
{
    private readonly bool _ownsDevice;
    private readonly SkiffEngine[] _engines;
    private int _disposed;
    private int _nextConnectCore;

    internal SkiffStack(SkiffStackOptions options, IDevice device, PacketPool pool, bool ownsDevice)
        : this(options, [device], pool, ownsDevice)
    {
    }

    /// <summary>A stack over one device (cores spread by software RSS) or one device per core (a <see cref="QueueMesh"/>).</summary>
    internal SkiffStack(SkiffStackOptions options, IReadOnlyList<IDevice> devices, PacketPool pool, bool ownsDevice)
    {
        Options = options;
        Device = devices[0];
        Devices = devices;
        Pool = pool;
        _ownsDevice = ownsDevice;
        int cores = options.Cores;
        Steering = new FlowSteering(cores);
        if (devices.Count > 1)
        {
            if (devices.Count != cores)
            {
                throw new ArgumentException($"{devices.Count} queue devices for {cores} cores: give one device per core (SkiffStackOptions.Cores).");
            }
            Mesh = new QueueMesh(devices, options.Tcp.EphemeralPortFirst, options.Tcp.EphemeralPortLast);
        }
        else if (cores > 1)
        {
            Rss = new SoftwareRss(devices[0], Steering);
        }
        // One secret for every core: ISNs and SYN cookies are a property of the host, not of a core.
        UInt128 secret = options.SecretKey ?? Interface.NewSecretKey();
        _engines = new SkiffEngine[cores];
        for (int i = 0; i < cores; i++)
        {
            InterfaceOptions io = options.ToInterfaceOptions() with { SecretKey = secret, Tcp = TcpOptionsOf(options.Tcp, i) };
            if (i > 0)
            {
                io = io with { Ipv6 = null }; // IPv6 is core 0's: RSS and the queue mesh steer IPv4 flows only (docs/ipv6.md)
            }
            SkiffEngineOptions eo = cores == 1
                ? options.Engine with { PinToCpu = options.PinToCpus?[0] ?? options.Engine.PinToCpu }
                : options.Engine with { Queue = i, ThreadName = $"{options.Engine.ThreadName}-{i}", PinToCpu = options.PinToCpus?[i] };
            IDevice queue = Mesh?.Queue(i) ?? Rss?.Queue(i) ?? devices[0];
            _engines[i] = new SkiffEngine(new Interface(io, queue.Pool), queue, eo);
            Rss?.SetWaker(i, _engines[i].Wake);
            Mesh?.SetWaker(i, _engines[i].Wake);
        }
        Engines = _engines;
        foreach (SkiffEngine engine in _engines)
        {
            engine.Start();
        }
    }

    /// <summary>A builder starting from <paramref name="options"/>.</summary>
    public static SkiffStackBuilder CreateBuilder(SkiffStackOptions options) => new(options);

    /// <summary>The options the stack was built with.</summary>
    public SkiffStackOptions Options { get; }

    /// <summary>The engine of core 0 (the only one with <see cref="SkiffStackOptions.Cores"/> 1).</summary>
    public SkiffEngine Engine => _engines[0];

    /// <summary>Every core's engine, by queue index.</summary>
    public IReadOnlyList<SkiffEngine> Engines { get; }

    /// <summary>How flows are assigned to cores.</summary>
    public FlowSteering Steering { get; }

    /// <summary>The software RSS splitting the device between cores, or null (one core, or one device per core).</summary>
    public SoftwareRss? Rss { get; }

    /// <summary>The mesh joining one device per core (hardware queues), or null.</summary>
    public QueueMesh? Mesh { get; }

    /// <summary>The devices the stack was given: one, or one per core.</summary>
    public IReadOnlyList<IDevice> Devices { get; }

    /// <summary>The device the stack sends and receives through (the first, with one device per core).</summary>
    public IDevice Device { get; }

    /// <summary>The pool the stack's frames come from.</summary>
    public PacketPool Pool { get; }

    /// <summary>
    /// Listens on <paramref name="port"/> on every address. <paramref name="backlog"/> bounds connections
    /// waiting for <see cref="SkiffListener.AcceptAsync"/> (default <see cref="Skiff.Stack.Tcp.TcpLayerOptions.DefaultBacklog"/>).
    /// Throws <see cref="InvalidOperationException"/> when the port already has a listener. Blocks until the loop ran it.
    /// </summary>
    /// <param name="port">The local port.</param>
    /// <param name="backlog">Connections that may wait for an accept, per core.</param>
    /// <param name="unsafeInlineAccepts">
    /// When true, an <see cref="SkiffListener.AcceptAsync"/> the loop completes with a connection resumes its caller on
    /// the loop's own thread instead of the thread pool: one hand-off less per connection (in the spirit of Kestrel's
    /// UnsafePreferInlineScheduling, for accepts only). Unsafe because the caller's code then runs on the loop: it must
    /// hand the connection on (queue it to the thread pool, start a task) and await the next accept without blocking,
    /// or every connection of that core stalls. Kestrel's accept loop does just that, so the Kestrel transport turns it
    /// on. Failures and cancellations always resume on the thread pool. Default false.
    /// </param>
    /// <param name="config">TCP settings of the accepted connections. Default the stack's <see cref="SkiffStackOptions.TcpConfig"/>.</param>
    public SkiffListener Listen(ushort port, int? backlog = null, bool unsafeInlineAccepts = false, Skiff.Stack.Tcp.TcpConfig? config = null)
    {
        ThrowIfStopped();
        ListenerShared shared = new(this, _engines.Length, unsafeInlineAccepts);
        for (int i = 0; i < _engines.Length; i++)
        {
            ListenerCore core = shared.Cores[i];
            try
            {
                _engines[i].Invoke(iface =>
                {
                    core.Open(iface.Tcp.Listen(port, backlog: backlog, config: config ?? Options.TcpConfig));
                    return true;
                });
            }
            catch
            {
                shared.RequestClose(); // closes the cores that opened
                throw;
            }
        }
        return new SkiffListener(shared, port);
    }

    /// <summary>Binds UDP <paramref name="port"/> (0: an ephemeral port) on every address, on every core. Blocks until the loops ran it.</summary>
    public SkiffUdpSocket BindUdp(ushort port = 0)
    {
        ThrowIfStopped();
        UdpShared shared = new(this, _engines.Length);
        UdpEndpoint local = default;
        for (int i = 0; i < _engines.Length; i++)
        {
            UdpCore core = shared.Cores[i];
            ushort bindPort = i == 0 ? port : local.Port; // core 0 picks an ephemeral port, the others bind the same
            try
            {
                local = _engines[i].Invoke(iface =>
                {
                    UdpSocket socket = iface.Udp.Bind(bindPort);
                    core.Open(socket);
                    return socket.LocalEndpoint;
                });
            }
            catch
            {
                shared.RequestClose();
                throw;
            }
        }
        return new SkiffUdpSocket(shared, local);
    }

    /// <summary>
    /// Starts a live capture of every core's loop (or the one <see cref="Capture.SkiffCaptureOptions.Queue"/> names) into
    /// <paramref name="output"/> as pcapng: what <c>skiff capture</c> does from outside (docs/capture.md). Stop it with
    /// <see cref="Capture.SkiffCapture.Stop"/>; the stack keeps serving.
    /// </summary>
    public Capture.SkiffCapture StartCapture(Stream output, Capture.SkiffCaptureOptions? options = null, bool leaveOpen = false)
    {
        ThrowIfStopped();
        return Capture.SkiffCapture.Start(Engines, output, options, leaveOpen);
    }

    /// <summary>
    /// Opens a control socket for this stack, so <c>skiff stats</c> reads its counters and <c>skiff capture</c> captures
    /// its traffic from outside the process: at <paramref name="path"/>, or by default <c>skiff-app-PID.sock</c> in
    /// <c>$XDG_RUNTIME_DIR</c> (else <c>/tmp</c>), mode 0600. Dispose the server to close it. Throws
    /// <see cref="Control.SkiffControlException"/> with a sentence when the socket cannot be made.
    /// </summary>
    public Control.SkiffControlServer StartControlServer(string? path = null)
    {
        ThrowIfStopped();
        Control.SkiffControlServer server = Control.SkiffControlServer.Start(path ?? Control.SkiffControlSockets.Default(Environment.ProcessId, "app"), replaceStale: path is null);
        server.Publishers = [.. _engines.Select(e => e.Metrics)];
        server.Engines = _engines;
        return server;
    }

    /// <summary>Same as <see cref="SkiffConnection.ConnectAsync(SkiffStack, IPEndPoint, CancellationToken)"/>.</summary>
    public ValueTask<SkiffConnection> ConnectAsync(IPEndPoint remote, CancellationToken cancellationToken = default) =>
        SkiffConnection.ConnectAsync(this, remote, cancellationToken);

    /// <summary>Stops every engine and returns every buffer (see <see cref="SkiffEngine.Stop"/>); disposes the device and pool when the builder created them. Idempotent.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        // Core 0 last: it carries the other cores' final frames (their RSTs) to the device.
        for (int i = _engines.Length - 1; i >= 0; i--)
        {
            _engines[i].Stop();
        }
        Rss?.DrainAll();
        Mesh?.DrainAll();
        if (_ownsDevice)
        {
            foreach (IDevice device in Devices)
            {
                (device as IDisposable)?.Dispose();
            }
            Pool.Dispose();
        }
    }

    /// <summary>Same as <see cref="Dispose"/>, off the calling thread.</summary>
    public ValueTask DisposeAsync() => new(Task.Run(Dispose));

    /// <summary>The core whose stack sends a UDP datagram from <paramref name="localPort"/> to <paramref name="destination"/>: the one its replies reach.</summary>
    internal int SendCoreFor(ushort localPort, UdpEndpoint destination)
    {
        if (_engines.Length == 1 || destination.IsIpv6)
        {
            return 0; // IPv6 runs on core 0 only
        }
        if (Mesh is QueueMesh mesh)
        {
            return Math.Max(0, mesh.OwnerOfPort(localPort));
        }
        return Steering.QueueOfIncoming(Options.Addresses[0].Address, localPort, destination.Address, destination.Port);
    }

    /// <summary>The engine a new outgoing connection opens on: the cores in turn.</summary>
    internal SkiffEngine NextConnectEngine() =>
        _engines.Length == 1 ? _engines[0] : _engines[(int)((uint)Interlocked.Increment(ref _nextConnectCore) % (uint)_engines.Length)];

    internal void ThrowIfStopped()
    {
        foreach (SkiffEngine engine in _engines)
        {
            if (engine.IsStopped || engine.IsStopRequested)
            {
                throw engine.StoppedException();
            }
        }
    }

    /// <summary>Core <paramref name="core"/>'s TCP options: with several cores, ephemeral ports whose incoming hash lands on it.</summary>
    private TcpLayerOptions TcpOptionsOf(TcpLayerOptions tcp, int core)
    {
        if (Options.Cores == 1)
        {
            return tcp;
        }
        Func<TcpTuple, bool>? user = tcp.EphemeralPortFilter;
        if (Mesh is QueueMesh mesh)
        {
            // The device's hash is unknown: ports are partitioned, and the mesh passes each port's segments to its core.
            return tcp with { EphemeralPortFilter = t => mesh.OwnerOfPort(t.LocalPort) == core && (user is null || user(t)) };
        }
        FlowSteering steering = Steering;
        return tcp with
        {
            EphemeralPortFilter = t =>
                steering.QueueOfIncoming(t.LocalAddress, t.LocalPort, t.RemoteAddress, t.RemotePort) == core && (user is null || user(t)),
        };
    }

    /// <summary>"Skiff stack" and its addresses, for logs and the debugger.</summary>
    public override string ToString() => $"Skiff stack {string.Join(", ", Options.Addresses)}";
}

using System.Net;
using Skiff.Engine.Internal;
using Skiff.Stack;
using Skiff.Stack.Udp;

namespace Skiff.Engine;

/// <summary>
/// A running Skiff TCP/IP stack: one <see cref="Skiff.Stack.Interface"/> over one device, driven by a
/// <see cref="SkiffEngine"/> loop thread, with .NET async listeners, connections and UDP sockets.
/// Create it with <see cref="CreateBuilder"/>.
/// </summary>
/// <remarks>
/// Thread-safety: every member is safe from any thread except the engine's own loop thread, where the
/// blocking control calls (<see cref="Listen"/>, <see cref="BindUdp"/>, <see cref="Dispose"/>) must not be made.
/// Disposing stops the engine (connections are reset, outstanding operations fail with
/// <see cref="ObjectDisposedException"/>) and returns every packet buffer to its pool.
/// </remarks>
public sealed class SkiffStack : IDisposable, IAsyncDisposable
{
    private readonly bool _ownsDevice;
    private int _disposed;

    internal SkiffStack(SkiffStackOptions options, IDevice device, PacketPool pool, bool ownsDevice)
    {
        Options = options;
        Device = device;
        Pool = pool;
        _ownsDevice = ownsDevice;
        Interface iface = new(options.ToInterfaceOptions(), pool);
        Engine = new SkiffEngine(iface, device, options.Engine);
        Engine.Start();
    }

    /// <summary>A builder starting from <paramref name="options"/>.</summary>
    public static SkiffStackBuilder CreateBuilder(SkiffStackOptions options) => new(options);

    /// <summary>The options the stack was built with.</summary>
    public SkiffStackOptions Options { get; }

    /// <summary>The engine driving the stack.</summary>
    public SkiffEngine Engine { get; }

    /// <summary>The device the stack sends and receives through.</summary>
    public IDevice Device { get; }

    /// <summary>The pool the stack's frames come from.</summary>
    public PacketPool Pool { get; }

    /// <summary>
    /// Listens on <paramref name="port"/> on every address. <paramref name="backlog"/> bounds connections
    /// waiting for <see cref="SkiffListener.AcceptAsync"/> (default <see cref="Skiff.Stack.Tcp.TcpLayerOptions.DefaultBacklog"/>).
    /// Throws <see cref="InvalidOperationException"/> when the port already has a listener. Blocks until the loop ran it.
    /// </summary>
    public SkiffListener Listen(ushort port, int? backlog = null)
    {
        ThrowIfStopped();
        ListenerCore core = new(this);
        Engine.Invoke(iface =>
        {
            core.Open(iface.Tcp.Listen(port, backlog: backlog, config: Options.TcpConfig));
            return true;
        });
        return new SkiffListener(core, port);
    }

    /// <summary>Binds UDP <paramref name="port"/> (0: an ephemeral port) on every address. Blocks until the loop ran it.</summary>
    public SkiffUdpSocket BindUdp(ushort port = 0)
    {
        ThrowIfStopped();
        UdpCore core = new(Engine);
        UdpEndpoint local = Engine.Invoke(iface =>
        {
            UdpSocket socket = iface.Udp.Bind(port);
            core.Open(socket);
            return socket.LocalEndpoint;
        });
        return new SkiffUdpSocket(core, local);
    }

    /// <summary>Same as <see cref="SkiffConnection.ConnectAsync(SkiffStack, IPEndPoint, CancellationToken)"/>.</summary>
    public ValueTask<SkiffConnection> ConnectAsync(IPEndPoint remote, CancellationToken cancellationToken = default) =>
        SkiffConnection.ConnectAsync(this, remote, cancellationToken);

    /// <summary>Stops the engine and returns every buffer (see <see cref="SkiffEngine.Stop"/>); disposes the device and pool when the builder created them. Idempotent.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        Engine.Stop();
        if (_ownsDevice)
        {
            (Device as IDisposable)?.Dispose();
            Pool.Dispose();
        }
    }

    /// <summary>Same as <see cref="Dispose"/>, off the calling thread.</summary>
    public ValueTask DisposeAsync() => new(Task.Run(Dispose));

    private void ThrowIfStopped()
    {
        if (Engine.IsStopped || Engine.IsStopRequested)
        {
            throw Engine.StoppedException();
        }
    }

    public override string ToString() => $"Skiff stack {string.Join(", ", Options.Addresses)}";
}

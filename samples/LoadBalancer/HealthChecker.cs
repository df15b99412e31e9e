using Skiff.Engine;
using Skiff.Stack;
using Skiff.Stack.Arp;
using Skiff.Stack.Tcp;
using Skiff.Wire;

namespace Skiff.Samples.LoadBalancer;

/// <summary>How the health checker probes a backend.</summary>
public enum HealthCheckKind
{
    /// <summary>A TCP connect to the backend's address and the check port: up when the handshake completes (then reset).</summary>
    Tcp,

    /// <summary>An ICMP echo request: up when the reply comes back.</summary>
    Icmp,

    /// <summary>No probes: every backend is up (its next hop's MAC is still needed).</summary>
    None,
}

/// <summary>How often and how the health checker probes.</summary>
public sealed record HealthCheckOptions
{
    /// <summary>TCP connect, ICMP echo, or none. Default TCP.</summary>
    public HealthCheckKind Kind { get; init; } = HealthCheckKind.Tcp;

    /// <summary>The port TCP probes connect to (the backend's own address). Required for TCP.</summary>
    public ushort Port { get; init; }

    /// <summary>Time between the starts of two probes of one backend. Default 1 s.</summary>
    public Duration Interval { get; init; } = Duration.FromSeconds(1);

    /// <summary>How long a probe may take before it counts as failed. Default 1 s.</summary>
    public Duration Timeout { get; init; } = Duration.FromSeconds(1);

    /// <summary>Consecutive failures that take an up backend out. Default 2.</summary>
    public int Fall { get; init; } = 2;

    /// <summary>Consecutive successes that bring a down backend back. Default 2.</summary>
    public int Rise { get; init; } = 2;

    /// <summary>The gateway to backends off the link (their next hop), or null when every backend is on the link.</summary>
    public Ipv4Address? Gateway { get; init; }

    /// <summary>
    /// Next hops whose MAC is given rather than resolved by ARP (<c>ip neigh add ... nud permanent</c>; <c>--neighbor IP=MAC</c>).
    /// Default none.
    /// </summary>
    public IReadOnlyDictionary<Ipv4Address, MacAddress> Neighbors { get; init; } = new Dictionary<Ipv4Address, MacAddress>();
}

/// <summary>
/// Probes every backend through the load balancer's own Skiff stack, on the engine's loop and at the engine's time (an
/// <see cref="IEngineStage"/>): TCP connects (or ICMP echoes) from the balancer's address, each backend every
/// <see cref="HealthCheckOptions.Interval"/>; <see cref="HealthCheckOptions.Fall"/> failures in a row take a backend out
/// of the Maglev table, <see cref="HealthCheckOptions.Rise"/> successes bring it back. It also keeps each backend's next
/// hop MAC from the stack's ARP cache (the probes keep those entries fresh). Backends start down: none gets a flow
/// before its first successful probes.
/// </summary>
public sealed class HealthChecker : IEngineStage
{
    private const ushort EchoIdentifier = 0x4C42; // "LB"

    private readonly Interface _iface;
    private readonly Balancer _balancer;
    private readonly HealthCheckOptions _options;
    private readonly Probe[] _probes;
    private ushort _sequence;
    private bool _started;

    private struct Probe
    {
        public bool InFlight;
        public SocketHandle Socket;
        public ushort Sequence;
        public Instant StartedAt;
        public Instant NextAt;
        public int Successes;
        public int Failures;
    }

    public HealthChecker(Interface iface, Balancer balancer, HealthCheckOptions options)
    {
        ArgumentNullException.ThrowIfNull(iface);
        ArgumentNullException.ThrowIfNull(balancer);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Kind == HealthCheckKind.Tcp && options.Port == 0)
        {
            throw new ArgumentException("A TCP health check needs a port; give --check-port (it defaults to the VIP's port).");
        }
        if (options.Interval.TotalMicros <= 0 || options.Timeout.TotalMicros <= 0 || options.Fall < 1 || options.Rise < 1)
        {
            throw new ArgumentException("Health checks need a positive interval and timeout, and fall and rise of at least 1.");
        }
        _iface = iface;
        _balancer = balancer;
        _options = options;
        _probes = new Probe[balancer.BackendCount];
    }

    /// <summary>Probes that succeeded.</summary>
    public long Successes { get; private set; }

    /// <summary>Probes that failed (refused, reset, timed out, or could not start).</summary>
    public long Failures { get; private set; }

    /// <summary>Backends taken out or brought back.</summary>
    public long Transitions { get; private set; }

    /// <summary>Called on the loop thread whenever a backend goes up (true) or down (false).</summary>
    public event Action<int, bool>? BackendChanged;

    /// <inheritdoc/>
    public bool Run(Instant now)
    {
        bool moved = false;
        if (!_started)
        {
            _started = true;
            for (int i = 0; i < _probes.Length; i++)
            {
                _probes[i].NextAt = now;
            }
        }
        RefreshMacs(now);
        if (_options.Kind == HealthCheckKind.Icmp)
        {
            while (_iface.TryReceiveEchoReply(out Interface.EchoReply reply))
            {
                if (reply.Identifier != EchoIdentifier)
                {
                    continue;
                }
                for (int i = 0; i < _probes.Length; i++)
                {
                    if (_probes[i].InFlight && _probes[i].Sequence == reply.Sequence && _balancer.Options.Backends[i] == reply.Source)
                    {
                        Finish(i, true);
                        moved = true;
                    }
                }
            }
        }
        for (int i = 0; i < _probes.Length; i++)
        {
            ref Probe p = ref _probes[i];
            if (p.InFlight)
            {
                moved |= Check(i, now);
            }
            if (!p.InFlight && now >= p.NextAt)
            {
                Start(i, now);
                moved = true;
            }
        }
        return moved;
    }

    /// <inheritdoc/>
    public Instant PollAt(Instant now)
    {
        Instant at = Instant.FromMillis(long.MaxValue / 1000);
        foreach (ref readonly Probe p in _probes.AsSpan())
        {
            Instant due = p.InFlight ? p.StartedAt + _options.Timeout : p.NextAt;
            at = Instant.Min(at, due);
        }
        // A backend whose next hop has no MAC yet is looked at again soon: the probe's ARP exchange fills it in.
        for (int i = 0; i < _probes.Length; i++)
        {
            if (_balancer.NextHopMac(i) is null)
            {
                at = Instant.Min(at, now + Duration.FromMillis(10));
            }
        }
        return _started ? at : now;
    }

    private void RefreshMacs(Instant now)
    {
        for (int i = 0; i < _probes.Length; i++)
        {
            Ipv4Address nextHop = NextHopOf(_balancer.Options.Backends[i]);
            if (_options.Neighbors.TryGetValue(nextHop, out MacAddress given))
            {
                if (_balancer.NextHopMac(i) != given)
                {
                    _balancer.SetNextHopMac(i, given);
                }
                continue;
            }
            ArpEntryState state = _iface.Arp.GetState(nextHop, out MacAddress mac);
            if (state is ArpEntryState.Reachable or ArpEntryState.Stale && _balancer.NextHopMac(i) != mac)
            {
                _balancer.SetNextHopMac(i, mac);
            }
        }
        _ = now;
    }

    private Ipv4Address NextHopOf(Ipv4Address backend)
    {
        foreach (Ipv4Cidr own in _iface.Addresses)
        {
            if (own.PrefixLength < 32 && own.Contains(backend))
            {
                return backend;
            }
        }
        return _options.Gateway ?? backend;
    }

    private void Start(int i, Instant now)
    {
        ref Probe p = ref _probes[i];
        p.StartedAt = now;
        p.NextAt = now + _options.Interval;
        Ipv4Address backend = _balancer.Options.Backends[i];
        switch (_options.Kind)
        {
            case HealthCheckKind.None:
                Finish(i, true);
                return;
            case HealthCheckKind.Icmp:
                p.Sequence = ++_sequence;
                p.InFlight = true;
                if (!_iface.SendEchoRequest(now, backend, EchoIdentifier, p.Sequence, 8))
                {
                    Finish(i, false);
                }
                return;
            default:
                try
                {
                    p.Socket = _iface.Tcp.Connect(now, _iface.SourceFor(backend), backend, _options.Port);
                    p.InFlight = true;
                }
                catch (InvalidOperationException)
                {
                    Finish(i, false); // no free socket or local port: counts against the backend like a timeout
                }
                return;
        }
    }

    private bool Check(int i, Instant now)
    {
        ref Probe p = ref _probes[i];
        if (_options.Kind == HealthCheckKind.Tcp)
        {
            if (!_iface.Tcp.TryGet(p.Socket, out TcpSocket? socket))
            {
                Finish(i, false);
                return true;
            }
            if (socket.State == TcpState.Established || socket.State == TcpState.CloseWait)
            {
                socket.Abort();
                _iface.Tcp.Release(p.Socket);
                Finish(i, true);
                return true;
            }
            if (socket.State == TcpState.Closed)
            {
                _iface.Tcp.Release(p.Socket);
                Finish(i, false);
                return true;
            }
            if (now - p.StartedAt >= _options.Timeout)
            {
                socket.Abort();
                _iface.Tcp.Release(p.Socket);
                Finish(i, false);
                return true;
            }
            return false;
        }
        if (now - p.StartedAt >= _options.Timeout)
        {
            Finish(i, false);
            return true;
        }
        return false;
    }

    private void Finish(int i, bool ok)
    {
        ref Probe p = ref _probes[i];
        p.InFlight = false;
        if (ok)
        {
            Successes++;
            p.Successes++;
            p.Failures = 0;
            if (!_balancer.IsHealthy(i) && p.Successes >= _options.Rise)
            {
                Change(i, true);
            }
        }
        else
        {
            Failures++;
            p.Failures++;
            p.Successes = 0;
            if (_balancer.IsHealthy(i) && p.Failures >= _options.Fall)
            {
                Change(i, false);
            }
        }
    }

    private void Change(int i, bool up)
    {
        _balancer.SetHealthy(i, up);
        Transitions++;
        BackendChanged?.Invoke(i, up);
    }
}

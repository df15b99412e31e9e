using System.Buffers.Binary;
using Skiff.Hooks;
using Skiff.Wire;

namespace Skiff.Samples.LoadBalancer;

/// <summary>How the balancer hands a flow's packets to its backend.</summary>
public enum ForwardingMode
{
    /// <summary>IP-in-IP (RFC 2003): an outer IPv4 header to the backend; the backend decapsulates and owns the VIP.</summary>
    Ipip,

    /// <summary>Direct server return: the Ethernet destination becomes the backend's; the backend (on the link) owns the VIP.</summary>
    Dsr,
}

/// <summary>Which transport protocols the VIP balances.</summary>
[Flags]
public enum VipProtocols
{
    /// <summary>TCP to the VIP's port.</summary>
    Tcp = 1,

    /// <summary>UDP to the VIP's port.</summary>
    Udp = 2,

    /// <summary>Both.</summary>
    Both = Tcp | Udp,
}

/// <summary>What a <see cref="Balancer"/> balances and how.</summary>
public sealed record BalancerOptions
{
    /// <summary>The virtual IP clients connect to.</summary>
    public required Ipv4Address Vip { get; init; }

    /// <summary>The VIP's port.</summary>
    public required ushort Port { get; init; }

    /// <summary>TCP, UDP or both. Default both.</summary>
    public VipProtocols Protocols { get; init; } = VipProtocols.Both;

    /// <summary>The backends' addresses, in a fixed order (a backend's index is its position).</summary>
    public required IReadOnlyList<Ipv4Address> Backends { get; init; }

    /// <summary>IP-in-IP or direct server return. Default IP-in-IP.</summary>
    public ForwardingMode Mode { get; init; } = ForwardingMode.Ipip;

    /// <summary>The outer source address of IP-in-IP packets (the load balancer's own address).</summary>
    public required Ipv4Address LocalAddress { get; init; }

    /// <summary>The load balancer's MAC: the source of every frame it sends on.</summary>
    public required MacAddress LocalMac { get; init; }

    /// <summary>The link's MTU: an encapsulated packet larger than this is dropped (counted as too big). Default 1500.</summary>
    public int MtuBytes { get; init; } = 1500;

    /// <summary>The Maglev lookup table's size, a prime. Default 65537.</summary>
    public int TableSize { get; init; } = Maglev.DefaultTableSize;

    /// <summary>The connection table's capacity. Default 65536.</summary>
    public int Connections { get; init; } = 65536;

    /// <summary>How long a connection-table entry lives without a packet. Default 60 s.</summary>
    public Duration IdleTimeout { get; init; } = Duration.FromSeconds(60);
}

/// <summary>Counters of the packet path (written by the loop thread; read from any thread as they are).</summary>
public sealed class BalancerCounters
{
    /// <summary>Frames sent on to a backend, by backend index.</summary>
    public long[] Forwarded { get; }

    /// <summary>Bytes sent on (as sent, encapsulation included), by backend index.</summary>
    public long[] ForwardedBytes { get; }

    internal BalancerCounters(int backends)
    {
        Forwarded = new long[backends];
        ForwardedBytes = new long[backends];
    }

    /// <summary>Flows looked up in the Maglev table (not in the connection table).</summary>
    public long NewFlows;

    /// <summary>Flows whose connection-table backend was no longer usable, sent to a new one.</summary>
    public long Rescheduled;

    /// <summary>Frames for the VIP dropped because no backend was usable.</summary>
    public long NoBackend;

    /// <summary>IP fragments for the VIP dropped (a fragment has no ports to hash; the backend could not get them all).</summary>
    public long Fragments;

    /// <summary>Frames for the VIP whose encapsulated packet would exceed the MTU.</summary>
    public long TooBig;

    /// <summary>Frames for the VIP dropped as malformed (lengths that do not fit) or VLAN-tagged.</summary>
    public long Malformed;

    /// <summary>Frames dropped for want of headroom for the outer header.</summary>
    public long NoHeadroom;

    /// <summary>Changes of the Maglev table (a backend came or went).</summary>
    public long TableBuilds;
}

/// <summary>
/// The load balancer's data plane and its backend set: for a frame to VIP:port (TCP or UDP) it finds the flow's backend
/// (connection table first, then the Maglev table), rewrites the frame for it (IP-in-IP in the headroom, or the MACs for
/// DSR) and says <see cref="HookVerdict.Tx"/>; everything else passes to the stack. Sans-I/O: the time is passed in,
/// nothing is allocated per packet, nothing blocks. The health checker marks backends up or down and gives their next
/// hop's MAC; a backend is used when it is up and its MAC is known, and a change of that set rebuilds the Maglev table
/// (into a spare table allocated once). One loop owns a balancer: its hook and its health checker run on that loop.
/// </summary>
public sealed class Balancer
{
    private readonly ulong[] _names;
    private readonly bool[] _healthy;
    private readonly bool[] _usable;
    private readonly MacAddress[] _nextHopMacs;
    private readonly bool[] _macKnown;
    private readonly int[] _scratch;
    private int[] _table;
    private int[] _spare;
    private readonly uint _vip;
    private readonly byte _tcp;
    private readonly byte _udp;

    public Balancer(BalancerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Backends.Count == 0)
        {
            throw new ArgumentException("Give at least one backend.");
        }
        if (options.Backends.Distinct().Count() != options.Backends.Count)
        {
            throw new ArgumentException("A backend is listed twice; give each backend once.");
        }
        if (!Maglev.IsPrime(options.TableSize) || options.TableSize < options.Backends.Count * 10)
        {
            throw new ArgumentException($"The Maglev table size {options.TableSize} must be a prime and at least 10 times the number of backends (65537 is the usual one).");
        }
        Options = options;
        int n = options.Backends.Count;
        _names = [.. options.Backends.Select(b => Maglev.NameOf(b.Value))];
        _healthy = new bool[n];
        _usable = new bool[n];
        _nextHopMacs = new MacAddress[n];
        _macKnown = new bool[n];
        _scratch = new int[n];
        _table = new int[options.TableSize];
        _spare = new int[options.TableSize];
        Array.Fill(_table, -1);
        Connections = new ConnectionTable(options.Connections, options.IdleTimeout);
        Counters = new BalancerCounters(n);
        _vip = options.Vip.Value;
        _tcp = (options.Protocols & VipProtocols.Tcp) != 0 ? (byte)IpProtocol.Tcp : (byte)0;
        _udp = (options.Protocols & VipProtocols.Udp) != 0 ? (byte)IpProtocol.Udp : (byte)0;
    }

    public BalancerOptions Options { get; }

    public BalancerCounters Counters { get; }

    /// <summary>The connection table (5-tuple to backend).</summary>
    public ConnectionTable Connections { get; }

    /// <summary>How many backends there are (usable or not).</summary>
    public int BackendCount => _names.Length;

    /// <summary>The current Maglev lookup table (slot to backend index, -1 when none is usable). Do not change it.</summary>
    public ReadOnlySpan<int> Table => _table;

    /// <summary>Whether the health checker has the backend up.</summary>
    public bool IsHealthy(int backend) => _healthy[backend];

    /// <summary>Whether the backend gets flows: up, with its next hop's MAC known.</summary>
    public bool IsUsable(int backend) => _usable[backend];

    /// <summary>The backend's next hop's MAC, if known.</summary>
    public MacAddress? NextHopMac(int backend) => _macKnown[backend] ? _nextHopMacs[backend] : null;

    /// <summary>Marks a backend up or down (the health checker's verdict); rebuilds the Maglev table if that changes the usable set.</summary>
    public void SetHealthy(int backend, bool healthy)
    {
        _healthy[backend] = healthy;
        Refresh(backend);
    }

    /// <summary>Sets the MAC frames for the backend go to (its own on the link, or the gateway's).</summary>
    public void SetNextHopMac(int backend, MacAddress mac)
    {
        _nextHopMacs[backend] = mac;
        _macKnown[backend] = true;
        Refresh(backend);
    }

    private void Refresh(int backend)
    {
        bool usable = _healthy[backend] && _macKnown[backend];
        if (usable == _usable[backend])
        {
            return;
        }
        _usable[backend] = usable;
        Maglev.Populate(_names, _usable, _spare, _scratch);
        (_table, _spare) = (_spare, _table);
        Counters.TableBuilds++;
    }

    /// <summary>
    /// The backend of a flow at <paramref name="now"/>: its connection-table entry while that backend is usable, else the
    /// Maglev table's choice, which is then recorded. -1 when no backend is usable.
    /// </summary>
    public int Pick(uint source, uint destination, ushort sourcePort, ushort destinationPort, byte protocol, Instant now)
    {
        ulong hash = Maglev.FlowHash(source, destination, sourcePort, destinationPort, protocol);
        (ulong addresses, ulong ports) = ConnectionTable.KeyOf(source, destination, sourcePort, destinationPort, protocol);
        bool known = Connections.TryGet(addresses, ports, hash, now, out int backend);
        if (known && _usable[backend])
        {
            return backend;
        }
        backend = _table[Maglev.SlotOf(hash, _table.Length)];
        if (backend < 0)
        {
            return -1;
        }
        if (known)
        {
            Counters.Rescheduled++;
        }
        else
        {
            Counters.NewFlows++;
        }
        Connections.Set(addresses, ports, hash, now, backend);
        return backend;
    }

    /// <summary>
    /// The packet path. Frames that are not IPv4 TCP/UDP to VIP:port pass (the stack answers ARP, ping and the health
    /// checks' replies); fragments for the VIP and frames it cannot place are dropped and counted; the rest are rewritten
    /// for their backend and sent back out (<see cref="HookVerdict.Tx"/>).
    /// </summary>
    public HookVerdict Process(PacketBuffer frame, Instant now)
    {
        PacketClass c = frame.Classification;
        if ((c & PacketClass.Ipv4) == 0 || (c & PacketClass.Malformed) != 0)
        {
            return HookVerdict.Pass;
        }
        ReadOnlySpan<byte> data = frame.Data;
        int l3 = frame.L3Offset;
        if (data.Length < l3 + 20 || BinaryPrimitives.ReadUInt32BigEndian(data[(l3 + 16)..]) != _vip)
        {
            return HookVerdict.Pass;
        }
        byte protocol = data[l3 + 9];
        if (protocol == 0 || (protocol != _tcp && protocol != _udp))
        {
            return HookVerdict.Pass; // ICMP to the VIP and the like: the stack answers (the VIP is one of its addresses)
        }
        if ((c & PacketClass.Fragment) != 0)
        {
            Counters.Fragments++;
            return HookVerdict.Drop;
        }
        int l4 = frame.L4Offset;
        if (l3 != 14 || l4 < l3 + 20 || data.Length < l4 + 4)
        {
            Counters.Malformed++;
            return HookVerdict.Drop;
        }
        ushort destinationPort = BinaryPrimitives.ReadUInt16BigEndian(data[(l4 + 2)..]);
        if (destinationPort != Options.Port)
        {
            return HookVerdict.Pass;
        }
        uint source = BinaryPrimitives.ReadUInt32BigEndian(data[(l3 + 12)..]);
        ushort sourcePort = BinaryPrimitives.ReadUInt16BigEndian(data[l4..]);
        int backend = Pick(source, _vip, sourcePort, destinationPort, protocol, now);
        if (backend < 0)
        {
            Counters.NoBackend++;
            return HookVerdict.Drop;
        }
        if (Options.Mode == ForwardingMode.Dsr)
        {
            Encapsulation.RewriteMacs(frame, Options.LocalMac, _nextHopMacs[backend]);
        }
        else
        {
            switch (Encapsulation.Ipip(frame, Options.LocalMac, _nextHopMacs[backend], Options.LocalAddress, Options.Backends[backend], Options.MtuBytes))
            {
                case EncapsulationResult.Ok:
                    break;
                case EncapsulationResult.TooBig:
                    Counters.TooBig++;
                    return HookVerdict.Drop;
                case EncapsulationResult.NoHeadroom:
                    Counters.NoHeadroom++;
                    return HookVerdict.Drop;
                default:
                    Counters.Malformed++;
                    return HookVerdict.Drop;
            }
        }
        Counters.Forwarded[backend]++;
        Counters.ForwardedBytes[backend] += frame.Length;
        return HookVerdict.Tx;
    }
}

/// <summary>The balancer as an RX hook: one call into <see cref="Balancer.Process"/> per frame, at the burst's time.</summary>
public readonly struct BalancerHook(Balancer balancer) : IPacketHook
{
    /// <inheritdoc/>
    public HookVerdict Process(PacketBuffer frame, ref HookContext context) => balancer.Process(frame, context.Now);
}

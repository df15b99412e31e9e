using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Skiff.Stack;
using Skiff.Stack.Arp;
using Skiff.Stack.Ipv4;
using Skiff.Wire;

namespace Skiff.Forwarding;

/// <summary>
/// The consumer stage of a forwarding engine loop (docs/forwarding.md): takes the frames the RX hooks passed and sends
/// them out of another port of the same loop, in one of three modes (<see cref="ForwardingMode"/>). One per core and
/// queue, shared nothing: its per-port interfaces (ARP caches, ICMP rate limits) belong to its loop. Sans-I/O: it writes
/// into the ports' <see cref="TxBuffer"/>s, which the engine flushes through the TX hooks and the egress stage.
/// </summary>
/// <remarks>
/// <para>Ports pair up: frames from port 2k leave by port 2k+1 and back (io and mac modes). In l3 mode the route decides.</para>
/// <para>Copies: a frame leaves from the receiving port's pool when the sending port's device uses the same pool
/// (AF_PACKET, TAP: the kernel copies anyway); between two AF_XDP UMEMs it is copied once into the sending port's pool
/// and counted (<see cref="InterfaceCounters.ForwardCopies"/>).</para>
/// <para>l3 mode is RFC 1812's forwarding path: header checks (5.2.2), martian sources dropped (5.3.7), TTL decrement
/// with the checksum updated incrementally (RFC 1624), Time Exceeded, Destination Unreachable and fragmentation-needed
/// (RFC 1191) sent from the receiving port's address and rate limited, next hops resolved by the sending port's ARP
/// cache, and frames for the router's own addresses (ping, ARP) handed to the receiving port's <see cref="Interface"/>.</para>
/// <para>Counters: forwarded frames, copies and drops by cause go to the <see cref="InterfaceCounters"/> given at
/// construction (the engine loop's, so they reach the <c>Skiff</c> meter and <c>skiff stats</c>).</para>
/// </remarks>
public sealed class Forwarder : IPacketConsumer
{
    private const int EthernetHeaderBytes = 14;
    private const ushort EtherTypeIpv4 = 0x0800;
    private const ushort EtherTypeArp = 0x0806;

    private readonly ForwardingMode _mode;
    private readonly InterfaceCounters _counters;
    private readonly PacketPool[] _pools;
    private readonly MacAddress[] _macs;
    private readonly MacAddress[] _peerMacs;
    private readonly int[] _mtus;
    private readonly RoutingTable? _routes;
    private readonly Interface[] _interfaces;
    private readonly uint[] _routerAddresses;
    private readonly uint[] _subnetBroadcasts;
    private readonly PacketBuffer[] _local;
    private TxBuffer[] _outputs = [];

    /// <summary>
    /// A forwarder over <paramref name="ports"/>, whose devices use <paramref name="pools"/> (port i's pool at i).
    /// Call <see cref="Attach"/> with the ports' output buffers before the first burst.
    /// </summary>
    /// <param name="mode">io, mac or l3.</param>
    /// <param name="ports">Two or more ports (an even number in io and mac modes).</param>
    /// <param name="pools">Each port's device pool: where frames sent out of it must live.</param>
    /// <param name="counters">Where forwarded frames, copies and drops are counted (the engine loop's interface's counters).</param>
    /// <param name="routes">l3 mode: the routes (shared by every core's forwarder, read-only).</param>
    /// <param name="rxBurst">The largest burst the loop hands over.</param>
    /// <param name="icmpErrorsPerSecond">l3 mode: ICMP errors each port sends per second at most (RFC 1812 4.3.2.8).</param>
    public Forwarder(ForwardingMode mode, IReadOnlyList<ForwardingPort> ports, IReadOnlyList<PacketPool> pools, InterfaceCounters counters,
        RoutingTable? routes = null, int rxBurst = 64, int icmpErrorsPerSecond = 1000)
    {
        ArgumentNullException.ThrowIfNull(ports);
        ArgumentNullException.ThrowIfNull(pools);
        ArgumentNullException.ThrowIfNull(counters);
        if (ports.Count < 2 || pools.Count != ports.Count)
        {
            throw new ArgumentException($"A forwarder needs at least two ports and one pool each; {ports.Count} ports and {pools.Count} pools were given.");
        }
        if (mode != ForwardingMode.L3 && ports.Count % 2 != 0)
        {
            throw new ArgumentException($"io and mac modes pair ports (0 with 1, 2 with 3, ...): give an even number of ports, not {ports.Count}.");
        }
        _mode = mode;
        _counters = counters;
        _pools = [.. pools];
        _macs = [.. ports.Select(p => p.Mac)];
        _peerMacs = [.. ports.Select((p, i) => p.PeerMac ?? new MacAddress(0x02_00_00_00_00_00UL | (uint)i))];
        _mtus = [.. ports.Select(p => p.MtuBytes)];
        _local = new PacketBuffer[Math.Max(1, rxBurst)];
        _interfaces = [];
        _routerAddresses = [];
        _subnetBroadcasts = [];
        if (mode == ForwardingMode.L3)
        {
            _routes = routes ?? throw new ArgumentException("l3 mode needs routes.", nameof(routes));
            if (ports.Any(p => p.Address is null))
            {
                throw new ArgumentException("l3 mode needs an address on every port (--ip after each --iface).");
            }
            Ipv4Cidr[] addresses = [.. ports.Select(p => p.Address!.Value)];
            _routerAddresses = [.. addresses.Select(a => a.Address.Value)];
            _subnetBroadcasts = [.. addresses.Where(a => a.PrefixLength < 31).Select(a => a.BroadcastAddress.Value)];
            _interfaces = new Interface[ports.Count];
            for (int p = 0; p < ports.Count; p++)
            {
                // The port's own address first (its replies and ICMP errors come from it); the router's other addresses as
                // /32s, so that a ping to any of them is answered by the port it arrives on (as Linux does).
                List<Ipv4Cidr> own = [addresses[p], .. addresses.Where((_, i) => i != p).Select(a => new Ipv4Cidr(a.Address, 32))];
                Interface iface = new(new InterfaceOptions
                {
                    Mac = ports[p].Mac,
                    Addresses = own,
                    MtuBytes = ports[p].MtuBytes,
                    IcmpErrorsPerSecond = icmpErrorsPerSecond,
                    GratuitousArp = false,
                    LargeBufferCount = 1,
                    RxBurst = _local.Length,
                }, pools[p]);
                foreach ((Ipv4Cidr prefix, NextHop hop) in routes.Routes)
                {
                    if (hop.Port == p && !hop.IsOnLink)
                    {
                        iface.Routes.Add(new Route(prefix, hop.Gateway)); // ICMP errors back to sources behind a gateway on this port
                    }
                }
                _interfaces[p] = iface;
            }
        }
    }

    /// <summary>How many ports it forwards between.</summary>
    public int PortCount => _pools.Length;

    /// <summary>The mode.</summary>
    public ForwardingMode Mode => _mode;

    /// <summary>l3 mode: the interface answering for the router on port <paramref name="port"/> (ARP, ping, ICMP errors). Loop thread only.</summary>
    public Interface InterfaceOf(int port) => _interfaces[port];

    /// <summary>Gives the forwarder the ports' output buffers (the engine's <c>PortOutput(i)</c>), in port order. Before the first burst.</summary>
    public void Attach(IReadOnlyList<TxBuffer> outputs)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        if (outputs.Count != _pools.Length)
        {
            throw new ArgumentException($"Give one output per port: {_pools.Length}, not {outputs.Count}.", nameof(outputs));
        }
        _outputs = [.. outputs];
    }

    /// <inheritdoc/>
    public void Receive(Instant now, Span<PacketBuffer> burst, TxBuffer output)
    {
        int port = PortOf(output);
        switch (_mode)
        {
            case ForwardingMode.Io:
                ForwardIo(burst, port ^ 1);
                break;
            case ForwardingMode.Mac:
                ForwardMac(burst, port ^ 1);
                break;
            default:
                Route(now, burst, port);
                break;
        }
    }

    /// <summary>l3 mode, the loop's egress step: each port's interface sends its due ARP requests and retries. True if it sent anything.</summary>
    public bool Transmit(Instant now)
    {
        bool sent = false;
        for (int p = 0; p < _interfaces.Length; p++)
        {
            long before = _interfaces[p].Counters.TxFrames;
            _interfaces[p].Transmit(now, _outputs[p]);
            sent |= _interfaces[p].Counters.TxFrames != before;
        }
        return sent;
    }

    /// <summary>When <see cref="Transmit"/> must run without news: the ports' interfaces' earliest timer (ARP retries).</summary>
    public Instant PollAt(Instant now)
    {
        Instant at = Instant.Never;
        foreach (Interface iface in _interfaces)
        {
            at = Instant.Min(at, iface.PollAt(now));
        }
        return at;
    }

    /// <summary>Shutdown: frees what the ports' interfaces hold (frames waiting for ARP).</summary>
    public void FreeAll()
    {
        foreach (Interface iface in _interfaces)
        {
            iface.DropAllQueued();
        }
    }

    private int PortOf(TxBuffer output)
    {
        TxBuffer[] outputs = _outputs;
        for (int p = 0; p < outputs.Length; p++)
        {
            if (ReferenceEquals(outputs[p], output))
            {
                return p;
            }
        }
        throw new InvalidOperationException("The forwarder was handed a burst from a port it was not attached to; call Attach with the engine's PortOutput of every port.");
    }

    private void ForwardIo(Span<PacketBuffer> burst, int to)
    {
        for (int i = 0; i < burst.Length; i++)
        {
            PacketBuffer frame = burst[i];
            burst[i] = null!;
            Send(frame, to);
        }
    }

    private void ForwardMac(Span<PacketBuffer> burst, int to)
    {
        ulong dst = _peerMacs[to].Value;
        ulong src = _macs[to].Value;
        for (int i = 0; i < burst.Length; i++)
        {
            PacketBuffer frame = burst[i];
            burst[i] = null!;
            Span<byte> data = frame.Data;
            if (data.Length < EthernetHeaderBytes)
            {
                Drop(frame, DropReason.EthernetMalformed);
                continue;
            }
            WriteMacs(data, dst, src);
            Send(frame, to);
        }
    }

    /// <summary>Destination then source MAC into the first 12 bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WriteMacs(Span<byte> data, ulong dst, ulong src)
    {
        BinaryPrimitives.WriteUInt32BigEndian(data, (uint)(dst >> 16));
        BinaryPrimitives.WriteUInt32BigEndian(data[4..], (uint)(dst << 16) | (uint)(src >> 32));
        BinaryPrimitives.WriteUInt32BigEndian(data[8..], (uint)src);
    }

    /// <summary>Into port <paramref name="to"/>'s output, copied into its pool first when it is another.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Send(PacketBuffer frame, int to)
    {
        if (!ReferenceEquals(frame.Pool, _pools[to]) && !TryMove(ref frame, to))
        {
            return;
        }
        if (_outputs[to].TryAdd(frame))
        {
            _counters.ForwardedFrames++;
        }
        else
        {
            Drop(frame, DropReason.TxQueueFull);
        }
    }

    /// <summary>Copies <paramref name="frame"/> into port <paramref name="to"/>'s pool and frees the original; false (frame dropped) when that pool is empty.</summary>
    private bool TryMove(ref PacketBuffer frame, int to)
    {
        if (!_pools[to].TryAllocate(out PacketBuffer? copy) || !frame.TryCopyTo(copy))
        {
            copy?.Free();
            Drop(frame, DropReason.NoBuffer);
            return false;
        }
        frame.Free();
        frame = copy;
        _counters.ForwardCopies++;
        return true;
    }

    private void Drop(PacketBuffer frame, DropReason reason)
    {
        _counters.Drop(reason);
        frame.Free();
    }

    // ---- l3: RFC 1812 ----

    private void Route(Instant now, Span<PacketBuffer> burst, int from)
    {
        int local = 0;
        for (int i = 0; i < burst.Length; i++)
        {
            PacketBuffer frame = burst[i];
            burst[i] = null!;
            if (RouteOne(now, frame, from))
            {
                _local[local++] = frame;
            }
        }
        if (local > 0)
        {
            _interfaces[from].Receive(now, _local.AsSpan(0, local), _outputs[from]);
        }
    }

    /// <summary>Forwards, answers or drops <paramref name="frame"/>; true when it is for the router itself (the caller hands it to the port's interface).</summary>
    private bool RouteOne(Instant now, PacketBuffer frame, int from)
    {
        Span<byte> data = frame.Data;
        if (data.Length < EthernetHeaderBytes)
        {
            Drop(frame, DropReason.EthernetMalformed);
            return false;
        }
        ushort type = BinaryPrimitives.ReadUInt16BigEndian(data[12..]);
        if (type == EtherTypeArp)
        {
            return true;
        }
        if (type != EtherTypeIpv4)
        {
            Drop(frame, DropReason.UnknownEtherType);
            return false;
        }
        ulong dstMac = ((ulong)BinaryPrimitives.ReadUInt32BigEndian(data) << 16) | BinaryPrimitives.ReadUInt16BigEndian(data[4..]);
        if (dstMac != _macs[from].Value)
        {
            if (dstMac == MacAddress.Broadcast.Value)
            {
                return true; // a broadcast: the interface takes what is for it and drops the rest
            }
            Drop(frame, DropReason.NotOurMac);
            return false;
        }
        Span<byte> ip = data[EthernetHeaderBytes..];
        // RFC 1812 5.2.2: length, version, header length, checksum, total length.
        if (ip.Length < 20 || ip[0] >> 4 != 4 || (ip[0] & 0xF) < 5)
        {
            Drop(frame, DropReason.Ipv4Malformed);
            return false;
        }
        int headerBytes = (ip[0] & 0xF) * 4;
        int total = BinaryPrimitives.ReadUInt16BigEndian(ip[2..]);
        if (total < headerBytes || total > ip.Length)
        {
            Drop(frame, DropReason.Ipv4Malformed);
            return false;
        }
        if ((frame.Checksum & ChecksumState.IpVerified) == 0 && !Checksum.IsValid(ip[..headerBytes]))
        {
            Drop(frame, DropReason.Ipv4BadChecksum);
            return false;
        }
        uint destination = BinaryPrimitives.ReadUInt32BigEndian(ip[16..]);
        if (IsForRouter(destination))
        {
            return true;
        }
        uint source = BinaryPrimitives.ReadUInt32BigEndian(ip[12..]);
        Ipv4Address src = new(source);
        if (!src.IsUnicast || src.IsLoopback || IsRouterAddress(source) || (destination & 0xF000_0000) == 0xE000_0000 || (destination >> 24) == 127 || destination == 0)
        {
            // RFC 1812 5.3.7 martians, 5.3.5 no multicast routing here; 4.2.2.11 never forward to 127/8 or 0.0.0.0.
            Drop(frame, (destination & 0xF000_0000) == 0xE000_0000 || (destination >> 24) == 127 || destination == 0 ? DropReason.Ipv4NotForUs : DropReason.Ipv4BadSource);
            return false;
        }
        if (total < ip.Length)
        {
            frame.TrySetLength(EthernetHeaderBytes + total); // Ethernet padding stays behind (RFC 1812 5.2.2)
            data = frame.Data;
            ip = data[EthernetHeaderBytes..];
        }
        byte ttl = ip[8];
        if (ttl <= 1)
        {
            IcmpError(now, frame, from, Icmpv4Repr.TimeExceeded(Icmpv4TimeExceededCode.TtlExceeded, 0));
            Drop(frame, DropReason.TtlExpired);
            return false;
        }
        if (!_routes!.Lpm.TryLookup(destination, out uint id))
        {
            IcmpError(now, frame, from, Icmpv4Repr.DestinationUnreachable(Icmpv4DestinationUnreachableCode.NetUnreachable, 0));
            Drop(frame, DropReason.NoRoute);
            return false;
        }
        NextHop hop = _routes.NextHops[(int)id];
        int to = hop.Port;
        if (total > _mtus[to])
        {
            // Don't Fragment: fragmentation-needed with the next hop's MTU (RFC 1191). Without DF a router must fragment
            // (RFC 1812 5.2.6); Skiff does not yet, and says so with the same error and counter (docs/forwarding.md).
            IcmpError(now, frame, from, Icmpv4Repr.DestinationUnreachable(Icmpv4DestinationUnreachableCode.FragmentationNeeded, 0, (ushort)_mtus[to]));
            Drop(frame, DropReason.FragmentationNeeded);
            return false;
        }
        // TTL - 1 and RFC 1624's incremental update of the header checksum (the TTL is the high byte of word 4).
        ushort oldWord = BinaryPrimitives.ReadUInt16BigEndian(ip[8..]);
        ip[8] = (byte)(ttl - 1);
        ushort newWord = BinaryPrimitives.ReadUInt16BigEndian(ip[8..]);
        ushort check = BinaryPrimitives.ReadUInt16BigEndian(ip[10..]);
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], Checksum.Update(check, oldWord, newWord));

        Ipv4Address nextHop = hop.IsOnLink ? new Ipv4Address(destination) : hop.Gateway;
        Interface outIface = _interfaces[to];
        if (outIface.Arp.GetState(nextHop, out MacAddress mac) == ArpEntryState.Reachable)
        {
            WriteMacs(data, mac.Value, _macs[to].Value);
            Send(frame, to);
            return false;
        }
        // Unknown or stale neighbour: the port's interface resolves it (an ARP request, the frame queued behind it).
        if (!ReferenceEquals(frame.Pool, _pools[to]) && !TryMove(ref frame, to))
        {
            return false;
        }
        frame.TryAdjust(EthernetHeaderBytes);
        _counters.ForwardedFrames++;
        outIface.SendToNeighbor(now, frame, nextHop, _outputs[to]);
        return false;
    }

    /// <summary>An ICMP error about the frame's IP packet from port <paramref name="from"/>'s interface, back out of that port. The caller still owns the frame.</summary>
    private void IcmpError(Instant now, PacketBuffer frame, int from, Icmpv4Repr template)
    {
        frame.TryAdjust(EthernetHeaderBytes);
        _interfaces[from].SendIcmpErrorAbout(now, frame, template, _outputs[from]);
        frame.TryPrepend(EthernetHeaderBytes);
    }

    private bool IsForRouter(uint destination)
    {
        if (destination == 0xFFFF_FFFF || IsRouterAddress(destination))
        {
            return true;
        }
        foreach (uint b in _subnetBroadcasts)
        {
            if (b == destination)
            {
                return true;
            }
        }
        return false;
    }

    private bool IsRouterAddress(uint address)
    {
        foreach (uint a in _routerAddresses)
        {
            if (a == address)
            {
                return true;
            }
        }
        return false;
    }
}

using System.Runtime.CompilerServices;
using Skiff.Wire;

namespace Skiff.Stack.Ipv4;

/// <summary>
/// The IPv4 forwarding table: longest-prefix match from a destination address to a next hop
/// (RFC 1812 section 5.2.4.3; RFC 1122 section 3.3.1 for a host's "route to a gateway or on-link").
/// </summary>
/// <remarks>
/// <para>Bounds: at most <see cref="Capacity"/> routes, one per prefix. Adding a route for a prefix that
/// already has one replaces it; adding a new prefix to a full table changes nothing and counts
/// <see cref="RefusedFull"/>. <see cref="TryLookup"/> never allocates. <see cref="Add"/> and <see cref="Remove"/>
/// are control-plane calls: they may grow the trie's node array (at most 1 + 3 × Capacity nodes of 2 KiB) and
/// <see cref="Remove"/> rebuilds the trie, O(routes × 128).</para>
/// <para>Layout: a multibit trie with 8-bit strides (controlled prefix expansion, Srinivasan and Varghese 1999):
/// at most 4 dependent reads per lookup, whatever the number of routes or prefix lengths. Each entry holds the
/// longest route ending at that level and a child pointer; the walk keeps the last route it saw.
/// Measured (bench/Skiff.Benchmarks/RouteBenchmarks.cs, <c>--job short</c>, 2 shared and busy cores): about
/// 8.3 ns with 16 routes and 15.9 ns with 1024 routes of random lengths /8 to /32, 0 bytes allocated (that
/// worst case, every route on its own path, uses ~3000 nodes, 6 MiB; a host's table uses a few KiB). The first
/// version, one hash probe per distinct prefix length in use (one open-addressing table, longest length
/// first), measured 35 ns and 495 ns on the same benchmark: 25 lengths probed over a 48 KiB table that does
/// not stay in L1. DIR-24-8 would take two reads but 32 MiB per stack instance (one per core).</para>
/// <para>Not thread-safe: one stack (one core) owns it.</para>
/// </remarks>
public sealed class RouteTable
{
    private const int Stride = 8;
    private const int Fanout = 1 << Stride;

    private struct Entry
    {
        public int Route; // index + 1 into _routes of the longest route ending in this entry; 0 = none
        public int Child; // node index of the next level; 0 = none (node 0 is the root, never a child)
    }

    private readonly Route[] _routes; // dense: [0, Count)
    private readonly int _maxNodes;
    private Entry[] _nodes;
    private int _nodeCount = 1;
    private int _defaultRoute; // index + 1 of 0.0.0.0/0; 0 = none
    private long _refusedFull;
    private long _misses;

    /// <summary>Creates an empty table that holds up to <paramref name="maxRoutes"/> routes (default 1024).</summary>
    public RouteTable(int maxRoutes = 1024)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxRoutes);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxRoutes, 1 << 20);
        Capacity = maxRoutes;
        _routes = new Route[maxRoutes];
        _maxNodes = 1 + 3 * maxRoutes; // a /L route adds at most (L - 1) / 8 <= 3 nodes
        _nodes = new Entry[Fanout * Math.Min(_maxNodes, 16)];
    }

    /// <summary>Most routes the table holds.</summary>
    public int Capacity { get; }

    /// <summary>Routes in the table.</summary>
    public int Count { get; private set; }

    /// <summary>New prefixes refused because the table was full.</summary>
    public long RefusedFull => _refusedFull;

    /// <summary>Lookups that found no route (not even a default route): the stack's "network unreachable".</summary>
    public long Misses => _misses;

    /// <summary>
    /// Adds <paramref name="route"/>, or replaces the route for the same prefix. Host bits of the destination are
    /// cleared (10.1.2.3/8 is stored as 10.0.0.0/8). Returns <see cref="RouteAddResult.TableFull"/> (and counts
    /// <see cref="RefusedFull"/>) when a new prefix does not fit. Throws <see cref="ArgumentException"/> for a
    /// gateway that is broadcast, multicast or class E: that is a configuration error, not packet data.
    /// </summary>
    public RouteAddResult Add(in Route route)
    {
        if (!route.Gateway.IsUnspecified && !route.Gateway.IsUnicast)
        {
            throw new ArgumentException($"Gateway {route.Gateway} is not a unicast address.", nameof(route));
        }
        Ipv4Cidr destination = new(route.Destination.Network, route.Destination.PrefixLength);
        Route normalised = route with { Destination = destination };
        int existing = IndexOf(destination);
        if (existing >= 0)
        {
            _routes[existing] = normalised; // the trie refers to the index, which does not move
            return RouteAddResult.Replaced;
        }
        if (Count == Capacity)
        {
            _refusedFull++;
            return RouteAddResult.TableFull;
        }
        _routes[Count] = normalised;
        Insert(Count);
        Count++;
        return RouteAddResult.Added;
    }

    /// <summary>Removes the route for <paramref name="destination"/> (host bits ignored). False if there was none.</summary>
    public bool Remove(Ipv4Cidr destination)
    {
        int i = IndexOf(new Ipv4Cidr(destination.Network, destination.PrefixLength));
        if (i < 0)
        {
            return false;
        }
        Count--;
        _routes[i] = _routes[Count];
        _routes[Count] = default;
        // Rebuild: removing a prefix would otherwise mean finding what it shadowed in every expanded entry.
        Array.Clear(_nodes, 0, _nodeCount * Fanout);
        _nodeCount = 1;
        _defaultRoute = 0;
        for (int r = 0; r < Count; r++)
        {
            Insert(r);
        }
        return true;
    }

    /// <summary>
    /// Finds the most specific route covering <paramref name="destination"/>. On success <paramref name="match"/>
    /// holds the next hop (the destination itself for an on-link route, else the gateway). False when no route,
    /// not even a default route, covers it; <see cref="Misses"/> is counted. Never allocates.
    /// </summary>
    public bool TryLookup(Ipv4Address destination, out RouteMatch match)
    {
        uint address = destination.Value;
        Entry[] nodes = _nodes;
        int best = _defaultRoute;
        int node = 0;
        for (int shift = 32 - Stride; shift >= 0; shift -= Stride)
        {
            ref Entry entry = ref nodes[(node << Stride) | (int)((address >> shift) & (Fanout - 1))];
            if (entry.Route != 0)
            {
                best = entry.Route;
            }
            node = entry.Child;
            if (node == 0)
            {
                break;
            }
        }
        if (best == 0)
        {
            _misses++;
            match = default;
            return false;
        }
        ref Route route = ref _routes[best - 1];
        match = new RouteMatch(route.IsOnLink ? destination : route.Gateway, route);
        return true;
    }

    /// <summary>Copies up to <c>destination.Length</c> routes (in no particular order) and returns how many were copied.</summary>
    public int CopyTo(Span<Route> destination)
    {
        int n = Math.Min(Count, destination.Length);
        _routes.AsSpan(0, n).CopyTo(destination);
        return n;
    }

    private int IndexOf(Ipv4Cidr destination)
    {
        for (int i = 0; i < Count; i++)
        {
            if (_routes[i].Destination == destination)
            {
                return i;
            }
        }
        return -1;
    }

    // Controlled prefix expansion: a /L route lives at depth (L - 1) / 8 and fills the 2^(8 * (depth + 1) - L)
    // entries its prefix covers there, except those already held by a longer prefix.
    private void Insert(int index)
    {
        int length = _routes[index].Destination.PrefixLength;
        uint network = _routes[index].Destination.Network.Value;
        if (length == 0)
        {
            _defaultRoute = index + 1;
            return;
        }
        int depth = (length - 1) / Stride;
        int node = 0;
        for (int d = 0; d < depth; d++)
        {
            ref Entry entry = ref _nodes[(node << Stride) | (int)((network >> (32 - Stride * (d + 1))) & (Fanout - 1))];
            if (entry.Child == 0)
            {
                int child = NewNode();
                // NewNode may have replaced _nodes: index again rather than through the old reference.
                _nodes[(node << Stride) | (int)((network >> (32 - Stride * (d + 1))) & (Fanout - 1))].Child = child;
                node = child;
            }
            else
            {
                node = entry.Child;
            }
        }
        int shift = 32 - Stride * (depth + 1);
        int first = (int)((network >> shift) & (Fanout - 1));
        int span = 1 << (Stride * (depth + 1) - length);
        for (int e = first; e < first + span; e++)
        {
            ref Entry entry = ref _nodes[(node << Stride) | e];
            if (entry.Route == 0 || _routes[entry.Route - 1].Destination.PrefixLength <= length)
            {
                entry.Route = index + 1;
            }
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private int NewNode()
    {
        if (_nodeCount * Fanout == _nodes.Length)
        {
            int nodes = Math.Min(_maxNodes, _nodeCount * 2);
            Array.Resize(ref _nodes, nodes * Fanout); // control plane only; bounded by _maxNodes
        }
        return _nodeCount++;
    }
}

using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Skiff.Wire;

namespace Skiff.Forwarding;

/// <summary>
/// An IPv4 longest-prefix-match table in DPDK's <c>rte_lpm</c> shape (DIR-24-8, Gupta, Lin and McKeown 1998): a
/// first-level array of 2^24 entries indexed by the top 24 bits of the address, and second-level groups of 256 entries
/// (tbl8) for the /24s that hold longer prefixes. A lookup is one load, or two for an address under a prefix longer
/// than /24. Each entry holds a 24-bit next-hop id, the depth (prefix length) of the route that wrote it, and whether
/// it is valid or points to a group.
/// </summary>
/// <remarks>
/// <para>Memory: the first level is 64 MiB of native memory (as rte_lpm's); each group 1 KiB, at most
/// <see cref="MaxGroups"/> of them, allocated up front. Nothing is allocated after construction.</para>
/// <para>Bounds (contract 5): <see cref="Add"/> refuses a route needing a group when all are in use, and counts it
/// (<see cref="RefusedNoGroup"/>). Routes are only added: a router reloads its table to delete (docs/forwarding.md).</para>
/// <para>Thread-safety: one writer before the loops start; then any number of readers (the loops of every core read
/// one table; a read-only table is not shared mutable state).</para>
/// </remarks>
public sealed unsafe class Ipv4LpmTable : IDisposable
{
    /// <summary>The largest next-hop id (24 bits, as rte_lpm's).</summary>
    public const uint MaxNextHop = 0xFF_FFFF;

    private const uint Valid = 1u << 31;
    private const uint Group = 1u << 30;
    private const int DepthShift = 24;
    private const uint ValueMask = 0xFF_FFFF;
    private const int Tbl24Entries = 1 << 24;
    private const int GroupEntries = 256;

    private uint* _tbl24;
    private uint* _tbl8;
    private int _groupsUsed;

    /// <summary>An empty table with room for <paramref name="maxGroups"/> second-level groups (/24s holding longer prefixes).</summary>
    public Ipv4LpmTable(int maxGroups = 4096)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxGroups);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxGroups, 1 << 24);
        MaxGroups = maxGroups;
        _tbl24 = (uint*)NativeMemory.AlignedAlloc((nuint)Tbl24Entries * sizeof(uint), 64);
        NativeMemory.Clear(_tbl24, (nuint)Tbl24Entries * sizeof(uint));
        nuint groupBytes = (nuint)Math.Max(1, maxGroups) * GroupEntries * sizeof(uint);
        _tbl8 = (uint*)NativeMemory.AlignedAlloc(groupBytes, 64);
        NativeMemory.Clear(_tbl8, groupBytes);
    }

    /// <summary>Second-level groups the table can hold.</summary>
    public int MaxGroups { get; }

    /// <summary>Second-level groups in use.</summary>
    public int GroupsUsed => _groupsUsed;

    /// <summary>Routes added (a prefix added again counts again).</summary>
    public int Count { get; private set; }

    /// <summary>Routes refused because every second-level group was in use.</summary>
    public long RefusedNoGroup { get; private set; }

    /// <summary>
    /// Adds <paramref name="prefix"/> with <paramref name="nextHop"/> (at most <see cref="MaxNextHop"/>); a prefix added
    /// again takes the new next hop. False (the table unchanged) when it needs a second-level group and none is free.
    /// </summary>
    public bool Add(Ipv4Cidr prefix, uint nextHop)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(nextHop, MaxNextHop);
        ObjectDisposedException.ThrowIf(_tbl24 is null, this);
        int depth = prefix.PrefixLength;
        uint network = prefix.Network.Value;
        uint entry = Valid | ((uint)depth << DepthShift) | nextHop;
        if (depth <= 24)
        {
            uint first = network >> 8;
            uint count = 1u << (24 - depth);
            for (uint i = first; i < first + count; i++)
            {
                uint e = _tbl24[i];
                if ((e & Group) != 0)
                {
                    uint* group = _tbl8 + (e & ValueMask) * GroupEntries;
                    for (int j = 0; j < GroupEntries; j++)
                    {
                        if ((group[j] & Valid) == 0 || Depth(group[j]) <= depth)
                        {
                            group[j] = entry;
                        }
                    }
                }
                else if ((e & Valid) == 0 || Depth(e) <= depth)
                {
                    _tbl24[i] = entry;
                }
            }
        }
        else
        {
            uint index = network >> 8;
            uint e = _tbl24[index];
            uint* group;
            if ((e & Group) == 0)
            {
                if (_groupsUsed == MaxGroups)
                {
                    RefusedNoGroup++;
                    return false;
                }
                uint g = (uint)_groupsUsed++;
                group = _tbl8 + g * GroupEntries;
                for (int j = 0; j < GroupEntries; j++)
                {
                    group[j] = e; // what the /24 held (valid or not) covers the whole group at first
                }
                _tbl24[index] = Group | g;
            }
            else
            {
                group = _tbl8 + (e & ValueMask) * GroupEntries;
            }
            uint first = network & 0xFF;
            uint count = 1u << (32 - depth);
            for (uint j = first; j < first + count; j++)
            {
                if ((group[j] & Valid) == 0 || Depth(group[j]) <= depth)
                {
                    group[j] = entry;
                }
            }
        }
        Count++;
        return true;
    }

    /// <summary>The next hop of the longest prefix containing <paramref name="address"/>; false when no route does.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryLookup(uint address, out uint nextHop)
    {
        uint e = _tbl24[address >> 8];
        if ((e & Group) != 0)
        {
            e = _tbl8[(e & ValueMask) * GroupEntries + (address & 0xFF)];
        }
        nextHop = e & ValueMask;
        return (e & Valid) != 0;
    }

    /// <summary>As <see cref="TryLookup(uint, out uint)"/> for an <see cref="Ipv4Address"/>.</summary>
    public bool TryLookup(Ipv4Address address, out uint nextHop) => TryLookup(address.Value, out nextHop);

    /// <summary>The prefix length of the route <paramref name="address"/> matches, or -1 (for tests and diagnostics).</summary>
    public int MatchedDepth(uint address)
    {
        uint e = _tbl24[address >> 8];
        if ((e & Group) != 0)
        {
            e = _tbl8[(e & ValueMask) * GroupEntries + (address & 0xFF)];
        }
        return (e & Valid) != 0 ? Depth(e) : -1;
    }

    private static int Depth(uint e) => (int)((e >> DepthShift) & 0x3F);

    /// <summary>Frees the table's native memory. Not while a loop still reads it.</summary>
    public void Dispose()
    {
        if (_tbl24 is not null)
        {
            NativeMemory.AlignedFree(_tbl24);
            NativeMemory.AlignedFree(_tbl8);
            _tbl24 = null;
            _tbl8 = null;
        }
        GC.SuppressFinalize(this);
    }

    /// <summary>Frees the table's native memory if <see cref="Dispose"/> was never called.</summary>
    ~Ipv4LpmTable() => Dispose();
}

using Skiff.Wire;

namespace Skiff.Forwarding.Tests;

/// <summary>The DIR-24-8 table against a brute-force reference: random tables of every prefix length and random addresses.</summary>
public sealed class Ipv4LpmTableTests
{
    /// <summary>The reference: one dictionary per prefix length, asked from /32 down to /0 (the definition of longest-prefix match).</summary>
    private sealed class Reference
    {
        private readonly Dictionary<uint, uint>[] _byLength = [.. Enumerable.Range(0, 33).Select(_ => new Dictionary<uint, uint>())];

        public void Add(Ipv4Cidr prefix, uint nextHop) => _byLength[prefix.PrefixLength][prefix.Network.Value] = nextHop;

        public (bool Found, uint NextHop, int Length) Lookup(uint address)
        {
            for (int length = 32; length >= 0; length--)
            {
                uint mask = length == 0 ? 0 : 0xFFFF_FFFFu << (32 - length);
                if (_byLength[length].TryGetValue(address & mask, out uint hop))
                {
                    return (true, hop, length);
                }
            }
            return (false, 0, -1);
        }
    }

    [Theory]
    [InlineData(1, 120_000)]
    [InlineData(2, 150_000)]
    public void Matches_the_reference_on_a_random_table_of_every_prefix_length(int seed, int routes)
    {
        Random random = new(seed);
        using Ipv4LpmTable table = new(maxGroups: 65_536);
        Reference reference = new();
        List<Ipv4Cidr> added = [];
        int[] perLength = new int[33];
        for (int i = 0; i < routes; i++)
        {
            // Every length from /0 to /32 occurs; the short ones (each fills up to 2^24 first-level entries) a few times
            // each, as in a real table, so that building 100,000 routes stays fast.
            int length = random.Next(0, 33);
            if (length < 12 && perLength[length] >= 3)
            {
                length = random.Next(12, 33);
            }
            perLength[length]++;
            // Cluster some prefixes so that longer ones land under shorter ones (the overlaps are what a table gets wrong).
            uint address = random.Next(4) == 0 && added.Count > 0 ? added[random.Next(added.Count)].Address.Value ^ (uint)random.Next(1 << 12) : (uint)random.NextInt64(1L << 32);
            Ipv4Cidr prefix = new(new Ipv4Address(address), length);
            uint hop = (uint)random.Next(1 << 24);
            Assert.True(table.Add(prefix, hop), $"{prefix} refused with {table.GroupsUsed} groups in use");
            reference.Add(prefix, hop);
            added.Add(prefix);
        }
        int checkedAddresses = 0;
        void Check(uint address)
        {
            (bool found, uint hop, int length) = reference.Lookup(address);
            Assert.Equal(found, table.TryLookup(address, out uint got));
            if (found)
            {
                Assert.True(hop == got, $"{new Ipv4Address(address)}: next hop {got}, the reference says {hop} (/{length})");
                Assert.Equal(length, table.MatchedDepth(address));
            }
            checkedAddresses++;
        }
        for (int i = 0; i < 1_000_000; i++)
        {
            Check((uint)random.NextInt64(1L << 32));
        }
        foreach (Ipv4Cidr prefix in added)
        {
            uint host = prefix.PrefixLength == 32 ? 0 : (uint)random.NextInt64(1L << (32 - prefix.PrefixLength));
            Check(prefix.Network.Value | host);
            Check(prefix.BroadcastAddress.Value);
        }
        Assert.Equal(1_000_000 + 2 * routes, checkedAddresses);
        Assert.All(perLength, n => Assert.True(n > 0)); // every prefix length 0-32 was in the table
    }

    [Fact]
    public void Matches_a_linear_scan_on_small_tables_added_in_every_order()
    {
        Random random = new(7);
        for (int round = 0; round < 50; round++)
        {
            using Ipv4LpmTable table = new(maxGroups: 64);
            List<(Ipv4Cidr Prefix, uint Hop)> routes = [];
            uint baseAddress = (uint)random.NextInt64(1L << 32) & 0xFFFF_0000;
            for (int i = 0; i < 40; i++)
            {
                Ipv4Cidr prefix = new(new Ipv4Address(baseAddress | (uint)random.Next(1 << 16)), random.Next(8, 33));
                uint hop = (uint)i;
                table.Add(prefix, hop);
                routes.RemoveAll(r => r.Prefix.Network == prefix.Network && r.Prefix.PrefixLength == prefix.PrefixLength);
                routes.Add((prefix, hop));
            }
            for (int i = 0; i < 20_000; i++)
            {
                uint address = baseAddress | (uint)random.Next(1 << 16);
                (Ipv4Cidr Prefix, uint Hop)? best = null;
                foreach ((Ipv4Cidr prefix, uint hop) in routes)
                {
                    if (prefix.Contains(new Ipv4Address(address)) && (best is null || prefix.PrefixLength > best.Value.Prefix.PrefixLength))
                    {
                        best = (prefix, hop);
                    }
                }
                Assert.Equal(best is not null, table.TryLookup(address, out uint got));
                if (best is not null)
                {
                    Assert.Equal(best.Value.Hop, got);
                }
            }
        }
    }

    [Fact]
    public void A_default_route_covers_everything_and_longer_prefixes_win_whatever_the_order()
    {
        using Ipv4LpmTable table = new(maxGroups: 4);
        Assert.False(table.TryLookup(Ipv4Address.Parse("10.1.2.3"), out _));
        table.Add(Ipv4Cidr.Parse("10.1.2.128/25"), 3);
        table.Add(Ipv4Cidr.Parse("0.0.0.0/0"), 1);
        table.Add(Ipv4Cidr.Parse("10.0.0.0/8"), 2);
        Assert.True(table.TryLookup(Ipv4Address.Parse("192.0.2.1"), out uint hop));
        Assert.Equal(1u, hop);
        Assert.True(table.TryLookup(Ipv4Address.Parse("10.1.2.3"), out hop));
        Assert.Equal(2u, hop);
        Assert.True(table.TryLookup(Ipv4Address.Parse("10.1.2.200"), out hop));
        Assert.Equal(3u, hop);
        Assert.Equal(1, table.GroupsUsed);
    }

    [Fact]
    public void A_full_second_level_refuses_the_route_counts_it_and_leaves_the_table_as_it_was()
    {
        using Ipv4LpmTable table = new(maxGroups: 1);
        Assert.True(table.Add(Ipv4Cidr.Parse("10.0.0.0/25"), 1));
        Assert.False(table.Add(Ipv4Cidr.Parse("10.0.1.0/25"), 2));
        Assert.Equal(1, table.RefusedNoGroup);
        Assert.False(table.TryLookup(Ipv4Address.Parse("10.0.1.1"), out _));
        Assert.True(table.Add(Ipv4Cidr.Parse("10.0.0.128/25"), 3)); // the same /24: its group has room
        Assert.True(table.TryLookup(Ipv4Address.Parse("10.0.0.129"), out uint hop));
        Assert.Equal(3u, hop);
    }
}

using System.Diagnostics;
using System.Globalization;
using Skiff.Forwarding;
using Skiff.Wire;

namespace Skiff.Benchmarks.Forwarding;

/// <summary>
/// <c>lpm --depths D:N,D:N,... [--groups 2048] [--iterations 1024] [--batch 4096] [--seed S]</c>: ns per lookup in the
/// forwarder's DIR-24-8 table (<see cref="Ipv4LpmTable"/>) measured as DPDK's <c>lpm_perf_autotest</c> measures rte_lpm, so
/// that bench/lpm.sh can put the two side by side in one run. The table gets N random prefixes of each length D (the
/// distribution lpm_perf_autotest prints, parsed by the script), drawn outside 224.0.0.0/3 as DPDK draws its class A/B/C
/// prefixes, in a table with as many second-level groups as DPDK's test gives rte_lpm (<c>number_tbl8s = 2048</c>).
/// Lookups: <c>iterations</c> batches of <c>batch</c> uniformly random addresses (rte_rand()), only the lookups timed,
/// after one untimed pass so the loop runs as tier-1 code. Prints one line: routes, added, groups used, ns per lookup
/// and the share of lookups that missed.
/// </summary>
internal static class LpmBench
{
    public static int Run(string[] args)
    {
        Dictionary<string, string> o = [];
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            o[args[i].TrimStart('-')] = args[i + 1];
        }
        if (!o.TryGetValue("depths", out string? depthText))
        {
            Console.Error.WriteLine("lpm: give --depths D:N,D:N,... (prefix length: route count), e.g. from lpm_perf_autotest's distribution.");
            return 2;
        }
        int groups = int.Parse(o.GetValueOrDefault("groups", "2048"), CultureInfo.InvariantCulture);
        int iterations = int.Parse(o.GetValueOrDefault("iterations", "1024"), CultureInfo.InvariantCulture);
        int batch = int.Parse(o.GetValueOrDefault("batch", "4096"), CultureInfo.InvariantCulture);
        Random random = new(int.Parse(o.GetValueOrDefault("seed", "1"), CultureInfo.InvariantCulture));

        using Ipv4LpmTable lpm = new(maxGroups: groups);
        List<Ipv4Cidr> routes = [];
        foreach (string part in depthText.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] dn = part.Split(':');
            int depth = int.Parse(dn[0], CultureInfo.InvariantCulture);
            long wanted = Math.Min(long.Parse(dn[1], CultureInfo.InvariantCulture), depth < 3 ? 1L << depth : 7L << (depth - 3));
            HashSet<uint> taken = [];
            uint mask = depth == 0 ? 0 : uint.MaxValue << (32 - depth);
            while (taken.Count < wanted)
            {
                uint network = (uint)random.NextInt64(0, 1L << 32) & mask;
                if ((depth >= 3 && network >> 29 == 7) || !taken.Add(network))
                {
                    continue; // class D and E stay out, as in DPDK's generator
                }
                routes.Add(new Ipv4Cidr(new Ipv4Address(network), depth));
            }
        }
        // Inserted in random order, as DPDK's table is.
        Ipv4Cidr[] shuffled = [.. routes];
        random.Shuffle(shuffled);
        int added = 0;
        foreach (Ipv4Cidr r in shuffled)
        {
            if (lpm.Add(r, 0xAA))
            {
                added++;
            }
        }

        uint[] addresses = new uint[batch];
        long misses = 0;
        long ticks = 0;
        for (int i = -1; i < iterations; i++)
        {
            for (int j = 0; j < batch; j++)
            {
                addresses[j] = (uint)random.NextInt64(0, 1L << 32);
            }
            long begin = Stopwatch.GetTimestamp();
            long miss = Lookup(lpm, addresses);
            long took = Stopwatch.GetTimestamp() - begin;
            if (i >= 0)
            {
                ticks += took;
                misses += miss;
            }
        }
        double lookups = (double)iterations * batch;
        double ns = ticks * (1e9 / Stopwatch.Frequency) / lookups;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"skiff-lpm routes {routes.Count} added {added} groups {lpm.GroupsUsed} lookup_ns {ns:F2} fails {misses * 100.0 / lookups:F1}%"));
        return 0;
    }

    private static long Lookup(Ipv4LpmTable lpm, uint[] addresses)
    {
        long miss = 0;
        foreach (uint a in addresses)
        {
            if (!lpm.TryLookup(a, out _))
            {
                miss++;
            }
        }
        return miss;
    }
}

namespace Skiff.Samples.LoadBalancer;

/// <summary>
/// Maglev consistent hashing (Eisenbud et al., "Maglev: A Fast and Reliable Software Network Load Balancer", NSDI 2016,
/// section 3.4): each backend gets a permutation of the lookup table's M slots from two hashes of its name,
/// <c>offset = h1(name) mod M</c> and <c>skip = h2(name) mod (M - 1) + 1</c> (M prime, so every skip walks all slots),
/// and the backends take turns claiming their next free preferred slot until the table is full. Every backend ends with
/// M/N slots (give or take one), and a change of the backend set moves few slots besides those of the backend that came
/// or went. A flow's backend is <c>table[hash(5-tuple) mod M]</c>.
/// </summary>
public static class Maglev
{
    /// <summary>The paper's table size for small backend sets: a prime well above 100 times the number of backends.</summary>
    public const int DefaultTableSize = 65537;

    /// <summary>
    /// Fills <paramref name="table"/> (length M, a prime) with backend indexes: the paper's population (Pseudocode 1) over
    /// the backends whose <paramref name="usable"/> entry is true, in index order; every slot is -1 when none is usable.
    /// <paramref name="names"/> are the backends' stable names (the address): the same set gives the same table on every
    /// load balancer. Allocates nothing.
    /// </summary>
    public static void Populate(ReadOnlySpan<ulong> names, ReadOnlySpan<bool> usable, Span<int> table, Span<int> next)
    {
        int m = table.Length;
        if (names.Length != usable.Length || next.Length < names.Length)
        {
            throw new ArgumentException("Give one usable flag and one scratch entry per backend name.");
        }
        if (!IsPrime(m))
        {
            throw new ArgumentException($"The lookup table's size {m} is not prime; Maglev needs a prime size (65537 is the usual one).");
        }
        table.Fill(-1);
        next[..names.Length].Clear();
        int any = 0;
        foreach (bool u in usable)
        {
            any += u ? 1 : 0;
        }
        if (any == 0)
        {
            return;
        }
        int filled = 0;
        while (true)
        {
            for (int i = 0; i < names.Length; i++)
            {
                if (!usable[i])
                {
                    continue;
                }
                Permutation(names[i], m, out long offset, out long skip);
                long slot = (offset + next[i] * skip) % m;
                while (table[(int)slot] >= 0)
                {
                    next[i]++;
                    slot = (offset + next[i] * skip) % m;
                }
                table[(int)slot] = i;
                next[i]++;
                if (++filled == m)
                {
                    return;
                }
            }
        }
    }

    /// <summary>A backend's permutation of a table of <paramref name="m"/> slots: its first slot and its step.</summary>
    public static void Permutation(ulong name, int m, out long offset, out long skip)
    {
        offset = (long)(Mix(name ^ 0x9E37_79B9_7F4A_7C15UL) % (ulong)m);
        skip = (long)(Mix(name ^ 0xC2B2_AE3D_27D4_EB4FUL) % (ulong)(m - 1)) + 1;
    }

    /// <summary>The name of a backend at <paramref name="address"/> (its address as a number): stable across runs and machines.</summary>
    public static ulong NameOf(uint address) => Mix(0x4D41_474C_4556_0000UL | address);

    /// <summary>
    /// The flow hash of a 5-tuple (addresses and ports as numbers in host order). Not seeded: every load balancer behind
    /// the same ECMP router must send a flow to the same backend.
    /// </summary>
    public static ulong FlowHash(uint source, uint destination, ushort sourcePort, ushort destinationPort, byte protocol)
    {
        ulong a = ((ulong)source << 32) | destination;
        ulong b = ((ulong)sourcePort << 24) | ((ulong)destinationPort << 8) | protocol;
        return Mix(a ^ Mix(b + 0x1656_67B1_9E37_79F9UL));
    }

    /// <summary>The slot of a flow hash in a table of <paramref name="m"/> slots.</summary>
    public static int SlotOf(ulong hash, int m) => (int)(hash % (uint)m);

    /// <summary>MurmurHash3's 64-bit finaliser: every input bit flips each output bit with probability about 1/2.</summary>
    public static ulong Mix(ulong k)
    {
        k ^= k >> 33;
        k *= 0xFF51_AFD7_ED55_8CCDUL;
        k ^= k >> 33;
        k *= 0xC4CE_B9FE_1A85_EC53UL;
        k ^= k >> 33;
        return k;
    }

    /// <summary>Whether <paramref name="n"/> is prime (trial division; table sizes are small).</summary>
    public static bool IsPrime(int n)
    {
        if (n < 2)
        {
            return false;
        }
        for (int d = 2; (long)d * d <= n; d++)
        {
            if (n % d == 0)
            {
                return false;
            }
        }
        return true;
    }
}

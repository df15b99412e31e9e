using System.Numerics;
using System.Security.Cryptography;

namespace DdosFilter;

/// <summary>
/// Per-source-address token buckets in a table of fixed size: a flood from any number of (spoofed) sources cannot make
/// it grow, and when a new source needs a place the entry given up is the one that has sent least lately, so the busiest
/// attackers keep their (empty) buckets. Sans-I/O: time is passed in; nothing is allocated after construction.
/// </summary>
/// <remarks>
/// <para>Shape: a set-associative hash table, <see cref="Ways"/> entries per set (as a CPU cache), the set chosen by a
/// keyed multiplicative hash of the address (a random key per run, so an attacker cannot aim spoofed sources at one
/// set). A lookup reads one set (one or two cache lines) and never probes further.</para>
/// <para>Eviction: a source not in the table takes a free entry of its set, else the entry with the lowest score, where
/// score = packets seen, halved for every <see cref="DecayMicros"/> the entry has been idle. A source that keeps sending
/// keeps a high score; one spoofed packet scores 1 and is the next to go. A new source starts with a full bucket.</para>
/// <para>Token bucket: <see cref="Rate"/> packets per second, bursts of <see cref="Burst"/>, in micro-tokens (integers),
/// refilled from the time between two packets of the source.</para>
/// </remarks>
public sealed class SourceRateTable
{
    /// <summary>Entries per set.</summary>
    public const int Ways = 4;

    private const long MicroTokens = 1_000_000;

    private readonly Entry[] _entries;
    private readonly int _setMask;
    private readonly ulong _seed;
    private readonly long _capMicroTokens;

    /// <summary>A table of <paramref name="capacity"/> entries (rounded up to a power of two, at least <see cref="Ways"/>).</summary>
    /// <param name="capacity">How many sources are tracked at most.</param>
    /// <param name="rate">Packets per second each source may send in the long run.</param>
    /// <param name="burst">Packets a source may send at once (the bucket's size).</param>
    /// <param name="decayMicros">An idle entry's score halves this often.</param>
    /// <param name="seed">The hash key; null for a random one.</param>
    public SourceRateTable(int capacity, long rate, long burst, long decayMicros = 1_000_000, ulong? seed = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(capacity, 1 << 26);
        ArgumentOutOfRangeException.ThrowIfLessThan(rate, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(burst, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(decayMicros, 1);
        int size = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(capacity, Ways));
        _entries = new Entry[size];
        _setMask = size / Ways - 1;
        Rate = rate;
        Burst = burst;
        DecayMicros = decayMicros;
        _capMicroTokens = burst * MicroTokens;
        _seed = SplitMix(seed ?? ((ulong)(uint)RandomNumberGenerator.GetInt32(int.MaxValue) << 32 | (uint)RandomNumberGenerator.GetInt32(int.MaxValue))) | 1;
    }

    /// <summary>Entries in all (the bound).</summary>
    public int Capacity => _entries.Length;

    /// <summary>Packets per second per source.</summary>
    public long Rate { get; }

    /// <summary>The bucket's size in packets.</summary>
    public long Burst { get; }

    /// <summary>An idle entry's score halves this often (microseconds).</summary>
    public long DecayMicros { get; }

    /// <summary>Entries in use now.</summary>
    public long Count { get; private set; }

    /// <summary>Packets allowed.</summary>
    public long Allowed { get; private set; }

    /// <summary>Packets refused (bucket empty).</summary>
    public long Limited { get; private set; }

    /// <summary>Sources that took a free entry.</summary>
    public long Inserted { get; private set; }

    /// <summary>Sources that took the entry of another (which lost its bucket).</summary>
    public long Evicted { get; private set; }

    /// <summary>
    /// One packet from <paramref name="source"/> at <paramref name="nowMicros"/>: true if its bucket had a token (taken),
    /// false if the source is over its rate.
    /// </summary>
    public bool TryTake(uint source, long nowMicros)
    {
        int set = SetOf(source) * Ways;
        ref Entry victim = ref _entries[set];
        long victimScore = long.MaxValue;
        for (int w = 0; w < Ways; w++)
        {
            ref Entry e = ref _entries[set + w];
            if (e.Used && e.Address == source)
            {
                return Take(ref e, nowMicros);
            }
            long score = e.Used ? Score(in e, nowMicros) : -1;
            if (score < victimScore)
            {
                victimScore = score;
                victim = ref e;
            }
        }
        if (victim.Used)
        {
            Evicted++;
        }
        else
        {
            Inserted++;
            Count++;
        }
        victim.Used = true;
        victim.Address = source;
        victim.Hits = 0;
        victim.Tokens = _capMicroTokens;
        victim.LastMicros = nowMicros;
        return Take(ref victim, nowMicros);
    }

    /// <summary>Whether <paramref name="source"/> has an entry now, and its packet count (tests, diagnostics).</summary>
    public bool TryGet(uint source, out uint hits)
    {
        int set = SetOf(source) * Ways;
        for (int w = 0; w < Ways; w++)
        {
            ref Entry e = ref _entries[set + w];
            if (e.Used && e.Address == source)
            {
                hits = e.Hits;
                return true;
            }
        }
        hits = 0;
        return false;
    }

    /// <summary>The set <paramref name="source"/> lives in (tests aim at one set with it).</summary>
    public int SetOf(uint source) => (int)(((source * _seed) >> 32) & (uint)_setMask);

    /// <summary>SplitMix64's finaliser: any seed, even a small one, becomes a multiplier with its bits spread.</summary>
    internal static ulong SplitMix(ulong x)
    {
        x += 0x9E37_79B9_7F4A_7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58_476D_1CE4_E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D0_49BB_1331_11EBUL;
        return x ^ (x >> 31);
    }

    private bool Take(ref Entry e, long nowMicros)
    {
        long elapsed = nowMicros - e.LastMicros;
        if (elapsed > 0)
        {
            // Refill, without overflow: a long idle entry is simply full.
            e.Tokens = elapsed >= _capMicroTokens / Rate ? _capMicroTokens : Math.Min(_capMicroTokens, e.Tokens + elapsed * Rate);
            e.LastMicros = nowMicros;
        }
        if (e.Hits != uint.MaxValue)
        {
            e.Hits++;
        }
        if (e.Tokens >= MicroTokens)
        {
            e.Tokens -= MicroTokens;
            Allowed++;
            return true;
        }
        Limited++;
        return false;
    }

    private long Score(in Entry e, long nowMicros)
    {
        long idle = nowMicros - e.LastMicros;
        int halvings = idle <= 0 ? 0 : (int)Math.Min(32, idle / DecayMicros);
        return halvings >= 32 ? 0 : e.Hits >> halvings;
    }

    private struct Entry
    {
        public uint Address;
        public uint Hits;
        public long Tokens;
        public long LastMicros;
        public bool Used;
    }
}

using System.Buffers.Binary;
using System.Text;

namespace Skiff.Samples.DnsServer.Dns;

/// <summary>
/// A zone made ready to answer from: every name (and every empty non-terminal between a name and the apex) in a hash
/// table keyed by its lowercased wire form, each with the complete answer sections for every query type, encoded
/// once. Answering is then a lookup and a copy (<see cref="DnsAnswerer"/>). Immutable, so every core and the TCP path share it.
/// </summary>
public sealed class CompiledZone
{
    /// <summary>The query types with an answer of their own at each name; any other type gets <see cref="ZoneNode.Other"/>.</summary>
    public static readonly ushort[] AnsweredTypes = [1, 2, 5, 6, 15, 16, 28, 255];

    /// <summary>QTYPE ANY (RFC 1035 section 3.2.3).</summary>
    public const ushort TypeAny = 255;

    private const int MaxChain = 16;
    private readonly Dictionary<byte[], ZoneNode> _nodes;
    private readonly Dictionary<byte[], ZoneNode>.AlternateLookup<ReadOnlySpan<byte>> _lookup;

    /// <summary>Compiles <paramref name="zone"/>.</summary>
    public CompiledZone(Zone zone)
    {
        ArgumentNullException.ThrowIfNull(zone);
        Zone = zone;
        Apex = zone.Apex;
        Dictionary<DnsName, List<ResourceRecord>> byName = [];
        foreach (ResourceRecord r in zone.Records)
        {
            if (!byName.TryGetValue(r.Owner, out List<ResourceRecord>? list))
            {
                byName[r.Owner] = list = [];
            }
            list.Add(r);
        }
        // Empty non-terminals: a name between an owner and the apex exists (NODATA, not NXDOMAIN; RFC 8020).
        foreach (DnsName owner in byName.Keys.ToList())
        {
            for (DnsName? p = owner.Parent; p is not null && p.IsAtOrBelow(Apex); p = p.Parent)
            {
                byName.TryAdd(p, []);
            }
        }
        _nodes = new Dictionary<byte[], ZoneNode>(byName.Count, NameComparer.Instance);
        foreach ((DnsName name, List<ResourceRecord> _) in byName)
        {
            PrecomputedAnswer[] answers = new PrecomputedAnswer[AnsweredTypes.Length];
            for (int i = 0; i < AnsweredTypes.Length; i++)
            {
                answers[i] = Build(name, AnsweredTypes[i], byName);
            }
            _nodes[name.Wire] = new ZoneNode(name, answers, Build(name, 0, byName));
        }
        _lookup = _nodes.GetAlternateLookup<ReadOnlySpan<byte>>();
        NxDomain = BuildNxDomain();
    }

    /// <summary>The zone compiled.</summary>
    public Zone Zone { get; }

    /// <summary>The apex.</summary>
    public DnsName Apex { get; }

    /// <summary>Names in the table (owners and empty non-terminals).</summary>
    public int NodeCount => _nodes.Count;

    /// <summary>The NXDOMAIN response's sections: the SOA, owned by the apex (a pointer into the question, <see cref="PrecomputedAnswer.ApexPointers"/>).</summary>
    public PrecomputedAnswer NxDomain { get; }

    /// <summary>The node of a lowercased wire-form name. Allocates nothing.</summary>
    public bool TryFind(ReadOnlySpan<byte> name, out ZoneNode node) => _lookup.TryGetValue(name, out node!);

    /// <summary>True when the lowercased wire-form <paramref name="name"/> is the apex or below it. Allocates nothing.</summary>
    public bool Contains(ReadOnlySpan<byte> name)
    {
        ReadOnlySpan<byte> apex = Apex.Wire;
        for (int i = 0; i <= name.Length - apex.Length; i += name[i] + 1)
        {
            if (name.Length - i == apex.Length)
            {
                return name[i..].SequenceEqual(apex);
            }
            if (name[i] == 0)
            {
                break;
            }
        }
        return false;
    }

    private PrecomputedAnswer Build(DnsName qname, ushort qtype, Dictionary<DnsName, List<ResourceRecord>> byName)
    {
        SectionWriter w = new(12 + qname.Wire.Length + 4);
        w.AddQuestionName(qname);
        ushort an = 0, ns = 0, ar = 0;
        DnsRcode rcode = DnsRcode.NoError;
        bool negative = false;
        List<DnsName> extraTargets = [];
        HashSet<DnsName> visited = [qname];
        DnsName current = qname;
        for (int step = 0; step < MaxChain; step++)
        {
            List<ResourceRecord> records = byName[current];
            ResourceRecord? cname = records.FirstOrDefault(r => r.Type == RecordType.CNAME);
            if (cname is not null && qtype != (ushort)RecordType.CNAME && qtype != TypeAny)
            {
                w.WriteRecord(cname, cname.Ttl);
                an++;
                DnsName target = cname.Name1!;
                if (!target.IsAtOrBelow(Apex) || !visited.Add(target))
                {
                    break; // out of the zone (the resolver chases it) or a loop
                }
                if (!byName.ContainsKey(target))
                {
                    rcode = DnsRcode.NxDomain; // RFC 6604: the code is that of the last name of the chain
                    negative = true;
                    break;
                }
                current = target;
                continue;
            }
            List<ResourceRecord> matching = records.Where(r => qtype == TypeAny || (ushort)r.Type == qtype).ToList();
            if (matching.Count == 0)
            {
                negative = true; // NODATA
                break;
            }
            foreach (ResourceRecord r in matching)
            {
                w.WriteRecord(r, r.Ttl);
                an++;
                if (r.Type is RecordType.NS or RecordType.MX && qtype != TypeAny)
                {
                    extraTargets.Add(r.Name1!);
                }
            }
            break;
        }
        int answerEnd = w.Length;
        if (negative)
        {
            ResourceRecord soa = Zone.Soa;
            w.WriteRecord(soa, Math.Min(soa.Ttl, soa.SoaMinimum)); // RFC 2308 section 3
            ns++;
        }
        int authorityEnd = w.Length;
        foreach (DnsName target in extraTargets.Distinct())
        {
            if (byName.TryGetValue(target, out List<ResourceRecord>? records))
            {
                foreach (ResourceRecord r in records.Where(r => r.Type is RecordType.A or RecordType.AAAA))
                {
                    w.WriteRecord(r, r.Ttl);
                    ar++;
                }
            }
        }
        return new PrecomputedAnswer(w.ToArray(), answerEnd, authorityEnd, an, ns, ar, rcode, []);
    }

    private PrecomputedAnswer BuildNxDomain()
    {
        SectionWriter w = new(-1); // positions unknown: no compression
        ResourceRecord soa = Zone.Soa;
        int pointer = w.Length;
        w.WriteUInt16(0xC000); // the apex, inside the question name; filled per query
        w.WriteRecordAfterOwner(soa, Math.Min(soa.Ttl, soa.SoaMinimum));
        int end = w.Length;
        return new PrecomputedAnswer(w.ToArray(), 0, end, 0, 1, 0, DnsRcode.NxDomain, [pointer]);
    }

    /// <summary>Writes records for a response, compressing names against those already written when positions are known.</summary>
    private sealed class SectionWriter(int origin)
    {
        private readonly List<byte> _bytes = [];
        private readonly Dictionary<string, int> _names = [];

        public int Length => _bytes.Count;

        public byte[] ToArray() => [.. _bytes];

        /// <summary>Remembers every suffix of the question name at offset 12.</summary>
        public void AddQuestionName(DnsName qname)
        {
            for (int i = 0; qname.Wire[i] != 0; i += qname.Wire[i] + 1)
            {
                _names.TryAdd(Key(qname.Wire.AsSpan(i)), 12 + i);
            }
        }

        public void WriteUInt16(ushort v)
        {
            _bytes.Add((byte)(v >> 8));
            _bytes.Add((byte)v);
        }

        private void WriteUInt32(uint v)
        {
            WriteUInt16((ushort)(v >> 16));
            WriteUInt16((ushort)v);
        }

        public void WriteName(DnsName name)
        {
            byte[] wire = name.Wire;
            for (int i = 0; wire[i] != 0; i += wire[i] + 1)
            {
                if (origin >= 0)
                {
                    string key = Key(wire.AsSpan(i));
                    if (_names.TryGetValue(key, out int at))
                    {
                        WriteUInt16((ushort)(0xC000 | at));
                        return;
                    }
                    int here = origin + _bytes.Count;
                    if (here < 0x4000)
                    {
                        _names[key] = here;
                    }
                }
                for (int j = i; j <= i + wire[i]; j++)
                {
                    _bytes.Add(wire[j]);
                }
            }
            _bytes.Add(0);
        }

        public void WriteRecord(ResourceRecord r, uint ttl)
        {
            WriteName(r.Owner);
            WriteRecordAfterOwner(r, ttl);
        }

        public void WriteRecordAfterOwner(ResourceRecord r, uint ttl)
        {
            WriteUInt16((ushort)r.Type);
            WriteUInt16(1); // IN
            WriteUInt32(ttl);
            int lengthAt = _bytes.Count;
            WriteUInt16(0);
            int start = _bytes.Count;
            switch (r.Type)
            {
                case RecordType.NS:
                case RecordType.CNAME:
                    WriteName(r.Name1!);
                    break;
                case RecordType.MX:
                    WriteUInt16(r.Preference);
                    WriteName(r.Name1!);
                    break;
                case RecordType.SOA:
                    WriteName(r.Name1!);
                    WriteName(r.Name2!);
                    _bytes.AddRange(r.Data);
                    break;
                default:
                    _bytes.AddRange(r.Data);
                    break;
            }
            int length = _bytes.Count - start;
            _bytes[lengthAt] = (byte)(length >> 8);
            _bytes[lengthAt + 1] = (byte)length;
        }

        private static string Key(ReadOnlySpan<byte> suffix) => Encoding.Latin1.GetString(suffix);
    }

    /// <summary>Compares lowercased wire names, and looks them up by span without allocating.</summary>
    private sealed class NameComparer : IEqualityComparer<byte[]>, IAlternateEqualityComparer<ReadOnlySpan<byte>, byte[]>
    {
        public static readonly NameComparer Instance = new();

        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(byte[] obj) => Hash(obj);

        public bool Equals(ReadOnlySpan<byte> alternate, byte[] other) => alternate.SequenceEqual(other);

        public int GetHashCode(ReadOnlySpan<byte> alternate) => Hash(alternate);

        public byte[] Create(ReadOnlySpan<byte> alternate) => alternate.ToArray();

        private static int Hash(ReadOnlySpan<byte> name)
        {
            // FNV-1a over 4-byte words: names are short, and the table is private to the process.
            uint h = 2166136261;
            int i = 0;
            for (; i + 4 <= name.Length; i += 4)
            {
                h = (h ^ BinaryPrimitives.ReadUInt32LittleEndian(name[i..])) * 16777619;
            }
            for (; i < name.Length; i++)
            {
                h = (h ^ name[i]) * 16777619;
            }
            return (int)(h ^ (h >> 15));
        }
    }
}

/// <summary>One name of a <see cref="CompiledZone"/> with its precomputed answers by query type.</summary>
public sealed class ZoneNode
{
    private readonly PrecomputedAnswer[] _answers;

    internal ZoneNode(DnsName name, PrecomputedAnswer[] answers, PrecomputedAnswer other)
    {
        Name = name;
        _answers = answers;
        Other = other;
    }

    /// <summary>The name.</summary>
    public DnsName Name { get; }

    /// <summary>The answer to a type without records here and no answer of its own (NODATA, or a CNAME chased to one).</summary>
    public PrecomputedAnswer Other { get; }

    /// <summary>The answer for <paramref name="qtype"/>.</summary>
    public PrecomputedAnswer For(ushort qtype)
    {
        ushort[] types = CompiledZone.AnsweredTypes;
        for (int i = 0; i < types.Length; i++)
        {
            if (types[i] == qtype)
            {
                return _answers[i];
            }
        }
        return Other;
    }
}

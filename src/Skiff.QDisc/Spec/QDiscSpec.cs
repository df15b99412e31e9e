using Skiff.Hooks.Bpf;
using Skiff.QDisc.Classify;

namespace Skiff.QDisc.Spec;

/// <summary>
/// A tc-like specification of a qdisc, checked once and built as many times as there are engine loops (each loop owns
/// its own qdisc). <see cref="Parse"/> reads one line as tc qdisc add ... would take it (<c>fq_codel</c>,
/// <c>pfifo limit 1000</c>, <c>tbf rate 50mbit burst 64kb latency 50ms</c>); <see cref="ParseFile"/> reads a hierarchy
/// (HTB classes, filters and leaf qdiscs; docs/qdisc.md); <see cref="Shape"/> puts a rate shaper above another spec, as
/// CAKE's bandwidth does. A bad specification throws <see cref="QDiscSpecException"/> naming the offending word and why.
/// </summary>
public sealed class QDiscSpec
{
    private readonly Func<QueueDiscipline> _factory;

    private QDiscSpec(string text, Func<QueueDiscipline> factory)
    {
        Text = text;
        _factory = factory;
    }

    /// <summary>The specification as written.</summary>
    public string Text { get; }

    /// <summary>A new qdisc as the specification says.</summary>
    public QueueDiscipline Build() => _factory();

    /// <summary>The specification as written (<see cref="Text"/>).</summary>
    public override string ToString() => Text;

    /// <summary>Reads one qdisc: its kind, then its parameters.</summary>
    public static QDiscSpec Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        List<string> words = Tokenize(text);
        if (words.Count == 0)
        {
            throw new QDiscSpecException("The qdisc specification is empty; name a qdisc, e.g. 'fq_codel' or 'pfifo limit 1000'.");
        }
        Words w = new(words, 0, text);
        Func<QueueDiscipline> factory = ParseQDisc(ref w);
        if (!w.AtEnd)
        {
            throw w.Error($"'{w.Peek}' is not understood here; the qdisc ended before it.");
        }
        return new QDiscSpec(text, BuiltOnce(factory));
    }

    /// <summary>A rate shaper at <paramref name="rate"/> above <paramref name="below"/> (default fq_codel): <c>--shape</c>.</summary>
    public static QDiscSpec Shape(Rate rate, QDiscSpec? below = null)
    {
        QDiscSpec inner = below ?? Parse("fq_codel");
        // A burst of 1 ms at the rate, at least two full frames: enough to keep the link busy between wake-ups, small
        // enough that the shaper, not a queue after it, holds the standing queue.
        int burst = (int)Math.Clamp(rate.BytesPerSecond / 1000, 2 * 1514, int.MaxValue);
        return new QDiscSpec($"shape {rate} over {inner.Text}", () => new TbfQDisc(rate, burst, int.MaxValue, inner: inner.Build()));
    }

    /// <summary>
    /// Reads a hierarchy: an <c>htb</c> line (optionally <c>default N</c>, <c>r2q N</c>), <c>class</c> lines and
    /// <c>filter</c> lines; or a single qdisc line. Lines starting with # are comments.
    /// </summary>
    public static QDiscSpec ParseFile(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string[] lines = [.. text.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#'))];
        if (lines.Length == 0)
        {
            throw new QDiscSpecException("The qdisc file has no qdisc; write an 'htb' line with 'class' lines, or one qdisc such as 'fq_codel'.");
        }
        List<string> head = Tokenize(lines[0]);
        if (head[0] != "htb")
        {
            if (lines.Length > 1)
            {
                throw new QDiscSpecException($"The qdisc file's second line '{lines[1]}' is not understood: only an htb hierarchy has more than one line.");
            }
            return Parse(lines[0]);
        }
        int defaultClass = 0, r2q = 10;
        Words h = new(head, 1, lines[0]);
        while (!h.AtEnd)
        {
            string key = h.Next();
            switch (key)
            {
                case "default": defaultClass = h.Int(key, 0, 65535); break;
                case "r2q": r2q = h.Int(key, 1, 1_000_000); break;
                default: throw h.Error($"'{key}' is not a parameter of htb; it takes default and r2q.");
            }
        }
        List<HtbClassSpec> classes = [];
        List<(string Kind, string Arg, int Target, string Line)> filters = [];
        foreach (string line in lines.Skip(1))
        {
            List<string> words = Tokenize(line);
            Words w = new(words, 1, line);
            switch (words[0])
            {
                case "class":
                    classes.Add(ParseClass(ref w));
                    break;
                case "filter":
                    int target = w.Int("filter", 1, 65535);
                    string kind = w.Next();
                    if (w.AtEnd)
                    {
                        throw w.Error($"filter '{kind}' needs a value, e.g. 'filter 10 bpf \"tcp port 80\"' or 'filter 20 mark 5'.");
                    }
                    filters.Add((kind, w.Next(), target, line));
                    if (!w.AtEnd)
                    {
                        throw w.Error($"'{w.Peek}' is not understood after the filter; quote a tcpdump expression that has spaces.");
                    }
                    break;
                default:
                    throw new QDiscSpecException($"In '{line}': '{words[0]}' is not a line of an htb file; write 'class ...' or 'filter ...'.");
            }
        }
        List<QDiscFilter> built = [.. filters.Select(f => new QDiscFilter(ParseMatch(f.Kind, f.Arg, f.Line), f.Target))];
        return new QDiscSpec(text.Trim(), BuiltOnce(() => new HtbQDisc(classes, built, defaultClass, r2q)));
    }

    /// <summary>Builds once, so a parameter a constructor refuses is refused now, as a sentence, not on the loop.</summary>
    private static Func<QueueDiscipline> BuiltOnce(Func<QueueDiscipline> factory)
    {
        try
        {
            _ = factory();
        }
        catch (ArgumentException e)
        {
            throw new QDiscSpecException(e.Message.Split(" (Parameter")[0]);
        }
        return factory;
    }

    private static PacketMatch ParseMatch(string kind, string arg, string line)
    {
        switch (kind)
        {
            case "bpf":
            case "match":
                try
                {
                    return new BpfMatch(BpfFilter.Compile(arg));
                }
                catch (BpfCompileException e)
                {
                    throw new QDiscSpecException($"In '{line}': the expression '{arg}' is refused: {e.Message}");
                }
            case "mark":
                string[] parts = arg.Split('/');
                if (TryUInt(parts[0], out uint value) && (parts.Length == 1 || (parts.Length == 2 && TryUInt(parts[1], out _))))
                {
                    uint mask = parts.Length == 1 ? uint.MaxValue : ParseUInt(parts[1]);
                    if ((value & ~mask) != 0)
                    {
                        throw new QDiscSpecException($"In '{line}': mark '{arg}' can never match: the value has bits outside the mask (0x{value & ~mask:x}); "
                            + $"write the value under its mask, e.g. 0x{value & mask:x}/0x{mask:x}.");
                    }
                    return new MarkMatch(value, mask);
                }
                throw new QDiscSpecException($"In '{line}': mark '{arg}' is not a number or number/mask, e.g. 5 or 0x10/0xf0.");
            case "dscp" when byte.TryParse(arg, out byte dscp) && dscp < 64:
                return new DscpMatch(dscp);
            case "priority" when byte.TryParse(arg, out byte prio) && prio <= Priomap.Max:
                return new PriorityMatch(prio);
            case "dscp":
            case "priority":
                throw new QDiscSpecException($"In '{line}': {kind} '{arg}' is out of range; dscp takes 0 to 63, priority 0 to 15.");
            default:
                throw new QDiscSpecException($"In '{line}': '{kind}' is not a filter; write bpf 'EXPR', mark N, dscp N or priority N.");
        }
    }

    private static bool TryUInt(string s, out uint value) =>
        s.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? uint.TryParse(s[2..], System.Globalization.NumberStyles.HexNumber, null, out value)
            : uint.TryParse(s, out value);

    private static uint ParseUInt(string s) => TryUInt(s, out uint v) ? v : 0;

    private static HtbClassSpec ParseClass(ref Words w)
    {
        int id = w.Int("class", 1, 65535);
        int parent = 0, prio = 0;
        Rate? rate = null, ceil = null;
        int? burst = null, cburst = null, quantum = null;
        Func<QueueDiscipline>? leaf = null;
        while (!w.AtEnd)
        {
            string key = w.Next();
            switch (key)
            {
                case "parent": parent = w.Int(key, 1, 65535); break;
                case "htb": break; // tc writes the kind; allowed and ignored
                case "rate": rate = w.Rate(key); break;
                case "ceil": ceil = w.Rate(key); break;
                case "burst": burst = (int)w.Size(key); break;
                case "cburst": cburst = (int)w.Size(key); break;
                case "prio": prio = w.Int(key, 0, 7); break;
                case "quantum": quantum = (int)w.Size(key); break;
                case "qdisc":
                    leaf = ParseQDisc(ref w);
                    break;
                default:
                    throw w.Error($"'{key}' is not a parameter of an htb class; it takes parent, rate, ceil, burst, cburst, prio, quantum and qdisc.");
            }
        }
        if (rate is null)
        {
            throw w.Error($"class {id} has no rate; every htb class needs one, e.g. 'class {id} rate 10mbit'.");
        }
        return new HtbClassSpec(id, parent, rate.Value, ceil, burst, cburst, prio, quantum, leaf);
    }

    private static Func<QueueDiscipline> ParseQDisc(ref Words w)
    {
        string kind = w.Next();
        switch (kind)
        {
            case "pfifo":
            case "bfifo":
            {
                int? limit = null;
                while (!w.AtEnd && w.Peek == "limit")
                {
                    w.Next();
                    limit = kind == "pfifo" ? w.Int("limit", 1, 1_000_000) : (int)w.Size("limit");
                }
                int l = limit ?? (kind == "pfifo" ? FifoQDisc.DefaultTxQueueLength : FifoQDisc.DefaultTxQueueLength * 1514);
                if (kind == "bfifo" && l < 1514)
                {
                    throw w.Error($"bfifo limit {l} bytes holds no full-size frame (1514 bytes), so it would drop every one; give at least 1514, e.g. limit 150kb.");
                }
                return kind == "pfifo" ? () => FifoQDisc.Packets(l) : () => FifoQDisc.Bytes(l);
            }
            case "pfifo_fast":
                return () => PrioQDisc.PfifoFast();
            case "prio":
            {
                int bands = 3;
                byte[]? priomap = null;
                while (!w.AtEnd && w.Peek is "bands" or "priomap")
                {
                    if (w.Next() == "bands")
                    {
                        bands = w.Int("bands", 2, 16);
                        continue;
                    }
                    priomap = new byte[Priomap.Max + 1];
                    for (int i = 0; i < priomap.Length; i++)
                    {
                        priomap[i] = (byte)w.Int("priomap", 0, 15);
                    }
                }
                byte[]? map = priomap;
                if (map is not null && map.Any(b => b >= bands))
                {
                    throw w.Error($"priomap names band {map.Max()}, but prio has {bands} bands (0 to {bands - 1}).");
                }
                return () => PrioQDisc.Create(bands, map);
            }
            case "tbf":
                return ParseTbf(ref w);
            case "codel":
            case "fq_codel":
                return ParseCodel(ref w, kind);
            case "htb":
                throw w.Error("htb is a hierarchy: give it with --qdisc-file FILE (docs/qdisc.md), or shape one rate with --shape.");
            default:
                throw w.Error($"'{kind}' is not a qdisc Skiff has; give pfifo, bfifo, pfifo_fast, prio, tbf, codel or fq_codel.");
        }
    }

    private static Func<QueueDiscipline> ParseTbf(ref Words w)
    {
        Rate? rate = null, peak = null;
        long? burst = null, limit = null, mtu = null;
        Duration? latency = null;
        while (!w.AtEnd && w.Peek is "rate" or "burst" or "buffer" or "maxburst" or "limit" or "latency" or "peakrate" or "mtu" or "minburst")
        {
            string key = w.Next();
            switch (key)
            {
                case "rate": rate = w.Rate(key); break;
                case "burst" or "buffer" or "maxburst": burst = w.Size(key); break;
                case "limit": limit = w.Size(key); break;
                case "latency": latency = w.Time(key); break;
                case "peakrate": peak = w.Rate(key); break;
                default: mtu = w.Size(key); break;
            }
        }
        const string example = "e.g. 'tbf rate 50mbit burst 64kb latency 50ms'";
        if (rate is null)
        {
            throw w.Error($"tbf needs 'rate'; {example}.");
        }
        if (burst is null or 0)
        {
            throw w.Error($"tbf needs 'burst' (the bucket, in bytes); {example}.");
        }
        if (limit is null == latency is null)
        {
            throw w.Error($"tbf needs exactly one of 'limit' and 'latency'; {example}.");
        }
        if (peak is not null && mtu is null)
        {
            throw w.Error("tbf with 'peakrate' needs 'mtu' (the peak bucket, e.g. mtu 1514).");
        }
        if (peak is Rate pr && pr.BitsPerSecond <= rate.Value.BitsPerSecond)
        {
            throw w.Error($"peakrate {pr} must be above rate {rate}.");
        }
        if (burst < 1514 && (peak is null || burst < mtu))
        {
            // Linux refuses too: a bucket smaller than a frame never lets it leave.
            throw w.Error($"burst {burst}b is smaller than one full frame (1514 bytes), so no full frame could ever leave; give at least 2kb.");
        }
        Rate r = rate.Value;
        int b = (int)burst.Value, m = (int)(mtu ?? 0);
        if (latency is Duration lat)
        {
            return () => TbfQDisc.WithLatency(r, b, lat, peak, m);
        }
        int l = (int)Math.Max(1, limit!.Value);
        return () => new TbfQDisc(r, b, l, peak, m);
    }

    private static Func<QueueDiscipline> ParseCodel(ref Words w, string kind)
    {
        bool fq = kind == "fq_codel";
        FqCodelParameters p = new() { Ecn = fq, Limit = fq ? 10240 : 1000 };
        while (!w.AtEnd && w.Peek is "limit" or "target" or "interval" or "ecn" or "noecn" or "ce_threshold" or "flows" or "quantum" or "memory_limit" or "drop_batch")
        {
            string key = w.Next();
            if (!fq && key is "flows" or "quantum" or "memory_limit" or "drop_batch")
            {
                throw w.Error($"'{key}' is a parameter of fq_codel, not of codel; codel takes limit, target, interval, ecn, noecn and ce_threshold.");
            }
            p = key switch
            {
                "limit" => p with { Limit = w.Int(key, 1, 1_000_000) },
                "target" => p with { Target = w.PositiveTime(key) },
                "interval" => p with { Interval = w.PositiveTime(key) },
                "ecn" => p with { Ecn = true },
                "noecn" => p with { Ecn = false },
                "ce_threshold" => p with { CeThreshold = w.Time(key) },
                "flows" => p with { Flows = w.Int(key, 1, 65536) },
                "quantum" => p with { Quantum = (int)w.Size(key) },
                "memory_limit" => p with { MemoryLimit = w.Size(key) },
                _ => p with { DropBatch = w.Int(key, 1, 1_000_000) },
            };
        }
        if (p.Quantum < 1 || p.MemoryLimit < 1)
        {
            throw w.Error("fq_codel's quantum and memory_limit must be positive.");
        }
        FqCodelParameters final = p;
        return fq
            ? () => new FqCodelQDisc(final)
            : () => new CodelQDisc(new CodelParameters(final.Target, final.Interval, final.Mtu, final.Ecn, final.CeThreshold), final.Limit);
    }

    /// <summary>Splits on white space; single or double quotes keep a tcpdump expression together.</summary>
    internal static List<string> Tokenize(string text)
    {
        List<string> words = [];
        int i = 0;
        while (i < text.Length)
        {
            if (char.IsWhiteSpace(text[i]))
            {
                i++;
                continue;
            }
            if (text[i] is '\'' or '"')
            {
                char quote = text[i];
                int end = text.IndexOf(quote, i + 1);
                if (end < 0)
                {
                    throw new QDiscSpecException($"In '{text}': the quote at {i + 1} is not closed.");
                }
                words.Add(text[(i + 1)..end]);
                i = end + 1;
                continue;
            }
            int start = i;
            while (i < text.Length && !char.IsWhiteSpace(text[i]))
            {
                i++;
            }
            words.Add(text[start..i]);
        }
        return words;
    }

    /// <summary>A cursor over the words of one line, with tc's value parsers and error sentences.</summary>
    private ref struct Words(List<string> words, int index, string line)
    {
        private int _index = index;

        public readonly bool AtEnd => _index >= words.Count;

        public readonly string Peek => words[_index];

        public string Next()
        {
            if (AtEnd)
            {
                throw Error("The specification ends where a word was expected.");
            }
            return words[_index++];
        }

        public readonly QDiscSpecException Error(string why) => new($"In '{line}': {why}");

        private string Value(string key)
        {
            if (AtEnd)
            {
                throw Error($"'{key}' needs a value after it.");
            }
            return words[_index++];
        }

        public int Int(string key, int min, int max)
        {
            string v = Value(key);
            if (!int.TryParse(v, out int n) || n < min || n > max)
            {
                throw Error($"{key} '{v}' is not a whole number from {min} to {max}.");
            }
            return n;
        }

        public Rate Rate(string key)
        {
            string v = Value(key);
            return TcUnits.TryParseRate(v) ?? throw Error($"{key} '{v}' is not a rate; write e.g. 50mbit, 1gbit, 800kbit (bits/s) or 10mbps (bytes/s).");
        }

        public long Size(string key)
        {
            string v = Value(key);
            return TcUnits.TryParseSize(v) ?? throw Error($"{key} '{v}' is not a size; write e.g. 1514, 64kb, 1mb.");
        }

        public Duration Time(string key)
        {
            string v = Value(key);
            return TcUnits.TryParseTime(v) ?? throw Error($"{key} '{v}' is not a time; write e.g. 5ms, 100ms, 500us, 1s.");
        }

        public Duration PositiveTime(string key)
        {
            Duration d = Time(key);
            return d.TotalMicros > 0 ? d : throw Error($"{key} must be longer than 0.");
        }
    }
}

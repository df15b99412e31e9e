using System.Text;

namespace Skiff.Samples.DnsServer.Dns;

/// <summary>
/// A domain name as DNS carries it (RFC 1035 section 3.1): length-prefixed labels ending with the root's empty label,
/// lowercased (names compare without regard to ASCII case, RFC 4343), at most 255 bytes, labels at most 63.
/// </summary>
public sealed class DnsName : IEquatable<DnsName>
{
    /// <summary>The longest name on the wire, the root's zero byte included.</summary>
    public const int MaxWireBytes = 255;

    /// <summary>The longest label.</summary>
    public const int MaxLabelBytes = 63;

    private DnsName(byte[] wire) => Wire = wire;

    /// <summary>The root name ".".</summary>
    public static DnsName Root { get; } = new([0]);

    /// <summary>The name in wire form, lowercased, uncompressed, ending with the zero byte.</summary>
    public byte[] Wire { get; }

    /// <summary>How many labels it has besides the root.</summary>
    public int LabelCount
    {
        get
        {
            int n = 0;
            for (int i = 0; Wire[i] != 0; i += Wire[i] + 1)
            {
                n++;
            }
            return n;
        }
    }

    /// <summary>The name without its first label (the root's parent is null).</summary>
    public DnsName? Parent => Wire[0] == 0 ? null : new DnsName(Wire[(Wire[0] + 1)..]);

    /// <summary>True when the first label is "*" (a wildcard owner, RFC 4592).</summary>
    public bool IsWildcard => Wire[0] == 1 && Wire[1] == (byte)'*';

    /// <summary>True when this name is <paramref name="ancestor"/> or below it.</summary>
    public bool IsAtOrBelow(DnsName ancestor)
    {
        for (int i = 0; ; i += Wire[i] + 1)
        {
            if (Wire.Length - i == ancestor.Wire.Length && Wire.AsSpan(i).SequenceEqual(ancestor.Wire))
            {
                return true;
            }
            if (Wire[i] == 0)
            {
                return false;
            }
        }
    }

    /// <summary>A name from its labels (already unescaped bytes); null with <paramref name="error"/> when too long.</summary>
    public static DnsName? FromLabels(IReadOnlyList<byte[]> labels, out string? error)
    {
        int length = 1;
        foreach (byte[] label in labels)
        {
            if (label.Length == 0)
            {
                error = "a name has an empty label (two dots in a row)";
                return null;
            }
            if (label.Length > MaxLabelBytes)
            {
                error = $"a label has {label.Length} bytes; DNS allows at most {MaxLabelBytes}";
                return null;
            }
            length += label.Length + 1;
        }
        if (length > MaxWireBytes)
        {
            error = $"a name takes {length} bytes on the wire; DNS allows at most {MaxWireBytes}";
            return null;
        }
        byte[] wire = new byte[length];
        int at = 0;
        foreach (byte[] label in labels)
        {
            wire[at++] = (byte)label.Length;
            for (int i = 0; i < label.Length; i++)
            {
                wire[at++] = ToLower(label[i]);
            }
        }
        error = null;
        return new DnsName(wire);
    }

    /// <summary>This name followed by <paramref name="suffix"/> (a relative name completed by the origin); null with <paramref name="error"/> when too long.</summary>
    public static DnsName? Concat(IReadOnlyList<byte[]> labels, DnsName suffix, out string? error)
    {
        List<byte[]> all = [.. labels];
        for (int i = 0; suffix.Wire[i] != 0; i += suffix.Wire[i] + 1)
        {
            all.Add(suffix.Wire[(i + 1)..(i + 1 + suffix.Wire[i])]);
        }
        return FromLabels(all, out error);
    }

    /// <summary>Parses a presentation-format name ("www.example.com.", "@", relative "www") against <paramref name="origin"/>.</summary>
    public static DnsName? Parse(string text, DnsName? origin, out string? error)
    {
        if (text == "@")
        {
            error = origin is null ? "'@' stands for the origin, but no $ORIGIN was given; add a $ORIGIN line or give --origin" : null;
            return origin;
        }
        if (text == ".")
        {
            error = null;
            return Root;
        }
        List<byte[]> labels = [];
        List<byte> label = [];
        bool absolute = false;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '\\')
            {
                if (i + 3 < text.Length && char.IsAsciiDigit(text[i + 1]) && char.IsAsciiDigit(text[i + 2]) && char.IsAsciiDigit(text[i + 3]))
                {
                    int value = (text[i + 1] - '0') * 100 + (text[i + 2] - '0') * 10 + (text[i + 3] - '0');
                    if (value > 255)
                    {
                        error = $"the escape \\{text.Substring(i + 1, 3)} in '{text}' is above 255";
                        return null;
                    }
                    label.Add((byte)value);
                    i += 3;
                }
                else if (i + 1 < text.Length)
                {
                    label.Add((byte)text[++i]);
                }
                else
                {
                    error = $"'{text}' ends with a lone backslash";
                    return null;
                }
                continue;
            }
            if (c == '.')
            {
                if (label.Count == 0)
                {
                    error = $"'{text}' has an empty label (a dot at the start or two in a row)";
                    return null;
                }
                labels.Add([.. label]);
                label.Clear();
                if (i == text.Length - 1)
                {
                    absolute = true;
                }
                continue;
            }
            if (c > 127)
            {
                error = $"'{text}' has a character outside ASCII; write internationalised names in their xn-- (punycode) form";
                return null;
            }
            label.Add((byte)c);
        }
        if (label.Count > 0)
        {
            labels.Add([.. label]);
        }
        if (absolute)
        {
            return FromLabels(labels, out error);
        }
        if (origin is null)
        {
            error = $"'{text}' is a relative name (no final dot) but no $ORIGIN was given; add a $ORIGIN line, give --origin, or end the name with a dot";
            return null;
        }
        return Concat(labels, origin, out error);
    }

    /// <summary>ASCII lowercase of one byte (label length bytes, at most 63, are never letters).</summary>
    public static byte ToLower(byte b) => b is >= (byte)'A' and <= (byte)'Z' ? (byte)(b + 32) : b;

    public bool Equals(DnsName? other) => other is not null && Wire.AsSpan().SequenceEqual(other.Wire);

    public override bool Equals(object? obj) => Equals(obj as DnsName);

    public override int GetHashCode()
    {
        HashCode h = default;
        h.AddBytes(Wire);
        return h.ToHashCode();
    }

    /// <summary>Presentation form with a final dot, escaping dots, backslashes and unprintable bytes.</summary>
    public override string ToString()
    {
        if (Wire[0] == 0)
        {
            return ".";
        }
        StringBuilder sb = new();
        for (int i = 0; Wire[i] != 0; i += Wire[i] + 1)
        {
            for (int j = i + 1; j <= i + Wire[i]; j++)
            {
                byte b = Wire[j];
                if (b is (byte)'.' or (byte)'\\' or (byte)'"' or (byte)';' or (byte)'(' or (byte)')')
                {
                    sb.Append('\\').Append((char)b);
                }
                else if (b is < 33 or > 126)
                {
                    sb.Append('\\').Append(b.ToString("D3", System.Globalization.CultureInfo.InvariantCulture));
                }
                else
                {
                    sb.Append((char)b);
                }
            }
            sb.Append('.');
        }
        return sb.ToString();
    }
}

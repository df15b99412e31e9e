using System.Buffers.Binary;
using System.Text;

namespace Skiff.Samples.DnsServer.Tests;

/// <summary>A record read back from a response: names decompressed, data as bytes and, for names in the data, as text.</summary>
internal sealed record ParsedRecord(string Name, ushort Type, ushort Class, uint Ttl, byte[] Data, string? DataName, int Section);

/// <summary>A response read back by the tests' own reader (independent of the server's writer).</summary>
internal sealed class ParsedMessage
{
    public ushort Id;
    public ushort Flags;
    public ushort QdCount, AnCount, NsCount, ArCount;
    public string QuestionName = "";
    public ushort QuestionType, QuestionClass;
    public List<ParsedRecord> Records = [];

    public int Rcode => Flags & 0xF;
    public bool Qr => (Flags & 0x8000) != 0;
    public bool Aa => (Flags & 0x0400) != 0;
    public bool Tc => (Flags & 0x0200) != 0;
    public bool Rd => (Flags & 0x0100) != 0;
    public IEnumerable<ParsedRecord> Answers => Records.Where(r => r.Section == 1);
    public IEnumerable<ParsedRecord> Authority => Records.Where(r => r.Section == 2);
    public IEnumerable<ParsedRecord> Additional => Records.Where(r => r.Section == 3);
    public ParsedRecord? Opt => Records.FirstOrDefault(r => r.Type == 41);
}

/// <summary>Builds queries and reads responses for the tests.</summary>
internal static class DnsWire
{
    /// <summary>A query for <paramref name="name"/> (dotted, case kept), with an OPT record when <paramref name="ednsSize"/> is given.</summary>
    public static byte[] Query(string name, ushort type, ushort id = 0x1234, int? ednsSize = null, byte ednsVersion = 0, bool dnssecOk = false,
        ushort flags = 0x0100, ushort qclass = 1)
    {
        List<byte> b = [];
        void U16(int v) { b.Add((byte)(v >> 8)); b.Add((byte)v); }
        U16(id);
        U16(flags);
        U16(1);
        U16(0);
        U16(0);
        U16(ednsSize is null ? 0 : 1);
        foreach (string label in name.TrimEnd('.').Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            b.Add((byte)label.Length);
            b.AddRange(Encoding.ASCII.GetBytes(label));
        }
        b.Add(0);
        U16(type);
        U16(qclass);
        if (ednsSize is int size)
        {
            b.Add(0);
            U16(41);
            U16(size);
            b.Add(0);
            b.Add(ednsVersion);
            b.Add(dnssecOk ? (byte)0x80 : (byte)0);
            b.Add(0);
            U16(0);
        }
        return [.. b];
    }

    public static ParsedMessage Parse(ReadOnlySpan<byte> m)
    {
        ParsedMessage p = new()
        {
            Id = BinaryPrimitives.ReadUInt16BigEndian(m),
            Flags = BinaryPrimitives.ReadUInt16BigEndian(m[2..]),
            QdCount = BinaryPrimitives.ReadUInt16BigEndian(m[4..]),
            AnCount = BinaryPrimitives.ReadUInt16BigEndian(m[6..]),
            NsCount = BinaryPrimitives.ReadUInt16BigEndian(m[8..]),
            ArCount = BinaryPrimitives.ReadUInt16BigEndian(m[10..]),
        };
        int pos = 12;
        if (p.QdCount == 1)
        {
            p.QuestionName = ReadName(m, ref pos);
            p.QuestionType = BinaryPrimitives.ReadUInt16BigEndian(m[pos..]);
            p.QuestionClass = BinaryPrimitives.ReadUInt16BigEndian(m[(pos + 2)..]);
            pos += 4;
        }
        int[] counts = [p.AnCount, p.NsCount, p.ArCount];
        for (int section = 0; section < 3; section++)
        {
            for (int i = 0; i < counts[section]; i++)
            {
                string name = ReadName(m, ref pos);
                ushort type = BinaryPrimitives.ReadUInt16BigEndian(m[pos..]);
                ushort cls = BinaryPrimitives.ReadUInt16BigEndian(m[(pos + 2)..]);
                uint ttl = BinaryPrimitives.ReadUInt32BigEndian(m[(pos + 4)..]);
                int len = BinaryPrimitives.ReadUInt16BigEndian(m[(pos + 8)..]);
                int data = pos + 10;
                string? dataName = null;
                int at = data;
                switch (type)
                {
                    case 2:
                    case 5:
                        dataName = ReadName(m, ref at);
                        break;
                    case 15:
                        at += 2;
                        dataName = ReadName(m, ref at);
                        break;
                    case 6:
                        dataName = ReadName(m, ref at) + " " + ReadName(m, ref at);
                        break;
                }
                p.Records.Add(new ParsedRecord(name, type, cls, ttl, m.Slice(data, len).ToArray(), dataName, section + 1));
                pos = data + len;
            }
        }
        Assert.Equal(m.Length, pos); // nothing after the last record
        return p;
    }

    /// <summary>Reads a possibly compressed name (pointers must point backwards: a loop fails the test).</summary>
    public static string ReadName(ReadOnlySpan<byte> m, ref int pos)
    {
        StringBuilder sb = new();
        int at = pos;
        bool jumped = false;
        for (int guard = 0; guard < 128; guard++)
        {
            int len = m[at];
            if ((len & 0xC0) == 0xC0)
            {
                int target = ((len & 0x3F) << 8) | m[at + 1];
                Assert.True(target < at, "a compression pointer must point backwards");
                if (!jumped)
                {
                    pos = at + 2;
                    jumped = true;
                }
                at = target;
                continue;
            }
            if (len == 0)
            {
                if (!jumped)
                {
                    pos = at + 1;
                }
                return sb.Length == 0 ? "." : sb.ToString();
            }
            sb.Append(Encoding.ASCII.GetString(m.Slice(at + 1, len))).Append('.');
            at += len + 1;
        }
        throw new InvalidOperationException("name too long");
    }

    /// <summary>TXT data as its strings.</summary>
    public static List<string> TxtStrings(byte[] data)
    {
        List<string> strings = [];
        for (int i = 0; i < data.Length; i += data[i] + 1)
        {
            strings.Add(Encoding.Latin1.GetString(data, i + 1, data[i]));
        }
        return strings;
    }
}

using System.Buffers.Binary;
using System.Text;

namespace Skiff.Wire;

/// <summary>
/// One TCP option as found on the wire (RFC 9293 section 3.2), produced by <see cref="TcpOptionReader"/>:
/// its kind and its value bytes (after the kind and length bytes; empty for EOL and NOP). The view
/// borrows the segment's bytes and is only valid while they are.
/// </summary>
public readonly ref struct TcpOption
{
    /// <summary>Creates an option view; <paramref name="data"/> is the value without kind and length bytes.</summary>
    public TcpOption(TcpOptionKind kind, ReadOnlySpan<byte> data)
    {
        Kind = kind;
        Data = data;
    }

    /// <summary>The kind byte; may be a value <see cref="TcpOptionKind"/> does not name.</summary>
    public TcpOptionKind Kind { get; }

    /// <summary>The value bytes. The reader has already checked their length for the kinds it knows.</summary>
    public ReadOnlySpan<byte> Data { get; }

    /// <summary>Bytes the option occupies on the wire: 1 for EOL and NOP, else 2 + value length.</summary>
    public int WireLength => Kind is TcpOptionKind.EndOfList or TcpOptionKind.NoOperation ? 1 : 2 + Data.Length;

    /// <summary>tcpdump's spelling: <c>mss 1460</c>, <c>sackOK</c>, <c>TS val 1 ecr 0</c>, <c>nop</c>, <c>wscale 7</c>, <c>sack 1 {1:2}</c>.</summary>
    public override string ToString()
    {
        ReadOnlySpan<byte> d = Data;
        switch (Kind)
        {
            case TcpOptionKind.EndOfList: return "eol";
            case TcpOptionKind.NoOperation: return "nop";
            case TcpOptionKind.MaxSegmentSize: return $"mss {BinaryPrimitives.ReadUInt16BigEndian(d)}";
            case TcpOptionKind.WindowScale: return $"wscale {d[0]}";
            case TcpOptionKind.SackPermitted: return "sackOK";
            case TcpOptionKind.Timestamp:
                return new TcpTimestamp(BinaryPrimitives.ReadUInt32BigEndian(d), BinaryPrimitives.ReadUInt32BigEndian(d[4..])).ToString();
            case TcpOptionKind.Sack:
                var sack = new StringBuilder($"sack {d.Length / 8} ");
                for (int i = 0; i + 8 <= d.Length; i += 8)
                {
                    sack.Append('{').Append(BinaryPrimitives.ReadUInt32BigEndian(d[i..]))
                        .Append(':').Append(BinaryPrimitives.ReadUInt32BigEndian(d[(i + 4)..])).Append('}');
                }
                return sack.ToString();
            case TcpOptionKind.Md5Signature: return "md5";
            case TcpOptionKind.UserTimeout: return "uto";
            case TcpOptionKind.Authentication: return "tcp-ao";
            case TcpOptionKind.Multipath: return "mptcp";
            case TcpOptionKind.FastOpen: return "tfo";
            default: return $"unknown-{(byte)Kind} 0x{Convert.ToHexStringLower(d)}";
        }
    }
}

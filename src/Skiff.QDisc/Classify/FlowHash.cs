using System.Buffers.Binary;
using System.Numerics;
using Skiff.Wire;

namespace Skiff.QDisc.Classify;

/// <summary>
/// The flow hash fq_codel and the <c>flow</c> filter use (Linux's skb_get_hash over the flow dissector's keys): the
/// IP addresses, the protocol and, for TCP and UDP, the ports, mixed with a seed (the perturbation); non-IP frames hash
/// their Ethernet addresses and type. Allocates nothing; reads only what classification located.
/// </summary>
public static class FlowHash
{
    /// <summary>The hash of <paramref name="frame"/>'s flow with <paramref name="seed"/>.</summary>
    public static uint Of(PacketBuffer frame, uint seed)
    {
        PacketClass c = Priomap.EnsureClassified(frame);
        ReadOnlySpan<byte> data = frame.Data;
        int l3 = frame.L3Offset;
        int l4 = frame.L4Offset;
        ulong h = seed * 0x9E3779B97F4A7C15UL + 0x632BE59BD9B4E019UL;
        if ((c & PacketClass.Ipv4) != 0 && data.Length >= l3 + 20)
        {
            h = Mix(h, BinaryPrimitives.ReadUInt32BigEndian(data[(l3 + 12)..]));
            h = Mix(h, BinaryPrimitives.ReadUInt32BigEndian(data[(l3 + 16)..]));
            h = Mix(h, data[l3 + 9]);
        }
        else if ((c & PacketClass.Ipv6) != 0 && data.Length >= l3 + 40)
        {
            for (int i = 8; i < 40; i += 8)
            {
                h = Mix(h, BinaryPrimitives.ReadUInt64BigEndian(data[(l3 + i)..]));
            }
            h = Mix(h, data[l3 + 6]);
        }
        else
        {
            int n = Math.Min(data.Length, 14);
            for (int i = 0; i + 2 <= n; i += 2)
            {
                h = Mix(h, BinaryPrimitives.ReadUInt16BigEndian(data[i..]));
            }
            return Finish(h);
        }
        if (l4 != 0 && (c & (PacketClass.Tcp | PacketClass.Udp)) != 0 && data.Length >= l4 + 4)
        {
            h = Mix(h, BinaryPrimitives.ReadUInt32BigEndian(data[l4..]));
        }
        return Finish(h);
    }

    /// <summary>Maps a hash onto <paramref name="buckets"/> without a division (Lemire's reduction, as reciprocal_scale).</summary>
    public static int Bucket(uint hash, int buckets) => (int)(((ulong)hash * (uint)buckets) >> 32);

    private static ulong Mix(ulong h, ulong v) => BitOperations.RotateLeft((h ^ v) * 0xFF51AFD7ED558CCDUL, 31);

    private static uint Finish(ulong h)
    {
        h ^= h >> 33;
        h *= 0xC4CEB9FE1A85EC53UL;
        h ^= h >> 33;
        return (uint)h;
    }
}

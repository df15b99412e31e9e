using System.Buffers.Binary;
using Skiff.Wire;

namespace Skiff.QDisc.Classify;

/// <summary>ECN marking (Linux's INET_ECN_set_ce): an ECN-capable IP packet gets Congestion Experienced instead of being dropped.</summary>
public static class Ecn
{
    /// <summary>
    /// Sets CE on an ECT(0) or ECT(1) IPv4 or IPv6 packet (fixing the IPv4 header checksum) and returns true; true for a
    /// packet already CE; false for a Not-ECT or non-IP frame, which the caller then drops.
    /// </summary>
    public static bool TrySetCe(PacketBuffer frame)
    {
        PacketClass c = Priomap.EnsureClassified(frame);
        Span<byte> data = frame.Data;
        int l3 = frame.L3Offset;
        if ((c & PacketClass.Ipv4) != 0 && data.Length >= l3 + 20)
        {
            byte tos = data[l3 + 1];
            if ((tos & 3) == 0)
            {
                return false;
            }
            if ((tos & 3) == 3)
            {
                return true;
            }
            ushort oldWord = BinaryPrimitives.ReadUInt16BigEndian(data[l3..]);
            data[l3 + 1] = (byte)(tos | 3);
            ushort newWord = BinaryPrimitives.ReadUInt16BigEndian(data[l3..]);
            ushort check = BinaryPrimitives.ReadUInt16BigEndian(data[(l3 + 10)..]);
            BinaryPrimitives.WriteUInt16BigEndian(data[(l3 + 10)..], Checksum.Update(check, oldWord, newWord));
            return true;
        }
        if ((c & PacketClass.Ipv6) != 0 && data.Length >= l3 + 40)
        {
            int ecn = (data[l3 + 1] >> 4) & 3;
            if (ecn == 0)
            {
                return false;
            }
            data[l3 + 1] |= 0x30;
            return true;
        }
        return false;
    }
}

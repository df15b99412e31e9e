using System.Buffers.Binary;
using System.Globalization;
using System.Net;

namespace Skiff.Benchmarks.Drivers;

/// <summary>Builds the generator's frame: Ethernet + IPv4 + UDP, zero payload padding, IPv4 header checksum set, UDP checksum 0.</summary>
internal static class UdpFrame
{
    public static byte[] Build(ReadOnlySpan<byte> sourceMac, ReadOnlySpan<byte> destinationMac, IPAddress source, IPAddress destination, ushort sourcePort, ushort destinationPort, int frameBytes)
    {
        if (frameBytes < 42)
        {
            throw new ArgumentOutOfRangeException(nameof(frameBytes), "A UDP frame is at least 42 bytes (14 + 20 + 8).");
        }
        byte[] f = new byte[frameBytes];
        destinationMac.CopyTo(f);
        sourceMac.CopyTo(f.AsSpan(6));
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(12), 0x0800);
        Span<byte> ip = f.AsSpan(14, 20);
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(frameBytes - 14));
        ip[6] = 0x40; // DF
        ip[8] = 64;
        ip[9] = 17;
        source.GetAddressBytes().CopyTo(ip[12..]);
        destination.GetAddressBytes().CopyTo(ip[16..]);
        uint sum = 0;
        for (int i = 0; i < 20; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(ip[i..]);
        }
        while (sum > 0xffff)
        {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], (ushort)~sum);
        Span<byte> udp = f.AsSpan(34, 8);
        BinaryPrimitives.WriteUInt16BigEndian(udp, sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(udp[2..], destinationPort);
        BinaryPrimitives.WriteUInt16BigEndian(udp[4..], (ushort)(frameBytes - 34));
        return f;
    }

    /// <summary>Parses aa:bb:cc:dd:ee:ff.</summary>
    public static bool TryParseMac(string text, out byte[] mac)
    {
        mac = new byte[6];
        string[] parts = text.Split(':');
        if (parts.Length != 6)
        {
            return false;
        }
        for (int i = 0; i < 6; i++)
        {
            if (!byte.TryParse(parts[i], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out mac[i]))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>The interface's MAC from sysfs (of the current namespace), or a local one.</summary>
    public static byte[] InterfaceMac(string iface)
    {
        try
        {
            if (TryParseMac(File.ReadAllText($"/sys/class/net/{iface}/address").Trim(), out byte[] mac))
            {
                return mac;
            }
        }
        catch (IOException)
        {
        }
        return [0x02, 0x00, 0x00, 0x00, 0x00, 0x01];
    }
}

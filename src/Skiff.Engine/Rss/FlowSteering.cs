using System.Buffers.Binary;
using Skiff.Wire;

namespace Skiff.Engine.Rss;

/// <summary>
/// Picks the queue (and so the core) that owns a frame's flow, the way an RSS NIC does: a Toeplitz hash of
/// the IPv4 addresses, and of the ports for TCP and UDP, indexes a redirection table (RETA) of
/// <see cref="RetaSize"/> entries filled round-robin with the queues. Every frame of a flow lands on one queue;
/// fragments of a datagram hash on addresses only (their ports are in the first fragment alone), as NICs do, and
/// <see cref="SoftwareRss"/> then sends them after their first fragment (<see cref="FragmentSteering"/>).
/// </summary>
/// <remarks>
/// Frames that are not IPv4 have no flow: an ARP reply must reach every queue (each core keeps its own ARP
/// cache and any of them may be the one waiting for it), everything else goes to queue 0, which answers ARP
/// requests and drops what the stack does not speak. Malformed IPv4 headers also go to queue 0, whose stack
/// drops and counts them. Immutable after construction and safe to share between threads; never allocates.
/// </remarks>
public sealed class FlowSteering
{
    /// <summary>Entries in the redirection table (128, as in most NICs).</summary>
    public const int RetaSize = 128;

    /// <summary>What <see cref="QueueOf"/> returns for a frame every queue must see.</summary>
    public const int AllQueues = -1;

    private const int EthernetHeader = 14;
    private readonly ToeplitzHash _hash;
    private readonly byte[] _reta = new byte[RetaSize];

    /// <summary>Steering over <paramref name="queues"/> queues (1 to 64) with <paramref name="hash"/> (default: the Microsoft key).</summary>
    public FlowSteering(int queues, ToeplitzHash? hash = null)
    {
        if (queues is < 1 or > 64)
        {
            throw new ArgumentOutOfRangeException(nameof(queues), $"{queues} queues: give 1 to 64.");
        }
        Queues = queues;
        _hash = hash ?? new ToeplitzHash();
        for (int i = 0; i < RetaSize; i++)
        {
            _reta[i] = (byte)(i % queues);
        }
    }

    /// <summary>How many queues flows are spread over.</summary>
    public int Queues { get; }

    /// <summary>The queue of a hash (its low bits index the RETA).</summary>
    public int QueueOfHash(uint hash) => _reta[hash & (RetaSize - 1)];

    /// <summary>
    /// The queue of an Ethernet frame, or <see cref="AllQueues"/> for an ARP reply; <paramref name="hash"/> is the
    /// flow's RSS hash (0 when the frame has no flow).
    /// </summary>
    public int QueueOf(ReadOnlySpan<byte> frame, out uint hash)
    {
        hash = 0;
        if (frame.Length < EthernetHeader)
        {
            return 0;
        }
        ushort etherType = BinaryPrimitives.ReadUInt16BigEndian(frame[12..]);
        if (etherType == (ushort)EtherType.Arp)
        {
            // Operation at offset 6 of the ARP header: 2 is a reply.
            return frame.Length >= EthernetHeader + 8 && BinaryPrimitives.ReadUInt16BigEndian(frame[(EthernetHeader + 6)..]) == 2 ? AllQueues : 0;
        }
        if (etherType != (ushort)EtherType.Ipv4)
        {
            return 0;
        }
        ReadOnlySpan<byte> ip = frame[EthernetHeader..];
        if (ip.Length < 20 || ip[0] >> 4 != 4)
        {
            return 0;
        }
        int headerLength = (ip[0] & 0x0F) * 4;
        if (headerLength < 20 || ip.Length < headerLength)
        {
            return 0;
        }
        var source = new Ipv4Address(BinaryPrimitives.ReadUInt32BigEndian(ip[12..]));
        var destination = new Ipv4Address(BinaryPrimitives.ReadUInt32BigEndian(ip[16..]));
        byte protocol = ip[9];
        bool fragment = (BinaryPrimitives.ReadUInt16BigEndian(ip[6..]) & 0x3FFF) != 0; // MF set or an offset
        if (!fragment && (protocol == (byte)IpProtocol.Tcp || protocol == (byte)IpProtocol.Udp) && ip.Length >= headerLength + 4)
        {
            ushort sourcePort = BinaryPrimitives.ReadUInt16BigEndian(ip[headerLength..]);
            ushort destinationPort = BinaryPrimitives.ReadUInt16BigEndian(ip[(headerLength + 2)..]);
            hash = _hash.HashIpv4(source, destination, sourcePort, destinationPort);
        }
        else
        {
            hash = _hash.HashIpv4(source, destination);
        }
        return QueueOfHash(hash);
    }

    /// <summary>The queue of a TCP or UDP flow as its frames carry it (source first), and its hash in <paramref name="hash"/>.</summary>
    public int QueueOfFlow(Ipv4Address source, Ipv4Address destination, ushort sourcePort, ushort destinationPort, out uint hash)
    {
        hash = _hash.HashIpv4(source, destination, sourcePort, destinationPort);
        return QueueOfHash(hash);
    }

    /// <summary>
    /// The queue that receives the peer's segments of a TCP or UDP flow whose local end is
    /// <paramref name="localAddress"/>:<paramref name="localPort"/>: the hash of the receive direction (the peer is the source).
    /// </summary>
    public int QueueOfIncoming(Ipv4Address localAddress, ushort localPort, Ipv4Address remoteAddress, ushort remotePort) =>
        QueueOfHash(_hash.HashIpv4(remoteAddress, localAddress, remotePort, localPort));
}

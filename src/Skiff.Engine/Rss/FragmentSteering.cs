using System.Buffers.Binary;
using Skiff.Wire;

namespace Skiff.Engine.Rss;

/// <summary>
/// Keeps the fragments of a TCP or UDP datagram on the core that owns its flow. Only the first fragment carries
/// the ports, so RSS (in a NIC, in the kernel, in <see cref="FlowSteering"/>) hashes fragments on addresses alone
/// and may put them on another core than the flow's unfragmented segments; reassembled there, a TCP segment
/// finds no connection and is answered with a reset. The steering core therefore remembers where each first
/// fragment went (by source, destination, protocol and IP identification) and sends the later fragments after it;
/// a later fragment that arrives before its first is held (a bounded number, for a bounded time) until the first
/// shows the way, and goes where the address hash puts it if the first never comes.
/// </summary>
/// <remarks>One instance per steering thread (no locks); a fixed direct-mapped table and hold list, so it never allocates.</remarks>
internal sealed class FragmentSteering
{
    /// <summary>What a frame is, for fragment steering.</summary>
    public enum Kind
    {
        /// <summary>Not an IPv4 fragment of TCP or UDP.</summary>
        None,

        /// <summary>Fragment zero: its ports are readable.</summary>
        First,

        /// <summary>A fragment at a non-zero offset: no ports.</summary>
        Later,
    }

    /// <summary>Datagrams remembered (direct-mapped by key; a newer one overwrites).</summary>
    public const int TableSlots = 256;

    /// <summary>Later fragments held waiting for their first.</summary>
    public const int MaxHeld = 64;

    /// <summary>How long a later fragment waits for its first before it goes where the address hash puts it.</summary>
    public static readonly Duration HoldTime = Duration.FromMillis(200);

    private readonly (Key Key, int Queue)[] _table = new (Key, int)[TableSlots];
    private readonly bool[] _used = new bool[TableSlots];
    private readonly PacketBuffer?[] _held = new PacketBuffer?[MaxHeld];
    private readonly Key[] _heldKey = new Key[MaxHeld];
    private readonly Instant[] _heldAt = new Instant[MaxHeld];
    private readonly int[] _heldFallback = new int[MaxHeld];
    private int _heldCount; // the held ones are [0, _heldCount), oldest first

    /// <summary>A datagram's identity (RFC 791: source, destination, protocol, identification).</summary>
    public readonly record struct Key(uint Source, uint Destination, byte Protocol, ushort Identification);

    /// <summary>Fragments that followed their first fragment to its core.</summary>
    public long Followed { get; private set; }

    /// <summary>Later fragments that had to wait for their first.</summary>
    public long HeldCount { get; private set; }

    /// <summary>Held fragments whose first never came in time (sent where the address hash puts them).</summary>
    public long Expired { get; private set; }

    /// <summary>Frames held now.</summary>
    public int Holding => _heldCount;

    /// <summary>Classifies an Ethernet frame; for <see cref="Kind.First"/> also the ports.</summary>
    public static Kind Classify(ReadOnlySpan<byte> frame, out Key key, out ushort sourcePort, out ushort destinationPort)
    {
        key = default;
        sourcePort = destinationPort = 0;
        if (frame.Length < 34 || BinaryPrimitives.ReadUInt16BigEndian(frame[12..]) != (ushort)EtherType.Ipv4)
        {
            return Kind.None;
        }
        ReadOnlySpan<byte> ip = frame[14..];
        int headerLength = (ip[0] & 0x0F) * 4;
        byte protocol = ip[9];
        ushort flags = BinaryPrimitives.ReadUInt16BigEndian(ip[6..]);
        if (ip[0] >> 4 != 4 || headerLength < 20 || ip.Length < headerLength || (flags & 0x3FFF) == 0
            || (protocol != (byte)IpProtocol.Tcp && protocol != (byte)IpProtocol.Udp))
        {
            return Kind.None;
        }
        key = new Key(BinaryPrimitives.ReadUInt32BigEndian(ip[12..]), BinaryPrimitives.ReadUInt32BigEndian(ip[16..]), protocol,
            BinaryPrimitives.ReadUInt16BigEndian(ip[4..]));
        if ((flags & 0x1FFF) != 0)
        {
            return Kind.Later;
        }
        if (ip.Length < headerLength + 4)
        {
            return Kind.None; // a first fragment too short to hold the ports: nothing to steer by
        }
        sourcePort = BinaryPrimitives.ReadUInt16BigEndian(ip[headerLength..]);
        destinationPort = BinaryPrimitives.ReadUInt16BigEndian(ip[(headerLength + 2)..]);
        return Kind.First;
    }

    /// <summary>The first fragment of <paramref name="key"/> went to <paramref name="queue"/>: later ones follow.</summary>
    public void Remember(in Key key, int queue)
    {
        int slot = Slot(key);
        _table[slot] = (key, queue);
        _used[slot] = true;
    }

    /// <summary>Where the first fragment of <paramref name="key"/> went, if remembered.</summary>
    public bool TryRecall(in Key key, out int queue)
    {
        int slot = Slot(key);
        if (_used[slot] && _table[slot].Key == key)
        {
            queue = _table[slot].Queue;
            Followed++;
            return true;
        }
        queue = -1;
        return false;
    }

    /// <summary>Holds a later fragment whose first has not been seen; false when the hold list is full.</summary>
    public bool TryHold(PacketBuffer frame, in Key key, int fallbackQueue, Instant now)
    {
        if (_heldCount == MaxHeld)
        {
            return false;
        }
        _held[_heldCount] = frame;
        _heldKey[_heldCount] = key;
        _heldAt[_heldCount] = now;
        _heldFallback[_heldCount] = fallbackQueue;
        _heldCount++;
        HeldCount++;
        return true;
    }

    /// <summary>Takes the held fragments of <paramref name="key"/> (their first just arrived) into <paramref name="into"/> (room for <see cref="MaxHeld"/>).</summary>
    public int TakeHeld(in Key key, Span<PacketBuffer> into)
    {
        int taken = 0;
        int kept = 0;
        for (int i = 0; i < _heldCount; i++)
        {
            if (_heldKey[i] == key)
            {
                into[taken++] = _held[i]!;
            }
            else
            {
                Keep(i, kept++);
            }
        }
        Shrink(kept);
        return taken;
    }

    /// <summary>Takes the fragments held longer than <see cref="HoldTime"/>, each with the queue the address hash gives it.</summary>
    public int TakeExpired(Instant now, Span<(PacketBuffer Frame, int Queue)> into)
    {
        int taken = 0;
        int kept = 0;
        for (int i = 0; i < _heldCount; i++)
        {
            if (now - _heldAt[i] >= HoldTime && taken < into.Length)
            {
                into[taken++] = (_held[i]!, _heldFallback[i]);
            }
            else
            {
                Keep(i, kept++);
            }
        }
        Shrink(kept);
        Expired += taken;
        return taken;
    }

    /// <summary>Takes every held frame (shutdown); returns the count.</summary>
    public int TakeAll(Span<PacketBuffer> into)
    {
        int n = _heldCount;
        for (int i = 0; i < n; i++)
        {
            into[i] = _held[i]!;
        }
        Shrink(0);
        return n;
    }

    private void Keep(int from, int to)
    {
        if (from != to)
        {
            _held[to] = _held[from];
            _heldKey[to] = _heldKey[from];
            _heldAt[to] = _heldAt[from];
            _heldFallback[to] = _heldFallback[from];
        }
    }

    private void Shrink(int count)
    {
        for (int i = count; i < _heldCount; i++)
        {
            _held[i] = null;
        }
        _heldCount = count;
    }

    private static int Slot(in Key key) =>
        (int)((key.Source * 2654435761u) ^ (key.Destination * 2246822519u) ^ ((uint)key.Identification * 3266489917u) ^ key.Protocol) & (TableSlots - 1);
}

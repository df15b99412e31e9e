namespace Skiff.Wire.Pcap;

/// <summary>
/// What a capture file says about one capturing interface: a pcapng Interface Description Block (and its
/// Interface Statistics Block, once read), or the global header of a classic pcap file (one interface, id 0).
/// Owned by the reader; its statistics change as the reader meets statistics blocks.
/// </summary>
public sealed class CaptureInterface
{
    internal CaptureInterface(int id, LinkType linkType, int snapLengthBytes, long timestampUnitsPerSecond)
    {
        Id = id;
        LinkType = linkType;
        SnapLengthBytes = snapLengthBytes;
        TimestampUnitsPerSecond = timestampUnitsPerSecond;
    }

    /// <summary>The interface's index in the section (what <see cref="CaptureRecord.InterfaceId"/> refers to).</summary>
    public int Id { get; }

    /// <summary>The link-layer type of frames from this interface.</summary>
    public LinkType LinkType { get; }

    /// <summary>Most bytes captured per frame; 0 means no limit.</summary>
    public int SnapLengthBytes { get; }

    /// <summary>Timestamp resolution in units per second: 1,000,000 (microseconds) unless the file says otherwise.</summary>
    public long TimestampUnitsPerSecond { get; internal set; }

    /// <summary>Seconds added to every timestamp (pcapng if_tsoffset); 0 by default.</summary>
    public long TimestampOffsetSeconds { get; internal set; }

    /// <summary>The interface's name (pcapng if_name), or null when the file does not give one.</summary>
    public string? Name { get; internal set; }

    /// <summary>Packets the interface received (pcapng isb_ifrecv), or null until a statistics block gives it.</summary>
    public ulong? ReceivedPackets { get; internal set; }

    /// <summary>Packets the interface dropped for lack of resources (pcapng isb_ifdrop), or null until a statistics block gives it.</summary>
    public ulong? DroppedPackets { get; internal set; }

    /// <summary>Packets the capture's filter accepted (pcapng isb_filteraccept), or null until a statistics block gives it.</summary>
    public ulong? FilterAcceptedPackets { get; internal set; }

    /// <summary>Packets delivered to the file (pcapng isb_usrdeliv), or null until a statistics block gives it.</summary>
    public ulong? DeliveredPackets { get; internal set; }

    /// <summary>The interface's description (pcapng if_description), or null when the file does not give one.</summary>
    public string? Description { get; internal set; }

    /// <summary>A one-line description for <c>skiff read</c>, e.g. "interface 0 eth0: Ethernet, snaplen 262144, 1000000 ticks/s". Allocates.</summary>
    public override string ToString() => $"interface {Id} {Name ?? "(unnamed)"}: {LinkType}, snaplen {SnapLengthBytes}, {TimestampUnitsPerSecond} ticks/s";
}

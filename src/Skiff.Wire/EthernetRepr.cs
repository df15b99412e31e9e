namespace Skiff.Wire;

/// <summary>
/// The parsed Ethernet II header (IEEE 802.3; IEEE 802.1Q for the tag): what the stack decides on.
/// </summary>
/// <remarks>
/// One tag is handled, with TPID 0x8100 (802.1Q) or 0x88A8 (802.1ad S-tag alone). A second tag (a QinQ
/// stack 0x88A8 + 0x8100) is <see cref="WireError.Unsupported"/>: the stack does not terminate provider
/// bridging. <see cref="Emit"/> always writes TPID 0x8100 and DEI 0, so a parsed 0x88A8 tag or a set DEI bit
/// does not round-trip.
/// </remarks>
/// <param name="Destination">Destination MAC.</param>
/// <param name="Source">Source MAC.</param>
/// <param name="EtherType">The payload's EtherType (after any tag); never a TPID.</param>
/// <param name="VlanId">The 12-bit VLAN ID, or null for an untagged frame.</param>
/// <param name="Priority">The 802.1p priority code point (0-7); 0 and ignored when untagged.</param>
public readonly record struct EthernetRepr(MacAddress Destination, MacAddress Source, EtherType EtherType, ushort? VlanId = null, byte Priority = 0)
{
    /// <summary>EtherType values below this are 802.3 length fields (LLC frames), not types.</summary>
    public const ushort MinimumEtherType = 0x0600;

    /// <summary>Bytes <see cref="Emit"/> writes: 14, or 18 with a VLAN tag.</summary>
    public int HeaderLength => VlanId.HasValue ? EthernetFrame.TaggedHeaderLength : EthernetFrame.UntaggedHeaderLength;

    /// <summary>
    /// Parses a header. Returns <see cref="WireError.Unsupported"/> for an 802.3 length field (type &lt; 0x0600)
    /// or a second VLAN tag. Never throws.
    /// </summary>
    public static WireError TryParse(EthernetFrame view, out EthernetRepr repr)
    {
        repr = default;
        ushort? vlanId = null;
        byte priority = 0;
        EtherType type = view.EtherType;
        if (view.IsVlanTagged)
        {
            ushort tci = view.TagControl;
            vlanId = (ushort)(tci & 0x0FFF);
            priority = (byte)(tci >> 13);
            type = view.InnerEtherType;
            if (type is EtherType.Vlan or EtherType.QinQ)
            {
                return WireError.Unsupported;
            }
        }
        if ((ushort)type < MinimumEtherType)
        {
            return WireError.Unsupported;
        }
        repr = new EthernetRepr(view.Destination, view.Source, type, vlanId, priority);
        return WireError.Ok;
    }

    /// <summary>Writes <see cref="HeaderLength"/> bytes. The view must be at least that long; VlanId must fit 12 bits and Priority 3.</summary>
    public void Emit(EthernetFrame view)
    {
        view.Destination = Destination;
        view.Source = Source;
        if (VlanId is ushort id)
        {
            view.EtherType = EtherType.Vlan;
            view.TagControl = (ushort)(((Priority & 0x7) << 13) | (id & 0x0FFF));
            view.InnerEtherType = EtherType;
        }
        else
        {
            view.EtherType = EtherType;
        }
    }

    /// <summary>tcpdump -e style: "02:00:00:00:00:0a > ff:ff:ff:ff:ff:ff, vlan 23, p 5, ethertype 0x0806".</summary>
    public override string ToString()
    {
        string vlan = VlanId is ushort id ? $", vlan {id}, p {Priority}" : "";
        return $"{Source} > {Destination}{vlan}, ethertype {Name(EtherType)} (0x{(ushort)EtherType:x4})";
    }

    internal static string Name(EtherType type) => type switch
    {
        EtherType.Ipv4 => "IPv4",
        EtherType.Arp => "ARP",
        EtherType.Ipv6 => "IPv6",
        EtherType.Vlan => "802.1Q",
        EtherType.QinQ => "802.1ad",
        _ => "Unknown",
    };
}

namespace Skiff.Wire;

/// <summary>
/// A parsed Ethernet/IPv4 ARP packet (RFC 826). Operations other than request and reply are preserved
/// as numbers; what to do with them is the stack's decision.
/// </summary>
/// <param name="Operation">Request or reply; other opcodes are kept as numbers.</param>
/// <param name="SenderHardwareAddress">The MAC address of the host that sent the packet.</param>
/// <param name="SenderProtocolAddress">The sender's IPv4 address; a gratuitous ARP announces it with a target address equal to it.</param>
/// <param name="TargetHardwareAddress">The MAC address being answered with in a reply; zero (and ignored) in a request.</param>
/// <param name="TargetProtocolAddress">The IPv4 address being resolved in a request, the requester's address in a reply.</param>
public readonly record struct ArpRepr(
    ArpOperation Operation,
    MacAddress SenderHardwareAddress,
    Ipv4Address SenderProtocolAddress,
    MacAddress TargetHardwareAddress,
    Ipv4Address TargetProtocolAddress)
{
    /// <summary>Bytes <see cref="Emit"/> writes (28).</summary>
    public int BufferLength => ArpPacket.EthernetIpv4Length;

    /// <summary>
    /// Parses an Ethernet/IPv4 ARP packet: <see cref="WireError.BadHardwareType"/> unless hardware type 1 with
    /// length 6, <see cref="WireError.BadProtocolType"/> unless protocol 0x0800 with length 4. Never throws.
    /// </summary>
    public static WireError TryParse(ArpPacket view, out ArpRepr repr)
    {
        repr = default;
        if (view.HardwareType != ArpPacket.HardwareTypeEthernet || view.HardwareLength != MacAddress.Length)
        {
            return WireError.BadHardwareType;
        }
        if (view.ProtocolType != EtherType.Ipv4 || view.ProtocolLength != Ipv4Address.Length)
        {
            return WireError.BadProtocolType;
        }
        if (view.Buffer.Length < ArpPacket.EthernetIpv4Length)
        {
            return WireError.Truncated;
        }
        repr = new ArpRepr(view.Operation, view.SenderHardwareAddress, view.SenderProtocolAddress, view.TargetHardwareAddress, view.TargetProtocolAddress);
        return WireError.Ok;
    }

    /// <summary>Writes all 28 bytes. The view must be at least <see cref="BufferLength"/> long.</summary>
    public void Emit(ArpPacket view)
    {
        view.HardwareType = ArpPacket.HardwareTypeEthernet;
        view.ProtocolType = EtherType.Ipv4;
        view.HardwareLength = MacAddress.Length;
        view.ProtocolLength = Ipv4Address.Length;
        view.Operation = Operation;
        view.SenderHardwareAddress = SenderHardwareAddress;
        view.SenderProtocolAddress = SenderProtocolAddress;
        view.TargetHardwareAddress = TargetHardwareAddress;
        view.TargetProtocolAddress = TargetProtocolAddress;
    }

    /// <summary>As tcpdump prints it: "ARP, Request who-has 10.0.0.2 tell 10.0.0.1".</summary>
    public override string ToString() => Operation switch
    {
        ArpOperation.Request => $"ARP, Request who-has {TargetProtocolAddress} tell {SenderProtocolAddress}",
        ArpOperation.Reply => $"ARP, Reply {SenderProtocolAddress} is-at {SenderHardwareAddress}",
        _ => $"ARP, Unknown operation {(ushort)Operation} from {SenderProtocolAddress} ({SenderHardwareAddress}) to {TargetProtocolAddress}",
    };
}

namespace Skiff.Wire;

/// <summary>The ARP opcode (RFC 826; IANA "ARP Parameters"). Values not listed are preserved as numbers.</summary>
public enum ArpOperation : ushort
{
    /// <summary>Who has the target protocol address? Broadcast by a host resolving a neighbour (RFC 826).</summary>
    Request = 1,
    /// <summary>The sender has the sender protocol address; unicast back to the requester (RFC 826).</summary>
    Reply = 2,
}

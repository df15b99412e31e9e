namespace Skiff.Wire;

/// <summary>The ARP opcode (RFC 826; IANA "ARP Parameters"). Values not listed are preserved as numbers.</summary>
public enum ArpOperation : ushort
{
    Request = 1,
    Reply = 2,
}

namespace Skiff.Stack.Arp;

/// <summary>What the caller of <see cref="ArpCache.Lookup"/> must do with the packet it wants to send.</summary>
public enum ArpLookupResult : byte
{
    /// <summary>The MAC address is known: send the packet to it.</summary>
    Found = 0,

    /// <summary>
    /// The MAC address is known but Stale: send the packet to it, and also send an ARP request for the
    /// destination now, unicast to that MAC (RFC 1122 section 2.3.2.1 "unicast poll").
    /// </summary>
    FoundSendRequest = 1,

    /// <summary>Unknown: an Incomplete entry now exists. Broadcast an ARP request now and <see cref="ArpCache.Enqueue"/> the packet.</summary>
    SendRequest = 2,

    /// <summary>Resolution is under way and a request went out less than a second ago: only <see cref="ArpCache.Enqueue"/> the packet.</summary>
    Wait = 3,
}

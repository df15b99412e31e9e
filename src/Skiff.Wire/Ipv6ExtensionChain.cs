namespace Skiff.Wire;

/// <summary>
/// What <see cref="Ipv6ExtensionHeaders.TryWalk"/> found in an IPv6 payload: where the upper layer starts and
/// which protocol it is, and the fragment header if one was met.
/// </summary>
/// <param name="UpperLayerProtocol">
/// The next-header value after the last extension header walked: the upper-layer protocol (TCP, UDP, ICMPv6, ESP,
/// no-next-header, or an unknown value). After a fragment header it is the fragment header's next header, whose
/// bytes are fragment data until reassembly.
/// </param>
/// <param name="UpperLayerOffset">Offset of the upper-layer header (or of the fragment data) in the payload walked.</param>
/// <param name="HeaderCount">Extension headers walked (0 to <see cref="Ipv6ExtensionHeaders.MaximumHeaders"/>).</param>
/// <param name="Fragment">The fragment header's fields, or null when the packet is not a fragment.</param>
public readonly record struct Ipv6ExtensionChain(IpProtocol UpperLayerProtocol, int UpperLayerOffset, int HeaderCount, Ipv6FragmentRepr? Fragment)
{
    /// <summary>True when a fragment header was met (the walk stopped right after it).</summary>
    public bool IsFragment => Fragment.HasValue;
}

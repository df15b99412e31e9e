using Skiff.Stack.Internal;
using Skiff.Stack.Ipv4;
using Skiff.Stack.Ipv6;
using Skiff.Wire;

namespace Skiff.Stack;

public sealed partial class Interface
{
    private const int MaxExtensionHeaders = 16;

    // ICMPv6 Parameter Problem codes (RFC 4443 section 3.4, RFC 7112).
    private const byte ErroneousHeaderField = 0;
    private const byte UnrecognizedNextHeader = 1;
    private const byte UnrecognizedOption = 2;
    private const byte IncompleteHeaderChain = 3;

    /// <summary>
    /// The kernel's ipv6_rcv / ip6_rcv_finish / ip6_input_finish, in its order: header checks, destination match
    /// (our usable unicast addresses and our groups), then the extension headers as RFC 8200 section 4.1 orders them,
    /// reassembly at the Fragment header, and the upper layer. Takes ownership of <paramref name="frame"/>.
    /// </summary>
    private void IngressIpv6(PacketBuffer frame, int l2, bool l2Multicast, MacAddress sourceMac)
    {
        Ipv6State v6 = _v6!;
        if (Ipv6Packet.TryCreate(frame.Data[l2..], out Ipv6Packet ip) != WireError.Ok
            || Ipv6Repr.TryParse(ip, out Ipv6Repr repr) != WireError.Ok)
        {
            DropFrame(frame, DropReason.Ipv6Malformed);
            return;
        }
        // The buffer becomes the IPv6 packet, Ethernet padding trimmed.
        frame.TrySetData(frame.DataOffset + l2, Ipv6Packet.HeaderLength + repr.PayloadLength);
        // RFC 4291 section 2.7 and 2.5.3: a multicast or loopback source is never valid on the wire.
        // An IPv4-mapped source (RFC 4291 2.5.5.2) never belongs on the wire either (RFC 4038 4.2), and dropping it keeps
        // the families apart in the connection tables, which hold IPv4 addresses in that form.
        if (repr.Source.IsMulticast || repr.Source == Ipv6Address.Loopback || repr.Destination == Ipv6Address.Loopback || new IpAddress(repr.Source).IsIpv4)
        {
            DropFrame(frame, DropReason.Ipv6BadSource);
            return;
        }
        bool multicast = repr.Destination.IsMulticast;
        if (multicast ? !v6.IsOurGroup(repr.Destination) : !v6.IsUsable(v6.Find(repr.Destination), _now))
        {
            // Not ours, or tentative (RFC 4862 5.4: packets to a tentative address are silently discarded) or duplicate.
            DropFrame(frame, DropReason.Ipv6NotForUs);
            return;
        }
        IngressIpv6Headers(frame, repr, multicast || l2Multicast, sourceMac, reassembled: false);
    }

    /// <summary>Walks the extension headers of the IPv6 packet that is <paramref name="frame"/>'s data and delivers its upper layer.</summary>
    private void IngressIpv6Headers(PacketBuffer frame, in Ipv6Repr repr, bool multicast, MacAddress sourceMac, bool reassembled)
    {
        Span<byte> data = frame.Data;
        int offset = Ipv6Packet.HeaderLength;
        int nextField = 6; // where the current Next Header value sits, for Parameter Problem pointers
        IpProtocol next = repr.NextHeader;
        for (int headers = 0; ; headers++)
        {
            if (headers > MaxExtensionHeaders)
            {
                DropFrame(frame, DropReason.Ipv6ExtensionHeader);
                return;
            }
            switch (next)
            {
                case IpProtocol.HopByHop when headers != 0:
                    // RFC 8200 section 4.1: Hop-by-Hop only immediately after the IPv6 header.
                    SendParameterProblem(frame, repr, multicast, UnrecognizedNextHeader, nextField);
                    DropFrame(frame, DropReason.Ipv6ExtensionHeader);
                    return;
                case IpProtocol.HopByHop:
                case IpProtocol.Ipv6Options:
                case IpProtocol.Ipv6Route:
                {
                    if (offset + 8 > data.Length || offset + (data[offset + 1] + 1) * 8 > data.Length)
                    {
                        SendParameterProblem(frame, repr, multicast, ErroneousHeaderField, 4); // the payload length cannot hold it
                        DropFrame(frame, DropReason.Ipv6Malformed);
                        return;
                    }
                    int length = (data[offset + 1] + 1) * 8;
                    if (next == IpProtocol.Ipv6Route)
                    {
                        // RFC 8200 section 4.4: no routing type is implemented (RH0 is deprecated, RFC 5095), so one
                        // with segments left is an unrecognized type: Parameter Problem at the Routing Type field.
                        if (data[offset + 3] != 0)
                        {
                            SendParameterProblem(frame, repr, multicast, ErroneousHeaderField, offset + 2);
                            DropFrame(frame, DropReason.Ipv6ExtensionHeader);
                            return;
                        }
                    }
                    else if (!ProcessIpv6Options(frame, repr, multicast, offset, length, next == IpProtocol.HopByHop))
                    {
                        return;
                    }
                    nextField = offset;
                    next = (IpProtocol)data[offset];
                    offset += length;
                    break;
                }
                case IpProtocol.Ipv6Fragment:
                {
                    if (offset + Ipv6FragmentRepr.HeaderLength > data.Length)
                    {
                        DropFrame(frame, DropReason.Ipv6Malformed);
                        return;
                    }
                    Ipv6FragmentRepr fragment = Ipv6FragmentRepr.Read(data[offset..]);
                    if (fragment.Offset == 0 && !fragment.MoreFragments)
                    {
                        // RFC 6946: an atomic fragment is processed on its own, apart from any reassembly.
                        nextField = offset;
                        next = (IpProtocol)data[offset];
                        offset += Ipv6FragmentRepr.HeaderLength;
                        break;
                    }
                    if (reassembled)
                    {
                        DropFrame(frame, DropReason.FragmentRefused); // a fragment inside a reassembled packet
                        return;
                    }
                    IngressIpv6Fragment(frame, repr, multicast, sourceMac, offset, fragment);
                    return;
                }
                case IpProtocol.Icmpv6:
                    IngressIcmpv6(frame, repr, offset, multicast, sourceMac);
                    return;
                case IpProtocol.Tcp:
                    IngressTcp6(frame, repr, offset, multicast);
                    return;
                case IpProtocol.Udp:
                    IngressUdp6(frame, repr, offset, multicast);
                    return;
                case IpProtocol.Ipv6NoNext:
                    DropFrame(frame, DropReason.Ipv6NoNextHeader);
                    return;
                default:
                    // ESP, AH (no IPsec here) and unknown values: RFC 8200 section 4 / RFC 4443 3.4 code 1.
                    SendParameterProblem(frame, repr, multicast, UnrecognizedNextHeader, nextField);
                    DropFrame(frame, DropReason.Ipv6UnknownNextHeader);
                    return;
            }
        }
    }

    /// <summary>
    /// Hop-by-Hop and Destination options (RFC 8200 section 4.2): Pad1, PadN and (Hop-by-Hop) Router Alert are
    /// understood; an unknown option does what the two high bits of its type say. False when the packet was dropped.
    /// </summary>
    private bool ProcessIpv6Options(PacketBuffer frame, in Ipv6Repr repr, bool multicast, int offset, int length, bool hopByHop)
    {
        Ipv6OptionReader reader = new(frame.Data.Slice(offset + 2, length - 2));
        while (reader.MoveNext())
        {
            Ipv6Option option = reader.Current;
            if (option.Type is Ipv6OptionType.Pad1 or Ipv6OptionType.PadN || (hopByHop && option.Type == Ipv6OptionType.RouterAlert))
            {
                continue;
            }
            int pointer = offset + 2 + option.Offset;
            switch (option.UnknownAction)
            {
                case Ipv6OptionAction.Skip:
                    continue;
                case Ipv6OptionAction.DiscardAndReport:
                    // Reported even to a multicast destination (RFC 4443 2.4 e.3).
                    SendIcmpv6Error(frame.Data, repr, multicast, Icmpv6Type.ParameterProblem, UnrecognizedOption, (uint)pointer, allowMulticast: true);
                    break;
                case Ipv6OptionAction.DiscardAndReportUnlessMulticast:
                    SendParameterProblem(frame, repr, multicast, UnrecognizedOption, pointer);
                    break;
            }
            DropFrame(frame, DropReason.Ipv6ExtensionHeader);
            return false;
        }
        if (reader.Error != WireError.Ok)
        {
            SendParameterProblem(frame, repr, multicast, ErroneousHeaderField, offset + 1);
            DropFrame(frame, DropReason.Ipv6Malformed);
            return false;
        }
        return true;
    }

    // RFC 8200 section 4.5 with RFC 5722 (overlaps), RFC 7112 (the first fragment holds the whole header chain) and
    // RFC 6946 (atomic fragments, handled by the caller).
    private void IngressIpv6Fragment(PacketBuffer frame, in Ipv6Repr repr, bool multicast, MacAddress sourceMac, int offset, Ipv6FragmentRepr fragment)
    {
        Ipv6State v6 = _v6!;
        Span<byte> data = frame.Data;
        int start = offset + Ipv6FragmentRepr.HeaderLength;
        int length = data.Length - start;
        if (fragment.MoreFragments && (length == 0 || (length & 7) != 0))
        {
            // "not a multiple of 8 octets and the M flag is 1": Parameter Problem code 0 at the Payload Length field.
            SendParameterProblem(frame, repr, multicast, ErroneousHeaderField, 4);
            DropFrame(frame, DropReason.FragmentRefused);
            return;
        }
        if (fragment.Offset + length > 65535)
        {
            // Past the largest packet: Parameter Problem code 0 at the Fragment Offset field.
            SendParameterProblem(frame, repr, multicast, ErroneousHeaderField, offset + 2);
            DropFrame(frame, DropReason.FragmentRefused);
            return;
        }
        if (fragment.Offset == 0 && !HasWholeHeaderChain((IpProtocol)data[offset], data[start..]))
        {
            SendParameterProblem(frame, repr, multicast, IncompleteHeaderChain, 0);
            DropFrame(frame, DropReason.FragmentRefused);
            return;
        }
        Ipv6FragmentKey key = new(repr.Source, repr.Destination, fragment.Identification);
        FragmentResult result = v6.Reassembler.Add(key, fragment.Offset, fragment.MoreFragments, data[..start], data[start..], _now);
        frame.Free();
        if (!CountUnlessComplete(result.Status))
        {
            return;
        }
        // The packet is the unfragmentable part (without the Fragment header, whose Next Header goes into the last
        // header before it) followed by the fragmentable part.
        int unfragmentable = result.HeaderBytes - Ipv6FragmentRepr.HeaderLength;
        int size = result.Datagram.Length - Ipv6FragmentRepr.HeaderLength;
        PacketPool pool = _pool.HeadroomBytes + size <= _pool.FrameBytes ? _pool : _largePool;
        if (!pool.TryAllocate(out PacketBuffer? whole) || !whole.TrySetLength(size))
        {
            whole?.Free();
            Counters.Drop(DropReason.ReassemblyNoBuffer);
            return;
        }
        Span<byte> packet = whole.Data;
        result.Datagram[..unfragmentable].CopyTo(packet);
        result.Datagram[result.HeaderBytes..].CopyTo(packet[unfragmentable..]);
        packet[LastNextHeaderField(packet, unfragmentable)] = result.Datagram[unfragmentable];
        Ipv6Packet view = new(packet);
        view.PayloadLength = (ushort)(size - Ipv6Packet.HeaderLength);
        Counters.Ipv6DatagramsReassembled++;
        IngressIpv6Headers(whole, repr with { PayloadLength = view.PayloadLength, NextHeader = view.NextHeader }, multicast, sourceMac, reassembled: true);
    }

    /// <summary>The offset of the Next Header field that pointed at the header starting at <paramref name="end"/>.</summary>
    private static int LastNextHeaderField(ReadOnlySpan<byte> packet, int end)
    {
        int field = 6;
        IpProtocol current = (IpProtocol)packet[6];
        int offset = Ipv6Packet.HeaderLength;
        while (offset < end)
        {
            field = offset;
            int length = current == IpProtocol.Ah ? (packet[offset + 1] + 2) * 4 : (packet[offset + 1] + 1) * 8;
            current = (IpProtocol)packet[offset];
            offset += length;
        }
        return field;
    }

    /// <summary>RFC 7112: whether the first fragment's data holds every extension header and the upper-layer header's start.</summary>
    private static bool HasWholeHeaderChain(IpProtocol next, ReadOnlySpan<byte> data)
    {
        if (Ipv6ExtensionHeaders.TryWalk(next, data, out Ipv6ExtensionChain chain) != WireError.Ok)
        {
            return false;
        }
        int upper = chain.UpperLayerProtocol switch
        {
            IpProtocol.Tcp => 20,
            IpProtocol.Udp => 8,
            IpProtocol.Icmpv6 => 4,
            _ => 0,
        };
        return chain.UpperLayerOffset + upper <= data.Length;
    }

    private void SendParameterProblem(PacketBuffer frame, in Ipv6Repr repr, bool multicast, byte code, int pointer) =>
        SendIcmpv6Error(frame.Data, repr, multicast, Icmpv6Type.ParameterProblem, code, (uint)pointer, allowMulticast: false);
}

using Skiff.Wire;

namespace Skiff.QDisc.Classify;

/// <summary>
/// Linux's priorities (skb->priority, TC_PRIO_*) and how the TOS byte maps to them: a frame's priority is the one a
/// socket or hook set (<see cref="PacketBuffer.Priority"/>), or, when that is 0, the one its IPv4 TOS or IPv6 traffic
/// class gives through the kernel's <c>ip_tos2prio</c> table (net/ipv4/route.c), as Linux gives a socket with IP_TOS or a
/// forwarded packet.
/// </summary>
public static class Priomap
{
    /// <summary>TC_PRIO_BESTEFFORT.</summary>
    public const byte BestEffort = 0;

    /// <summary>TC_PRIO_BULK.</summary>
    public const byte Bulk = 2;

    /// <summary>TC_PRIO_INTERACTIVE_BULK.</summary>
    public const byte InteractiveBulk = 4;

    /// <summary>TC_PRIO_INTERACTIVE.</summary>
    public const byte Interactive = 6;

    /// <summary>TC_PRIO_CONTROL.</summary>
    public const byte Control = 7;

    /// <summary>TC_PRIO_MAX: priorities index a 16-entry priomap.</summary>
    public const int Max = 15;

    /// <summary>ip_tos2prio: priority by the TOS field's four bits (RFC 1349), (tos &amp; 0x1E) >> 1.</summary>
    private static ReadOnlySpan<byte> TosToPriorityTable => [0, 0, 0, 0, 2, 2, 2, 2, 6, 6, 6, 6, 4, 4, 4, 4];

    /// <summary>pfifo_fast's and prio's default priomap (sch_generic.c prio2band): band by priority.</summary>
    public static ReadOnlySpan<byte> DefaultBands => [1, 2, 2, 2, 1, 2, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1];

    /// <summary>rt_tos2priority: the priority Linux gives a TOS byte.</summary>
    public static byte TosToPriority(byte tos) => TosToPriorityTable[(tos & 0x1E) >> 1];

    /// <summary>The frame's priority: <see cref="PacketBuffer.Priority"/> if set, else from its TOS (0 for non-IP).</summary>
    public static byte PriorityOf(PacketBuffer frame)
    {
        if (frame.Priority != 0)
        {
            return frame.Priority;
        }
        return TosToPriority(TosOf(frame));
    }

    /// <summary>The IPv4 TOS byte or the IPv6 traffic class of a frame, 0 when it is not IP.</summary>
    public static byte TosOf(PacketBuffer frame)
    {
        PacketClass c = EnsureClassified(frame);
        ReadOnlySpan<byte> data = frame.Data;
        int l3 = frame.L3Offset;
        if ((c & PacketClass.Ipv4) != 0 && data.Length > l3 + 1)
        {
            return data[l3 + 1];
        }
        if ((c & PacketClass.Ipv6) != 0 && data.Length > l3 + 1)
        {
            return (byte)((data[l3] << 4) | (data[l3 + 1] >> 4));
        }
        return 0;
    }

    /// <summary>The DSCP (TOS >> 2) of a frame.</summary>
    public static byte DscpOf(PacketBuffer frame) => (byte)(TosOf(frame) >> 2);

    /// <summary>Classifies a frame the sender built without classifying it (the stack does not), once.</summary>
    public static PacketClass EnsureClassified(PacketBuffer frame)
    {
        PacketClass c = frame.Classification;
        return c == PacketClass.None ? PacketClassifier.Classify(frame) : c;
    }
}

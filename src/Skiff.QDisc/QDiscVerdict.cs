namespace Skiff.QDisc;

/// <summary>What <see cref="QueueDiscipline.Enqueue"/> did with a frame (Linux's NET_XMIT_*).</summary>
public enum QDiscVerdict
{
    /// <summary>Queued (NET_XMIT_SUCCESS).</summary>
    Queued,

    /// <summary>This frame was dropped (NET_XMIT_DROP): a limit, a policer or a filter refused it.</summary>
    Dropped,

    /// <summary>Queued, but the qdisc dropped frames of the same flow to make room (NET_XMIT_CN: congestion, not loss on the network).</summary>
    Congested,
}

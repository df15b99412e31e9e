namespace Skiff.Drivers.Linux;

/// <summary>
/// How the kernel spreads an interface's frames over the AF_PACKET sockets of one fanout group
/// (<c>PACKET_FANOUT_*</c> in linux/if_packet.h; the values are the kernel's).
/// </summary>
public enum AfPacketFanoutMode : ushort
{
    /// <summary>By the kernel's flow hash (<c>skb_get_hash</c>): every frame of a flow goes to the same socket. Use this for queues.</summary>
    Hash = 0,

    /// <summary>Round robin, frame by frame (flows are split; not for a TCP stack).</summary>
    LoadBalance = 1,

    /// <summary>By the CPU that received the frame.</summary>
    Cpu = 2,

    /// <summary>To the first socket with room, then the next.</summary>
    Rollover = 3,

    /// <summary>At random.</summary>
    Random = 4,

    /// <summary>By the receive queue the NIC recorded (<c>skb_get_rx_queue</c>).</summary>
    QueueMapping = 5,
}

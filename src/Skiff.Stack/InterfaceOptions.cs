using Skiff.Stack.Arp;
using Skiff.Stack.Ipv4;
using Skiff.Stack.Ipv6;
using Skiff.Stack.Tcp;
using Skiff.Wire;

namespace Skiff.Stack;

/// <summary>How an <see cref="Interface"/> is set up. Defaults are documented per property.</summary>
public sealed record InterfaceOptions
{
    /// <summary>The interface's Ethernet address. Required.</summary>
    public required MacAddress Mac { get; init; }

    /// <summary>IPv4 addresses with their prefixes; at least one. The prefix adds an on-link route.</summary>
    public required IReadOnlyList<Ipv4Cidr> Addresses { get; init; }

    /// <summary>Default gateway; adds 0.0.0.0/0 via it. Default none.</summary>
    public Ipv4Address? Gateway { get; init; }

    /// <summary>Largest IP packet sent; larger ones are fragmented. Default 1500.</summary>
    public int MtuBytes { get; init; } = 1500;

    /// <summary>TTL of packets we originate. Default 64.</summary>
    public byte DefaultTtl { get; init; } = 64;

    /// <summary>Bounds and timers of the ARP cache. Default: <see cref="ArpCacheOptions"/>'s defaults.</summary>
    public ArpCacheOptions Arp { get; init; } = new();

    /// <summary>IPv6 (docs/ipv6.md): addresses, DAD, neighbour and router discovery. Default null: IPv4 only, IPv6 frames dropped.</summary>
    public Ipv6Options? Ipv6 { get; init; }

    /// <summary>Bounds of IPv4 reassembly (datagrams in progress, bytes, fragments, timeout). Default: <see cref="Ipv4ReassemblerOptions"/>'s defaults.</summary>
    public Ipv4ReassemblerOptions Reassembly { get; init; } = new();

    /// <summary>Frames (of 64 KiB) set aside for reassembled datagrams and large UDP datagrams. Default 16.</summary>
    public int LargeBufferCount { get; init; } = 16;

    /// <summary>Bounds and policies of the TCP layer (connections, TIME-WAIT, SYN cookies, ephemeral ports). Default: <see cref="TcpLayerOptions"/>'s defaults.</summary>
    public TcpLayerOptions Tcp { get; init; } = new();

    /// <summary>Most UDP sockets. Default 256.</summary>
    public int MaxUdpSockets { get; init; } = 256;

    /// <summary>ICMP errors (unreachable, time exceeded) sent per second (RFC 1812 4.3.2.8 rate limiting). Default 1000.</summary>
    public int IcmpErrorsPerSecond { get; init; } = 1000;

    /// <summary>Announce our addresses with a gratuitous ARP at the first poll. Default on.</summary>
    public bool GratuitousArp { get; init; } = true;

    /// <summary>Frames received per burst. Default 32.</summary>
    public int RxBurst { get; init; } = 32;

    /// <summary>Most receive bursts per poll (bounded work). Default 8.</summary>
    public int MaxRxBurstsPerPoll { get; init; } = 8;

    /// <summary>Most frames transmitted per poll. Default 512.</summary>
    public int TxBudgetPerPoll { get; init; } = 512;

    /// <summary>Frames kept for retry when the device refuses a transmit burst. Default 256.</summary>
    public int TxQueueFrames { get; init; } = 256;

    /// <summary>
    /// Key for ISNs and SYN cookies. Null: one is drawn from the OS random source when the interface is
    /// built (the only syscall the stack makes, at construction). Tests pass a fixed key.
    /// </summary>
    public UInt128? SecretKey { get; init; }

    /// <summary>Checks the options; throws <see cref="ArgumentException"/> with a sentence naming the problem.</summary>
    public void Validate()
    {
        if (Addresses is null || Addresses.Count == 0)
        {
            throw new ArgumentException("An interface needs at least one IPv4 address, e.g. 10.0.0.1/24.");
        }
        if (MtuBytes < 576 || MtuBytes > 65535)
        {
            throw new ArgumentException($"MTU {MtuBytes} must lie between 576 (RFC 791) and 65535.");
        }
        if (!Mac.IsUnicast || Mac == MacAddress.Zero)
        {
            throw new ArgumentException($"The interface MAC {Mac} must be a non-zero unicast address.");
        }
        if (RxBurst < 1 || MaxRxBurstsPerPoll < 1 || TxBudgetPerPoll < 1 || TxQueueFrames < 1)
        {
            throw new ArgumentException("Burst sizes and budgets must be positive.");
        }
        Ipv6?.Validate(MtuBytes);
    }
}

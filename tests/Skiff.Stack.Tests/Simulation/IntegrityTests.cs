using Skiff.Devices;

namespace Skiff.Stack.Tests.Simulation;

/// <summary>
/// TESTING.md's "nothing lost": a seeded 16 MiB stream each way over one connection arrives intact (length
/// and SHA-256) under loss, reordering, duplication and single-bit corruption, both sides close with FINs,
/// every corrupted frame is dropped and counted by the stack, and afterwards every connection and buffer
/// is released. The seed is in every failure message.
/// </summary>
public class IntegrityTests
{
    private const long BytesEachWay = 16L << 20;

    public static TheoryData<double, ulong> Cases()
    {
        TheoryData<double, ulong> data = new();
        foreach (double loss in new[] { 0.0, 1.0, 5.0, 10.0 })
        {
            foreach (ulong seed in new ulong[] { 1, 2, 3 })
            {
                data.Add(loss, seed);
            }
        }
        return data;
    }

    // Drop causes that only corruption can produce on this link (nothing else sends malformed frames).
    private static readonly DropReason[] s_receiveCauses =
    [
        DropReason.EthernetMalformed, DropReason.NotOurMac, DropReason.UnknownEtherType, DropReason.ArpMalformed,
        DropReason.Ipv4Malformed, DropReason.Ipv4BadChecksum, DropReason.Ipv4NotForUs, DropReason.Ipv4BadSource,
        DropReason.FragmentRefused, DropReason.UnknownProtocol, DropReason.TcpMalformed, DropReason.TcpBadChecksum,
        DropReason.TcpNotUnicast, DropReason.IcmpMalformed, DropReason.IcmpBadChecksum, DropReason.UdpMalformed, DropReason.UdpBadChecksum,
    ];

    // ARP carries no checksum: on a real wire the FCS drops a corrupted ARP frame, here a flipped sender MAC
    // could be believed. Entries primed at the start and valid for the whole run keep ARP off the bad link.
    internal static readonly Skiff.Stack.Arp.ArpCacheOptions StaticArp = new() { ReachableTime = Duration.FromSeconds(3600) };

    [Theory]
    [MemberData(nameof(Cases))]
    public void SixteenMebibytesEachWayArriveIntactUnderFaults(double lossPercent, ulong seed)
    {
        ImpairmentOptions Faults(ulong s) => new()
        {
            Seed = s,
            LossProbability = lossPercent / 100,
            ReorderProbability = 0.02,
            DuplicateProbability = 0.01,
            CorruptProbability = 0.01,
            CorruptSkipBytes = 14, // an L2 flip would fail a real NIC's FCS; the stack's checksums cover the rest
            Delay = Duration.FromMillis(1),
        };
        string where = $"loss {lossPercent}%, seed {seed}";
        using StackPair pair = new(Faults(seed * 7 + 1), Faults(seed * 7 + 2), gratuitousArp: false, arp: StaticArp);
        pair.PrimeArp();
        TransferRun run = new(pair, BytesEachWay, seed);

        Assert.True(run.Transfer(Duration.FromSeconds(300)), $"{where}: transfer incomplete: up {run.UpReceived}, down {run.DownReceived}, client {(run.Client is null ? "-" : run.Client.State)}, server {(run.Server is null ? "-" : run.Server.State)}");
        Assert.True(run.UpIntact, $"{where}: 10.0.0.1 -> 10.0.0.2 stream differs");
        Assert.True(run.DownIntact, $"{where}: 10.0.0.2 -> 10.0.0.1 stream differs");
        Assert.True(run.CloseBoth(Duration.FromSeconds(60)), $"{where}: close incomplete: client {run.Client!.State}, server {run.Server!.State}");

        // TIME-WAIT (60 s) passes and every connection, timer and buffer is gone.
        pair.RunFor(Duration.FromSeconds(70));
        Assert.Equal(0, pair.A.Tcp.ConnectionCount);
        Assert.Equal(0, pair.B.Tcp.ConnectionCount);
        Assert.Equal(Instant.Never, pair.A.Tcp.PollAt(pair.Now));
        Assert.Equal(Instant.Never, pair.B.Tcp.PollAt(pair.Now));
        Assert.Equal(0, pair.ImpairedA!.HeldFrames + pair.ImpairedB!.HeldFrames);

        long corruptedToB = pair.ImpairedA.TransmitCounters.Corrupted;
        long corruptedToA = pair.ImpairedB.TransmitCounters.Corrupted;
        Assert.True(corruptedToA + corruptedToB > 0, $"{where}: no frame was corrupted, so corruption went untested");
        Assert.True(corruptedToB == s_receiveCauses.Sum(pair.B.Counters.Drops),
            $"{where}: {corruptedToB} frames corrupted towards 10.0.0.2, drops there: {string.Join(", ", pair.B.Counters.NonZeroDrops())}");
        Assert.True(corruptedToA == s_receiveCauses.Sum(pair.A.Counters.Drops),
            $"{where}: {corruptedToA} frames corrupted towards 10.0.0.1, drops there: {string.Join(", ", pair.A.Counters.NonZeroDrops())}");

        pair.Drain();
        Assert.Equal(0, pair.PoolA.InUse);
        Assert.Equal(0, pair.PoolB.InUse);
    }
}

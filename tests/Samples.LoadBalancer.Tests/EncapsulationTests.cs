using Skiff.Hooks;

namespace Samples.LoadBalancer.Tests;

/// <summary>The rewrites byte for byte, against frames built apart from Skiff.</summary>
public sealed class EncapsulationTests
{
    private static readonly MacAddress Lb = MacAddress.Parse("02:00:00:00:00:01");
    private static readonly Ipv4Address LbAddress = new(10, 0, 0, 2);
    private static readonly Ipv4Address Backend = new(10, 0, 0, 11);

    [Fact]
    public void IpipPutsAnOuterHeaderInTheHeadroomByteForByte()
    {
        using PacketPool pool = new(8);
        PacketBuffer frame = Frames.Client(pool, Frames.ClientTcpSyn());
        int headroom = frame.HeadroomBytes;
        Assert.Equal(EncapsulationResult.Ok, Encapsulation.Ipip(frame, Lb, Frames.BackendMac, LbAddress, Backend, 1500));
        Assert.Equal(Convert.ToHexString(Frames.ClientTcpSynInIpip()), Convert.ToHexString(frame.Data));
        Assert.Equal(headroom - 20, frame.HeadroomBytes); // the payload did not move: the header went in front of it
        Assert.True(Checksum.IsValid(frame.Data.Slice(14, 20)));
        frame.Free();
    }

    [Fact]
    public void IpipFinishesAnOffloadedChecksumAndDropsEthernetPadding()
    {
        using PacketPool pool = new(8);
        PacketBuffer frame = Frames.Client(pool, Frames.ClientUdpPartialPadded(), ChecksumState.L4Partial);
        Assert.Equal(EncapsulationResult.Ok, Encapsulation.Ipip(frame, Lb, Frames.BackendMac, LbAddress, Backend, 1500));
        Assert.Equal(Convert.ToHexString(Frames.ClientUdpInIpip()), Convert.ToHexString(frame.Data));
        Assert.Equal(ChecksumState.None, frame.Checksum & ChecksumState.L4Partial);
        frame.Free();
    }

    [Fact]
    public void IpipRefusesWhatWouldExceedTheMtuAndLeavesTheFrameAlone()
    {
        using PacketPool pool = new(8);
        byte[] original = Frames.ClientTcpSyn();
        PacketBuffer frame = Frames.Client(pool, original);
        Assert.Equal(EncapsulationResult.TooBig, Encapsulation.Ipip(frame, Lb, Frames.BackendMac, LbAddress, Backend, 40 + 19));
        Assert.Equal(original, frame.Data.ToArray());
        frame.Free();
    }

    [Fact]
    public void IpipRefusesATotalLengthLongerThanTheFrame()
    {
        using PacketPool pool = new(8);
        byte[] bad = Frames.ClientTcpSyn();
        bad[17] = 0xFF; // total length 0x00FF > 40 bytes present
        PacketBuffer frame = Frames.Client(pool, bad);
        Assert.Equal(EncapsulationResult.Malformed, Encapsulation.Ipip(frame, Lb, Frames.BackendMac, LbAddress, Backend, 1500));
        frame.Free();
    }

    [Fact]
    public void DsrRewritesOnlyTheMacs()
    {
        using PacketPool pool = new(8);
        byte[] original = Frames.ClientTcpSyn();
        PacketBuffer frame = Frames.Client(pool, original);
        Encapsulation.RewriteMacs(frame, Lb, Frames.BackendMac);
        byte[] expected = [.. Convert.FromHexString("020000000b00" + "020000000001"), .. original[12..]];
        Assert.Equal(expected, frame.Data.ToArray());
        frame.Free();
    }

    [Theory]
    [InlineData(ForwardingMode.Ipip)]
    [InlineData(ForwardingMode.Dsr)]
    public void TheHookSendsVipTrafficBackOutAndPassesTheRest(ForwardingMode mode)
    {
        Balancer balancer = BalancerTests.Create(1, mode);
        balancer.SetNextHopMac(0, Frames.BackendMac);
        using PacketPool pool = new(8);
        PacketBuffer syn = Frames.Client(pool, Frames.ClientTcpSyn());
        Assert.Equal(HookVerdict.Tx, balancer.Process(syn, Instant.FromMillis(1)));
        byte[] expected = mode == ForwardingMode.Ipip
            ? Frames.ClientTcpSynInIpip()
            : [.. Convert.FromHexString("020000000b00020000000001"), .. Frames.ClientTcpSyn()[12..]];
        Assert.Equal(Convert.ToHexString(expected), Convert.ToHexString(syn.Data));
        Assert.Equal(1, balancer.Counters.Forwarded[0]);
        syn.Free();

        byte[] otherPort = Frames.ClientTcpSyn();
        otherPort[37] = 81; // destination port 81: not the VIP's, the stack's business
        PacketBuffer other = Frames.Client(pool, otherPort);
        Assert.Equal(HookVerdict.Pass, balancer.Process(other, Instant.FromMillis(1)));
        Assert.Equal(otherPort, other.Data.ToArray());
        other.Free();

        byte[] fragment = Frames.ClientTcpSyn();
        fragment[20] = 0x20; // more fragments
        fragment[24] = 0; // (checksum no longer matters to the hook)
        PacketBuffer frag = Frames.Client(pool, fragment);
        Assert.Equal(HookVerdict.Drop, balancer.Process(frag, Instant.FromMillis(1)));
        Assert.Equal(1, balancer.Counters.Fragments);
        frag.Free();
    }

    [Fact]
    public void ThePacketPathAllocatesNothing()
    {
        Balancer balancer = BalancerTests.Create(3);
        using PacketPool pool = new(8);
        PacketBuffer frame = Frames.Client(pool, Frames.ClientTcpSyn());
        byte[] syn = Frames.ClientTcpSyn();
        long before = 0;
        int sent = 0;
        for (int i = 0; i < 2000; i++)
        {
            if (i == 1000)
            {
                before = GC.GetAllocatedBytesForCurrentThread();
            }
            frame.TrySetData(pool.HeadroomBytes, syn.Length);
            syn.CopyTo(frame.Data);
            frame.Data[35] = (byte)i; // a new source port each time: a new flow
            PacketClassifier.Classify(frame);
            sent += balancer.Process(frame, Instant.FromMillis(i)) == HookVerdict.Tx ? 1 : 0;
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(2000, sent);
        Assert.Equal(0, allocated);
        frame.Free();
    }
}

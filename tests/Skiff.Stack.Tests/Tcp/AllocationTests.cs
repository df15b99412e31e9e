using Skiff.Stack.Tcp;
using Skiff.Wire;

namespace Skiff.Stack.Tests.Tcp;

// House rule and ARCHITECTURE.md contract 1: no allocation in any per-segment method.
public class AllocationTests
{
    [Fact]
    public void Per_segment_methods_do_not_allocate()
    {
        var iss = new SeqNumber(0xFFFF_FF00);
        var cubic = new CubicCongestionControl(1000, iss, sackRecovery: true);
        var reno = new NewRenoCongestionControl(1000, iss);
        var sb = new SackScoreboard(1000, iss + 1);
        var isn = new IsnGenerator(new byte[16]);
        var cookies = new SynCookies(new byte[16]);
        var limiter = new TcpRateLimiter();
        var rtt = new RttEstimator();
        Ipv4Address a = Ipv4Address.Parse("10.0.0.1");
        Ipv6Address b = Ipv6Address.Parse("fd00::1");
        SackBlock[] blocks = [new(iss + 2001, iss + 3001), new(iss + 4001, iss + 5001)];

        var ccs = new CongestionControl[] { cubic, reno };
        int n = 0;
        Assert.Equal(0, Skiff.TestSupport.Allocations.LeastPerRound(() => WorkNoArray(n++)));

        void WorkNoArray(int round)
        {
            var now = new Instant(1_000_000 + (round * 1000L));
            SeqNumber una = iss + 1;
            sb.OnSegmentSent(una + (round * 10), 10);
            sb.Update(blocks, una);
            sb.IsLost(una);
            sb.SetPipe();
            sb.NextSeg(100);
            for (int k = 0; k < ccs.Length; k++)
            {
                CongestionControl cc = ccs[k];
                cc.OnAck(1000, now, Duration.FromMillis(10));
                cc.OnDuplicateAck(una, 10_000, una + 10_000, now);
                cc.OnPartialAck(1000);
                cc.OnExitRecovery(5000, now);
            }
            rtt.OnSample(Duration.FromMillis(10), false);
            isn.Generate(a, 80, a, 81, now);
            isn.Generate(b, 80, b, 81, now);
            SeqNumber c = cookies.Encode(b, 80, b, 81, iss, 1460, now, out _);
            cookies.TryValidate(c, b, 80, b, 81, iss, now, out _);
            limiter.TryAcquire(now);
        }
    }
}

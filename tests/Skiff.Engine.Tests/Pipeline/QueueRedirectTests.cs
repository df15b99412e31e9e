using Skiff.Hooks;
using Skiff.Stack;
using Skiff.Wire;

namespace Skiff.Engine.Tests.Pipeline;

/// <summary>A hook's redirect to another queue (XDP's cpumap): the frame is taken in by that core's loop, over software RSS and over a queue mesh.</summary>
public sealed class QueueRedirectTests
{
    /// <summary>Hands ICMP not yet redirected (mark 0) to <c>queue</c>, marking it; everything else passes.</summary>
    private readonly struct IcmpToQueue(ushort queue) : IPacketHook
    {
        public HookVerdict Process(PacketBuffer frame, ref HookContext context)
        {
            if ((frame.Classification & PacketClass.Icmp) == 0 || frame.Mark != 0)
            {
                return HookVerdict.Pass;
            }
            frame.Mark = 1;
            return context.RedirectToQueue(queue);
        }
    }

    private static async Task<int> PingAsync(SkiffStack from, Ipv4Address to, int count)
    {
        SkiffEngine engine = from.Engines[0];
        int replies = 0;
        for (ushort seq = 1; seq <= count; seq++)
        {
            await engine.InvokeAsync(i => i.SendEchoRequest(engine.Now, to, 0x7171, seq, 16));
            DateTime deadline = DateTime.UtcNow.AddSeconds(2);
            bool got = false;
            while (!got && DateTime.UtcNow < deadline)
            {
                foreach (SkiffEngine core in from.Engines) // the reply reaches the core its hash picks
                {
                    got |= await core.InvokeAsync(i => i.TryReceiveEchoReply(out _));
                }
                if (!got)
                {
                    await Task.Delay(2);
                }
            }
            replies += got ? 1 : 0;
        }
        return replies;
    }

    private static Task<(long Replies, long Invalid)> CountersOf(SkiffEngine engine) =>
        engine.InvokeAsync(i => (i.Counters.IcmpEchoRepliesSent, i.Counters.Drops(DropReason.RedirectInvalid)));

    [Fact]
    public async Task Over_software_rss_queue_0_hands_frames_to_queue_1_and_queue_1_cannot_hand_them_back()
    {
        await using EnginePair pair = new(o => o with { Cores = 2 });
        // Resolve ARP first, wherever the hash puts ICMP.
        Assert.Equal(1, await PingAsync(pair.A, EnginePair.AddressB, 1));
        (long before0, _) = await CountersOf(pair.B.Engines[0]);
        (long before1, _) = await CountersOf(pair.B.Engines[1]);

        pair.B.Engines[0].RxHooks.Add("icmp-to-1", new IcmpToQueue(1));
        Assert.Equal(5, await PingAsync(pair.A, EnginePair.AddressB, 5));
        Assert.Equal(before0, (await CountersOf(pair.B.Engines[0])).Replies); // every echo request ended on core 1
        Assert.Equal(before1 + 5, (await CountersOf(pair.B.Engines[1])).Replies);

        // Queue 1 has no ring to queue 0's receive side: its redirect is refused and counted, the frame dropped.
        pair.B.Engines[1].RxHooks.Add("icmp-to-0", new IcmpToQueue(0));
        pair.B.Engines[0].RxHooks.Clear();
        int answered = await PingAsync(pair.A, EnginePair.AddressB, 3);
        (long replies1, long invalid1) = await CountersOf(pair.B.Engines[1]);
        Assert.Equal(3 - answered, invalid1); // those the hash gave queue 1; the others queue 0 answered
        Assert.Equal(before1 + 5, replies1);
    }

    [Fact]
    public async Task Over_a_queue_mesh_either_core_hands_frames_to_the_other()
    {
        await using MeshPair pair = new(seed: 7);
        Assert.Equal(1, await PingAsync(pair.A, EnginePair.AddressB, 1));
        (long before0, _) = await CountersOf(pair.B.Engines[0]);
        (long before1, _) = await CountersOf(pair.B.Engines[1]);
        HookRunner<IcmpToQueue> to1 = pair.B.Engines[0].RxHooks.Add("icmp-to-1", new IcmpToQueue(1));
        HookRunner<IcmpToQueue> to0 = pair.B.Engines[1].RxHooks.Add("icmp-to-0", new IcmpToQueue(0));

        Assert.Equal(6, await PingAsync(pair.A, EnginePair.AddressB, 6));
        // Each core answered exactly what the other handed it; a frame redirected once passes the second hook (marked).
        Assert.Equal(to1.Counters[HookVerdict.Redirect], (await CountersOf(pair.B.Engines[1])).Replies - before1);
        Assert.Equal(to0.Counters[HookVerdict.Redirect], (await CountersOf(pair.B.Engines[0])).Replies - before0);
        Assert.Equal(6, to1.Counters[HookVerdict.Redirect] + to0.Counters[HookVerdict.Redirect]);
    }
}

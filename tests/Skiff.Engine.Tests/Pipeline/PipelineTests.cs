using Skiff.Hooks;
using Skiff.Stack;
using Skiff.Wire;

namespace Skiff.Engine.Tests.Pipeline;

/// <summary>The engine's burst loop on the manual clock: RX hooks and their verdicts, TX hooks, stages and PollAt, hooks changed while it runs.</summary>
public sealed class PipelineTests
{
    /// <summary>Drops every frame of one class (ICMP, ARP...): a test hook.</summary>
    private readonly struct DropClass(PacketClass what) : IPacketHook
    {
        public HookVerdict Process(PacketBuffer frame, ref HookContext context) =>
            (frame.Classification & what) != 0 ? HookVerdict.Drop : HookVerdict.Pass;
    }

    /// <summary>Returns a fixed verdict for every IPv4 frame (ARP passes, so neighbours still resolve).</summary>
    private readonly struct Ipv4Verdict(HookVerdict verdict, ushort port = 0) : IPacketHook
    {
        public HookVerdict Process(PacketBuffer frame, ref HookContext context)
        {
            if ((frame.Classification & PacketClass.Ipv4) == 0)
            {
                return HookVerdict.Pass;
            }
            return verdict == HookVerdict.Redirect ? context.RedirectToPort(port) : verdict;
        }
    }

    /// <summary>Records the order hooks ran in, through a shared log.</summary>
    private readonly struct Recorder(List<string> log, string name) : IPacketHook
    {
        public HookVerdict Process(PacketBuffer frame, ref HookContext context)
        {
            log.Add(name);
            return HookVerdict.Pass;
        }
    }

    [Fact]
    public void The_stack_answers_a_ping_through_an_empty_chain_and_counts_what_each_port_moved()
    {
        using PipelineRig rig = new();
        Assert.Equal(1, rig.Ping(1));
        Assert.Equal(1, rig.Interface.Counters.IcmpEchoRepliesSent);
        Assert.True(rig.Engine.PortCountersOf(0).RxFrames >= 2); // ARP request + echo request
        Assert.True(rig.Engine.PortCountersOf(0).TxFrames >= 3); // gratuitous ARP, ARP reply, echo reply
        Assert.Equal(rig.Interface.Counters.TxFrames, rig.Engine.PortCountersOf(0).TxFrames);
    }

    [Fact]
    public void A_dropping_rx_hook_stops_ping_and_the_drops_are_counted_by_cause_and_by_hook()
    {
        using PipelineRig rig = new();
        Assert.Equal(1, rig.Ping(1));
        HookRunner<DropClass> hook = rig.Engine.RxHooks.Add("drop-icmp", new DropClass(PacketClass.Icmp));

        Assert.Equal(0, rig.Ping(2));
        Assert.Equal(0, rig.Ping(3));
        Assert.Equal(2, rig.Interface.Counters.Drops(DropReason.Filter));
        Assert.Equal(2, hook.Counters[HookVerdict.Drop]);
        Assert.Equal(1, rig.Interface.Counters.IcmpEchoRepliesSent); // the stack never saw them

        Assert.True(rig.Engine.RxHooks.Remove(hook.Id));
        Assert.Equal(1, rig.Ping(4));
    }

    [Fact]
    public void The_echo_responder_answers_in_the_hook_with_a_reply_the_peer_stack_accepts()
    {
        using PipelineRig rig = new();
        HookRunner<IcmpEchoResponder> responder = rig.Engine.RxHooks.Add("echo", new IcmpEchoResponder(PipelineRig.EngineAddress));
        Assert.Equal(1, rig.Ping(1));
        Assert.Equal(1, rig.Ping(2));
        Assert.Equal(2, responder.Counters[HookVerdict.Tx]);
        Assert.Equal(0, rig.Interface.Counters.IcmpEchoRepliesSent); // answered before the stack
        Assert.Equal(0, rig.Peer.Counters.Drops(DropReason.IcmpBadChecksum));
        Assert.Equal(0, rig.Peer.Counters.Drops(DropReason.Ipv4BadChecksum));
        // A request for another address passes to the stack, which answers it.
        rig.Engine.RxHooks.Clear();
        rig.Engine.RxHooks.Add("echo-other", new IcmpEchoResponder(new Ipv4Address(10, 77, 0, 9)));
        Assert.Equal(1, rig.Ping(3));
        Assert.Equal(1, rig.Interface.Counters.IcmpEchoRepliesSent);
    }

    [Fact]
    public void Redirect_sends_out_of_another_port_and_a_port_the_loop_lacks_is_counted()
    {
        using PipelineRig rig = new(secondPort: true);
        Assert.Equal(1, rig.Ping(1)); // resolves ARP first
        rig.Engine.RxHooks.Add("to-port-1", new Ipv4Verdict(HookVerdict.Redirect, port: 1));
        Assert.Equal(0, rig.Ping(2));
        PacketBuffer[] burst = new PacketBuffer[8];
        Assert.Equal(1, rig.SecondPortFarEnd!.ReceiveBurst(burst, rig.Clock.Now));
        Assert.Equal(PacketClass.Classified | PacketClass.Ipv4 | PacketClass.Icmp, burst[0].Classification);
        Assert.Equal(14, burst[0].L3Offset);
        Assert.Equal(34, burst[0].L4Offset);
        burst[0].Free();

        rig.Engine.RxHooks.Clear();
        rig.Engine.RxHooks.Add("to-port-7", new Ipv4Verdict(HookVerdict.Redirect, port: 7));
        Assert.Equal(0, rig.Ping(3));
        Assert.Equal(1, rig.Interface.Counters.Drops(DropReason.RedirectInvalid));
    }

    [Fact]
    public void Abort_is_counted_as_an_error_and_an_undefined_verdict_is_an_abort()
    {
        using PipelineRig rig = new();
        Assert.Equal(1, rig.Ping(1));
        HookRunner<Ipv4Verdict> aborting = rig.Engine.RxHooks.Add("abort", new Ipv4Verdict(HookVerdict.Abort));
        Assert.Equal(0, rig.Ping(2));
        rig.Engine.RxHooks.Remove(aborting.Id);
        HookRunner<Ipv4Verdict> broken = rig.Engine.RxHooks.Add("broken", new Ipv4Verdict((HookVerdict)200));
        Assert.Equal(0, rig.Ping(3));
        Assert.Equal(2, rig.Interface.Counters.Drops(DropReason.HookAborted));
        Assert.Equal(1, broken.Counters[HookVerdict.Abort]);
    }

    [Fact]
    public void Hooks_run_in_priority_order_and_a_frame_leaves_the_chain_at_the_first_verdict_that_is_not_pass()
    {
        using PipelineRig rig = new();
        List<string> log = [];
        rig.Engine.RxHooks.Add("late", new Recorder(log, "late"), priority: 10);
        rig.Engine.RxHooks.Add("early", new Recorder(log, "early"), priority: -5);
        rig.Engine.RxHooks.Add("middle", new Recorder(log, "middle"), priority: 0);
        rig.Engine.RxHooks.Add("middle-2", new Recorder(log, "middle-2"), priority: 0);
        Assert.Equal(["early", "middle", "middle-2", "late"], rig.Engine.RxHooks.Current.Runners.ToArray().Select(r => r.Name));

        // Each hook runs over the whole burst before the next one starts: the log goes hook by hook.
        Assert.Equal(1, rig.Ping(1));
        string[] order = ["early", "middle", "middle-2", "late"];
        List<string> runs = Runs(log);
        Assert.True(runs.Count % 4 == 0 && runs.Select((name, i) => name == order[i % 4]).All(ok => ok), string.Join(",", runs));

        log.Clear();
        rig.Engine.RxHooks.Add("drop", new Ipv4Verdict(HookVerdict.Drop), priority: 5);
        Assert.Equal(0, rig.Ping(2));
        Assert.Equal(["early", "middle", "middle-2"], Runs(log)); // "late" never saw the dropped echo request
        Assert.Equal(1, log.Count(n => n == "early"));

        static List<string> Runs(List<string> log) => log.Where((name, i) => i == 0 || log[i - 1] != name).ToList();
    }

    [Fact]
    public void A_tx_hook_sees_the_stacks_output_classified_and_can_drop_it()
    {
        using PipelineRig rig = new();
        Assert.Equal(1, rig.Ping(1));
        HookRunner<DropClass> hook = rig.Engine.TxHooks.Add("no-icmp-out", new DropClass(PacketClass.Icmp));
        Assert.Equal(0, rig.Ping(2));
        Assert.Equal(2, rig.Interface.Counters.IcmpEchoRepliesSent); // the stack answered both; the TX hook dropped the second
        Assert.Equal(1, hook.Counters[HookVerdict.Drop]);
        Assert.Equal(1, rig.Interface.Counters.Drops(DropReason.Filter));
    }

    [Fact]
    public void A_tx_hook_redirecting_to_the_port_a_frame_is_leaving_by_passes_it_and_one_to_a_missing_port_is_invalid()
    {
        using PipelineRig rig = new();
        Assert.Equal(1, rig.Ping(1));
        HookRunner<Ipv4Verdict> own = rig.Engine.TxHooks.Add("to-port-0", new Ipv4Verdict(HookVerdict.Redirect, port: 0));
        Assert.Equal(1, rig.Ping(2)); // the reply still leaves by port 0: a redirect to where it goes anyway is a pass
        Assert.Equal(1, own.Counters[HookVerdict.Redirect]);
        Assert.Equal(0, rig.Interface.Counters.Drops(DropReason.Filter));
        Assert.True(rig.Engine.TxHooks.Remove(own.Id));

        rig.Engine.TxHooks.Add("to-port-7", new Ipv4Verdict(HookVerdict.Redirect, port: 7));
        Assert.Equal(0, rig.Ping(3));
        Assert.Equal(1, rig.Interface.Counters.Drops(DropReason.RedirectInvalid));
    }

    private sealed class TimedStage(Instant due) : IEngineStage
    {
        public int Runs;
        public bool Run(Instant now)
        {
            Runs++;
            return false;
        }

        public Instant PollAt(Instant now) => due;
    }

    [Fact]
    public void The_next_poll_is_the_earliest_deadline_of_every_stage_and_now_while_a_port_holds_frames()
    {
        using PipelineRig rig = new();
        TimedStage stage = new(Instant.FromMillis(250));
        rig.Engine.AddStage(stage);
        Assert.Equal(rig.Clock.Now, rig.Engine.NextPollAt(rig.Clock.Now)); // the stack has not announced itself yet
        rig.Engine.RunOnce();
        Assert.Equal(1, stage.Runs);
        Assert.Equal(Instant.FromMillis(250), rig.Engine.NextPollAt(rig.Clock.Now));
        rig.Clock.AdvanceTo(Instant.FromMillis(300));
        Assert.Equal(rig.Clock.Now, rig.Engine.NextPollAt(rig.Clock.Now)); // overdue: at once

        // A port holding frames the device refused must be flushed at once.
        Assert.True(rig.Pool.TryAllocate(out PacketBuffer? frame));
        frame.TryAppend(60);
        Assert.True(rig.Engine.PortOutput(0).TryAdd(frame));
        Assert.Equal(rig.Clock.Now, rig.Engine.NextPollAt(rig.Clock.Now));
        rig.Engine.RunOnce();
        Assert.Equal(0, rig.Engine.PortOutput(0).Count);
    }

    [Fact]
    public void A_consumer_other_than_the_stack_takes_every_frame_and_the_stack_sends_nothing()
    {
        CountingConsumer consumer = new();
        using PipelineRig rig = new(consumer: consumer);
        Assert.Equal(0, rig.Ping(1));
        Assert.True(consumer.Frames >= 1); // the peer's ARP requests
        Assert.Equal(0, rig.Interface.Counters.TxFrames); // not even a gratuitous ARP
        Assert.Equal(0, rig.Interface.Counters.RxFrames);
    }

    private sealed class CountingConsumer : IPacketConsumer
    {
        public long Frames;

        public void Receive(Instant now, Span<PacketBuffer> burst, TxBuffer output)
        {
            foreach (PacketBuffer frame in burst)
            {
                Frames++;
                frame.Free();
            }
        }
    }

    [Fact]
    public void Hooks_change_while_the_engine_thread_runs_without_losing_a_frame()
    {
        using PipelineRig rig = new();
        rig.Engine.Start();
        // The peer is driven from this thread on the real clock from now on; the engine's loop uses the manual clock,
        // which the timers of this test do not need.
        long start = Environment.TickCount64;
        int replies = 0;
        HookRunner<DropClass>? hook = null;
        for (ushort seq = 1; seq <= 40; seq++)
        {
            if (seq % 10 == 5)
            {
                hook = rig.Engine.RxHooks.Add("drop-icmp", new DropClass(PacketClass.Icmp));
            }
            else if (seq % 10 == 0 && hook is not null)
            {
                rig.Engine.RxHooks.Remove(hook.Id);
                hook = null;
            }
            rig.Peer.SendEchoRequest(rig.Clock.Now, PipelineRig.EngineAddress, 1, seq, 16);
            bool dropped = hook is not null;
            long dropsBefore = rig.Interface.Counters.Drops(DropReason.Filter);
            bool got = false;
            bool handled = false;
            for (int spin = 0; spin < 2000 && !handled; spin++)
            {
                rig.Peer.Poll(rig.Clock.Now, rig.PeerDevice);
                if (rig.Peer.TryReceiveEchoReply(out Interface.EchoReply reply))
                {
                    Assert.Equal(seq, reply.Sequence);
                    got = true;
                }
                // A dropped request is handled once the engine counted it; only then may the chain change again.
                handled = got || rig.Interface.Counters.Drops(DropReason.Filter) > dropsBefore;
                Thread.Sleep(1);
            }
            Assert.True(handled, $"echo {seq}: neither answered nor dropped");
            Assert.True(got != dropped, $"echo {seq}: {(dropped ? "answered although a hook dropped it" : "dropped with no hook")}");
            replies += got ? 1 : 0;
            Assert.True(Environment.TickCount64 - start < 60_000, "the engine did not answer in time");
        }
        Assert.Equal(rig.Interface.Counters.Drops(DropReason.Filter), 40 - replies);
    }
}

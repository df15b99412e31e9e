using System.Diagnostics.Metrics;
using System.Text.Json;
using Skiff.Engine.Metrics;
using Skiff.Hooks;
using Skiff.Wire;

namespace Skiff.Engine.Tests.Pipeline;

/// <summary>Each hook's verdict counts reach the published snapshot, its JSON (skiff stats) and the Skiff meter.</summary>
public sealed class HookMetricsTests
{
    private readonly struct DropIcmp : IPacketHook
    {
        public HookVerdict Process(PacketBuffer frame, ref HookContext context) =>
            (frame.Classification & PacketClass.Icmp) != 0 ? HookVerdict.Drop : HookVerdict.Pass;
    }

    [Fact]
    public void Hook_verdicts_are_published_written_as_json_and_observed_by_the_meter()
    {
        using PipelineRig rig = new();
        rig.Engine.RxHooks.Add("metrics-drop-icmp", new DropIcmp());
        rig.Engine.TxHooks.Add("echo-out", new IcmpEchoResponder(new Ipv4Address(192, 0, 2, 9))); // passes everything it sees
        Assert.Equal(0, rig.Ping(1));
        Assert.Equal(0, rig.Ping(2));
        rig.Engine.Metrics.PublishNow(rig.Clock.Now);

        SkiffMetricsSnapshot snapshot = rig.Engine.Metrics.Read();
        HookStatistics[] hooks = snapshot.Hooks.ToArray();
        Assert.Equal(2, hooks.Length);
        Assert.Equal(("rx", "metrics-drop-icmp", 2L), (hooks[0].Point, hooks[0].Name, hooks[0].Drop));
        Assert.True(hooks[0].Pass >= 1); // the peer's ARP request
        Assert.Equal(("tx", "echo-out", 0L), (hooks[1].Point, hooks[1].Name, hooks[1].Drop));
        Assert.True(hooks[1].Pass >= 2); // the gratuitous ARP and the ARP reply
        Assert.Equal(2, snapshot.Drops(Stack.DropReason.Filter));

        using MemoryStream json = new();
        using (Utf8JsonWriter writer = new(json))
        {
            snapshot.WriteJson(writer);
        }
        using JsonDocument document = JsonDocument.Parse(json.ToArray());
        Assert.Equal(hooks, SkiffMetricsSnapshot.ReadJson(document.RootElement)!.Hooks.ToArray());

        SkiffMetrics.Register(rig.Engine.Metrics);
        try
        {
            Dictionary<string, long> seen = [];
            using MeterListener listener = new();
            listener.InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == SkiffMetrics.MeterName && instrument.Name == SkiffMetrics.HookVerdicts)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            };
            listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                Dictionary<string, object?> t = [];
                foreach (KeyValuePair<string, object?> tag in tags)
                {
                    t[tag.Key] = tag.Value;
                }
                if (Equals(t[SkiffMetrics.QueueTag], rig.Engine.Options.Queue) && Equals(t[SkiffMetrics.AddressTag], PipelineRig.EngineAddress.ToString()))
                {
                    seen[$"{t[SkiffMetrics.HookPointTag]}/{t[SkiffMetrics.HookNameTag]}/{t[SkiffMetrics.HookVerdictTag]}"] = value;
                }
            });
            listener.Start();
            listener.RecordObservableInstruments();
            Assert.Equal(2, seen["rx/metrics-drop-icmp/drop"]);
            Assert.Equal(hooks[1].Pass, seen["tx/echo-out/pass"]);
            Assert.Equal(0, seen["tx/echo-out/abort"]);
        }
        finally
        {
            SkiffMetrics.Unregister(rig.Engine.Metrics);
        }
    }
}

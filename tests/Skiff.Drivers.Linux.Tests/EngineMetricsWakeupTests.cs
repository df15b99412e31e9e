using System.Diagnostics;
using Skiff.Engine;
using Skiff.Wire;

namespace Skiff.Drivers.Linux.Tests;

/// <summary>
/// A reader's <see cref="Skiff.Engine.Metrics.SkiffMetricsPublisher.Refresh"/> wakes an engine that is blocked in poll(2)
/// on its device. The block is set to 10 s, so fresh snapshots within a second can only come from that wake-up.
/// </summary>
public sealed class EngineMetricsWakeupTests
{
    [PrivilegedFact("ip")]
    public async Task Refresh_wakes_an_idle_engine_blocked_on_its_device()
    {
        using NetnsPair pair = new(kernelAddressesOnA: false);
        IDevice device = NamespaceThread.Run(pair.NamespaceA, () => new AfPacketDevice(new AfPacketOptions { InterfaceName = pair.LinkA }));
        try
        {
            SkiffStack stack = SkiffStack.CreateBuilder(new SkiffStackOptions
            {
                Mac = new MacAddress(0x02_00_00_99_00_02UL),
                Addresses = [new Ipv4Cidr(Ipv4Address.Parse(pair.Ipv4A), 24)],
                Engine = new SkiffEngineOptions { Idle = new SkiffIdlePolicy { BlockMicros = 10_000_000 } },
            }).UseDevice(device).Build();
            await using (stack)
            {
                await Task.Delay(1500); // gratuitous ARP and the kernel's chatter on link up, then the loop blocks
                for (int i = 0; i < 3; i++)
                {
                    long sequence = stack.Engine.Metrics.Sequence;
                    Stopwatch watch = Stopwatch.StartNew();
                    Assert.True(stack.Engine.Metrics.Refresh(TimeSpan.FromSeconds(5)), "the blocked loop did not publish on request");
                    Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1), $"a refresh of a blocked loop took {watch.Elapsed.TotalMilliseconds:0} ms");
                    Assert.True(stack.Engine.Metrics.Sequence > sequence);
                    await Task.Delay(300); // blocked again
                }
                Assert.Null(stack.Engine.Failure);
            }
        }
        finally
        {
            (device as IDisposable)?.Dispose();
        }
    }
}

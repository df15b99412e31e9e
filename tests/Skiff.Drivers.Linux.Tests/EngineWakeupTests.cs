using System.Net;
using Skiff.Engine;
using Skiff.Wire;

namespace Skiff.Drivers.Linux.Tests;

/// <summary>
/// An idle engine over a real driver blocks in poll(2) on the device's descriptor: it burns no core, and a frame
/// arriving wakes it at once. The block is set to 10 s here, so an answer within ping's 5 s deadline can only come
/// from the device waking the loop, and a loop that spun or woke on a timer would count hundreds of iterations.
/// The class runs alone: anything else in the process that wakes engines (a metrics refresh wakes every engine it
/// reads) would add wake-ups to the count.
/// </summary>
[Collection(nameof(EngineWakeupTests))]
[CollectionDefinition(nameof(EngineWakeupTests), DisableParallelization = true)]
public sealed class EngineWakeupTests
{
    [PrivilegedFact("ip", "ping", "ethtool")]
    public Task AfPacketWakesAnIdleEngine() => IdleEngineIsWokenByTheDevice(pair => new AfPacketDevice(new AfPacketOptions { InterfaceName = pair.LinkA }));

    [PrivilegedFact("ip", "ping", "ethtool")]
    public Task AfXdpWakesAnIdleEngine() => IdleEngineIsWokenByTheDevice(pair => new AfXdpDevice(new AfXdpOptions
    {
        InterfaceName = pair.LinkA,
        SteerAddresses = [IPAddress.Parse(pair.Ipv4A)],
    }));

    private static async Task IdleEngineIsWokenByTheDevice(Func<NetnsPair, IDevice> open)
    {
        using NetnsPair pair = new(kernelAddressesOnA: false);
        ExternalTools.Check("ip", NetnsPair.In(pair.NamespaceB, ExternalTools.Require("ethtool"), "-K", pair.LinkB, "tx", "off"));
        IDevice device = NamespaceThread.Run(pair.NamespaceA, () => open(pair));
        try
        {
            SkiffStack stack = SkiffStack.CreateBuilder(new SkiffStackOptions
            {
                Mac = new MacAddress(0x02_00_00_99_00_01UL),
                Addresses = [new Ipv4Cidr(Ipv4Address.Parse(pair.Ipv4A), 24)],
                Engine = new SkiffEngineOptions { Idle = new SkiffIdlePolicy { BlockMicros = 10_000_000 } },
            }).UseDevice(device).Build();
            await using (stack)
            {
                // Let the loop settle (gratuitous ARP, the kernel's IPv6 chatter on link up), then watch it idle.
                await Task.Delay(1500);
                long iterations = stack.Engine.Iterations, parksBefore = stack.Engine.Parks;
                await Task.Delay(1000);
                long idleIterations = stack.Engine.Iterations - iterations, idleParks = stack.Engine.Parks - parksBefore;
                // A busy-polling loop makes millions of iterations a second and a loop sleeping on a 1 ms timer about a
                // thousand parks; a blocked one wakes only for frames (the kernel's IPv6 chatter reaches AF_PACKET), each
                // wake-up followed by the idle policy's 128 spins and yields.
                Assert.True(idleParks < 50 && idleIterations < 5000,
                    $"{idleIterations} loop iterations and {idleParks} parks in one idle second: the loop is not blocking on the device.");

                long parks = stack.Engine.Parks;
                string ping = ExternalTools.Require("ping");
                ExternalTools.Result result = await Task.Run(() => ExternalTools.Run("ip", NetnsPair.In(pair.NamespaceB, ping, "-c", "3", "-i", "0.5", "-W", "5", pair.Ipv4A)));
                Assert.True(result.ExitCode == 0, $"The kernel's ping of an idle Skiff failed: {result.Output}{result.Error}");
                Assert.Contains(" 3 received", result.Output);
                Assert.True(stack.Engine.Parks > parks, "The loop never blocked between the pings.");
                Assert.Null(stack.Engine.Failure);
            }
        }
        finally
        {
            (device as IDisposable)?.Dispose();
        }
    }
}

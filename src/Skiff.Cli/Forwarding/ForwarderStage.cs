using Skiff.Engine;
using Skiff.Forwarding;

namespace Skiff.Cli.Forwarding;

/// <summary>The l3 forwarder's egress step as an engine stage: its ports' interfaces send due ARP requests and retries.</summary>
internal sealed class ForwarderStage(Forwarder forwarder) : IEngineStage
{
    public bool Run(Instant now) => forwarder.Transmit(now);

    public Instant PollAt(Instant now) => forwarder.PollAt(now);
}

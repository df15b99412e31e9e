using Skiff.Engine;

namespace Skiff.Cli.Serve;

/// <summary><see cref="ServeApp"/> as an engine stage: serves after every iteration of its core's loop, and at least every 100 ms for its idle timeouts.</summary>
internal sealed class ServeStage(ServeApp app) : IEngineStage
{
    private static readonly Duration IdleCheck = Duration.FromMillis(100);

    public bool Run(Instant now) => app.Service(now);

    public Instant PollAt(Instant now) => app.ActiveConnections > 0 ? now + IdleCheck : Instant.Never;
}

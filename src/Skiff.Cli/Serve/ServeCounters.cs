namespace Skiff.Cli.Serve;

/// <summary>What <see cref="ServeApp"/> did. Written by the poll thread only; read them from it, or after it stopped.</summary>
internal sealed class ServeCounters
{
    public long ConnectionsAccepted;
    public long ConnectionsRefused;
    public long ConnectionsTimedOut;
    public long EchoBytes;
    public long DiscardBytes;
    public long UdpEchoDatagrams;
    public long UdpEchoRefused;
    public long HttpRequests;
    public long HttpResponses2xx;
    public long HttpResponses4xx;
    public long HttpResponses5xx;
    public long HttpBodyBytes;
}

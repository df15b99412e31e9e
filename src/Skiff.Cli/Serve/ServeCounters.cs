namespace Skiff.Cli.Serve;

/// <summary>What <see cref="ServeApp"/> did. Written by the poll thread only; read them from it, or after it stopped.</summary>
internal sealed class ServeCounters
{
    public long ConnectionsAccepted;
    public long ConnectionsRefused;
    public long ConnectionsTimedOut;
    public long HeaderTimeouts;
    public long ConnectionsEvicted;
    public long ConnectionsRefusedPerSource;
    public long EchoBytes;
    public long DiscardBytes;
    public long UdpEchoDatagrams;
    public long UdpEchoRefused;
    public long HttpRequests;
    public long HttpResponses2xx;
    public long HttpResponses4xx;
    public long HttpResponses5xx;
    public long HttpBodyBytes;

    /// <summary>The counters of several cores' apps added up.</summary>
    public static ServeCounters Sum(IEnumerable<ServeCounters> all)
    {
        ServeCounters sum = new();
        foreach (ServeCounters c in all)
        {
            sum.ConnectionsAccepted += c.ConnectionsAccepted;
            sum.ConnectionsRefused += c.ConnectionsRefused;
            sum.ConnectionsTimedOut += c.ConnectionsTimedOut;
            sum.HeaderTimeouts += c.HeaderTimeouts;
            sum.ConnectionsEvicted += c.ConnectionsEvicted;
            sum.ConnectionsRefusedPerSource += c.ConnectionsRefusedPerSource;
            sum.EchoBytes += c.EchoBytes;
            sum.DiscardBytes += c.DiscardBytes;
            sum.UdpEchoDatagrams += c.UdpEchoDatagrams;
            sum.UdpEchoRefused += c.UdpEchoRefused;
            sum.HttpRequests += c.HttpRequests;
            sum.HttpResponses2xx += c.HttpResponses2xx;
            sum.HttpResponses4xx += c.HttpResponses4xx;
            sum.HttpResponses5xx += c.HttpResponses5xx;
            sum.HttpBodyBytes += c.HttpBodyBytes;
        }
        return sum;
    }
}

namespace Skiff.TestSupport;

/// <summary>
/// Two network namespaces joined by a veth pair, created by the test and removed on dispose (even after a failure).
/// Names are unique (skiff-t-&lt;random&gt;), so parallel runs and the host's own interfaces are never touched.
/// A: 10.99.N.1/24 and fd00:99::1/64 on <see cref="LinkA"/>; B: 10.99.N.2/24 and fd00:99::2/64 on <see cref="LinkB"/>.
/// With <c>kernelAddressesOnA: false</c> end A is up but has no kernel address: a Skiff stack owns
/// <see cref="Ipv4A"/> there (through a driver opened inside <see cref="NamespaceA"/>) and the kernel on B is its peer.
/// </summary>
public sealed class NetnsPair : IDisposable
{
    /// <param name="kernelAddressesOnA">False: end A gets no kernel address (a Skiff stack owns <see cref="Ipv4A"/>).</param>
    /// <param name="queues">Receive and transmit queues of each veth end (veth delivers on the peer's queue with the
    /// sender's transmit queue's number, which the kernel picks per flow by hash).</param>
    public NetnsPair(bool kernelAddressesOnA = true, int queues = 1)
    {
        string id = Convert.ToHexStringLower(BitConverter.GetBytes(Random.Shared.Next()))[..6];
        int subnet = Random.Shared.Next(1, 255);
        NamespaceA = $"skiff-t-{id}-a";
        NamespaceB = $"skiff-t-{id}-b";
        LinkA = $"sk{id}a";
        LinkB = $"sk{id}b";
        Ipv4A = $"10.99.{subnet}.1";
        Ipv4B = $"10.99.{subnet}.2";
        try
        {
            ExternalTools.Check("ip", "netns", "add", NamespaceA);
            ExternalTools.Check("ip", "netns", "add", NamespaceB);
            string q = queues.ToString(System.Globalization.CultureInfo.InvariantCulture);
            ExternalTools.Check("ip", "link", "add", LinkA, "netns", NamespaceA, "numtxqueues", q, "numrxqueues", q, "type", "veth",
                "peer", "name", LinkB, "netns", NamespaceB, "numtxqueues", q, "numrxqueues", q);
            if (kernelAddressesOnA)
            {
                Configure(NamespaceA, LinkA, Ipv4A, Ipv6A);
            }
            else
            {
                ExternalTools.Check("ip", "-n", NamespaceA, "link", "set", "lo", "up");
                ExternalTools.Check("ip", "-n", NamespaceA, "link", "set", LinkA, "up");
            }
            Configure(NamespaceB, LinkB, Ipv4B, Ipv6B);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string NamespaceA { get; }
    public string NamespaceB { get; }
    public string LinkA { get; }
    public string LinkB { get; }
    public string Ipv4A { get; }
    public string Ipv4B { get; }
    public string Ipv6A => "fd00:99::1";
    public string Ipv6B => "fd00:99::2";

    /// <summary>Arguments that run <paramref name="command"/> inside <paramref name="ns"/>.</summary>
    public static string[] In(string ns, params string[] command) => ["netns", "exec", ns, .. command];

    /// <summary>The MAC address of <paramref name="link"/> in namespace <paramref name="ns"/>, as "aa:bb:cc:dd:ee:ff".</summary>
    public static string MacOf(string ns, string link) => ExternalTools.Check("ip", In(ns, "cat", $"/sys/class/net/{link}/address")).Output.Trim();

    /// <summary><see cref="MacOf"/> as its six bytes.</summary>
    public static byte[] MacBytesOf(string ns, string link) => Convert.FromHexString(MacOf(ns, link).Replace(":", "", StringComparison.Ordinal));

    public void Dispose()
    {
        // Deleting a namespace deletes the veth end inside it, and with it the peer.
        ExternalTools.Run("ip", ["netns", "del", NamespaceA]);
        ExternalTools.Run("ip", ["netns", "del", NamespaceB]);
    }

    private static void Configure(string ns, string link, string ipv4, string ipv6)
    {
        ExternalTools.Check("ip", "-n", ns, "link", "set", "lo", "up");
        ExternalTools.Check("ip", "-n", ns, "addr", "add", $"{ipv4}/24", "dev", link);
        // nodad: usable at once; neighbour discovery (NS/NA) still happens before the first ping.
        ExternalTools.Check("ip", "-n", ns, "addr", "add", $"{ipv6}/64", "dev", link, "nodad");
        ExternalTools.Check("ip", "-n", ns, "link", "set", link, "up");
    }
}

namespace Skiff.TestSupport;

/// <summary>
/// Three network namespaces in a row, kernel A — middle M — kernel B, for a forwarder in M (<c>skiff fwd</c>): with
/// <c>veths: true</c> two veth pairs join A to M (<see cref="LinkA"/>/<see cref="LinkMA"/>) and M to B
/// (<see cref="LinkMB"/>/<see cref="LinkB"/>); with <c>veths: false</c> (TAP) the forwarder creates
/// <see cref="LinkMA"/> and <see cref="LinkMB"/> in M and <see cref="Adopt"/> moves them to A and B. Names are unique
/// (skiff-t-&lt;random&gt;), and every namespace is removed on dispose, even after a failure.
/// </summary>
/// <remarks>
/// Addresses: routed (<see cref="Routed"/>, for an l3 forwarder): A is <see cref="Ipv4A"/> in 10.94.N.0/24 with
/// <see cref="RouterA"/> (.1) as its default gateway, B is <see cref="Ipv4B"/> in 10.93.N.0/24 behind <see cref="RouterB"/>;
/// bridged (for io and mac modes): A and B share 10.92.N.0/24. A's and B's transmit checksum offload is off, so the
/// frames a forwarder passes on carry finished checksums (AF_XDP and AF_PACKET see a veth's unfinished ones as they are).
/// </remarks>
public sealed class ThreeNamespaces : IDisposable
{
    /// <param name="routed">True: A and B on two networks behind a router in M; false: one network across a bridge.</param>
    /// <param name="veths">True: veth pairs A—M and M—B; false: the forwarder's TAP interfaces, adopted with <see cref="Adopt"/>.</param>
    public ThreeNamespaces(bool routed, bool veths = true)
    {
        string id = Convert.ToHexStringLower(BitConverter.GetBytes(Random.Shared.Next()))[..6];
        int n = Random.Shared.Next(1, 255);
        Routed = routed;
        NamespaceA = $"skiff-t-{id}-a";
        NamespaceM = $"skiff-t-{id}-m";
        NamespaceB = $"skiff-t-{id}-b";
        LinkMA = $"sk{id}ma";
        LinkMB = $"sk{id}mb";
        LinkA = veths ? $"sk{id}a" : LinkMA;
        LinkB = veths ? $"sk{id}b" : LinkMB;
        if (routed)
        {
            Ipv4A = $"10.94.{n}.2";
            RouterA = $"10.94.{n}.1";
            Ipv4B = $"10.93.{n}.2";
            RouterB = $"10.93.{n}.1";
        }
        else
        {
            Ipv4A = $"10.92.{n}.1";
            Ipv4B = $"10.92.{n}.2";
            RouterA = RouterB = "";
        }
        try
        {
            foreach (string ns in new[] { NamespaceA, NamespaceM, NamespaceB })
            {
                ExternalTools.Check("ip", "netns", "add", ns);
                ExternalTools.Check("ip", "-n", ns, "link", "set", "lo", "up");
            }
            if (veths)
            {
                ExternalTools.Check("ip", "link", "add", LinkA, "netns", NamespaceA, "type", "veth", "peer", "name", LinkMA, "netns", NamespaceM);
                ExternalTools.Check("ip", "link", "add", LinkB, "netns", NamespaceB, "type", "veth", "peer", "name", LinkMB, "netns", NamespaceM);
                ExternalTools.Check("ip", "-n", NamespaceM, "link", "set", LinkMA, "up");
                ExternalTools.Check("ip", "-n", NamespaceM, "link", "set", LinkMB, "up");
                Configure(NamespaceA, LinkA, Ipv4A, RouterA);
                Configure(NamespaceB, LinkB, Ipv4B, RouterB);
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public bool Routed { get; }
    public string NamespaceA { get; }
    public string NamespaceM { get; }
    public string NamespaceB { get; }

    /// <summary>A's link (for TAP the forwarder's <see cref="LinkMA"/>, once adopted).</summary>
    public string LinkA { get; }

    /// <summary>The forwarder's port towards A, in M.</summary>
    public string LinkMA { get; }

    /// <summary>The forwarder's port towards B, in M.</summary>
    public string LinkMB { get; }

    /// <summary>B's link (for TAP the forwarder's <see cref="LinkMB"/>, once adopted).</summary>
    public string LinkB { get; }

    public string Ipv4A { get; }
    public string Ipv4B { get; }

    /// <summary>Routed: the forwarder's address towards A (A's default gateway); empty when bridged.</summary>
    public string RouterA { get; }

    /// <summary>Routed: the forwarder's address towards B (B's default gateway); empty when bridged.</summary>
    public string RouterB { get; }

    /// <summary>The prefix length of both networks.</summary>
    public static int PrefixLength => 24;

    /// <summary>
    /// TAP: moves the forwarder's interfaces from M to A and B and configures them as A's and B's links. False while
    /// the forwarder has not created them yet (call again).
    /// </summary>
    /// <param name="macA">A's link's MAC to set (the forwarder's --peer-mac in mac mode), or null to keep the kernel's.</param>
    /// <param name="macB">B's, likewise.</param>
    public bool Adopt(string? macA = null, string? macB = null)
    {
        if (ExternalTools.Run("ip", ["-n", NamespaceM, "link", "show", LinkMA]).ExitCode != 0
            || ExternalTools.Run("ip", ["-n", NamespaceM, "link", "show", LinkMB]).ExitCode != 0)
        {
            return false;
        }
        ExternalTools.Check("ip", "-n", NamespaceM, "link", "set", LinkMA, "netns", NamespaceA);
        ExternalTools.Check("ip", "-n", NamespaceM, "link", "set", LinkMB, "netns", NamespaceB);
        if (macA is not null)
        {
            ExternalTools.Check("ip", "-n", NamespaceA, "link", "set", LinkA, "address", macA);
        }
        if (macB is not null)
        {
            ExternalTools.Check("ip", "-n", NamespaceB, "link", "set", LinkB, "address", macB);
        }
        Configure(NamespaceA, LinkA, Ipv4A, RouterA);
        Configure(NamespaceB, LinkB, Ipv4B, RouterB);
        return true;
    }

    /// <summary>The MAC address of <paramref name="link"/> in <paramref name="ns"/>.</summary>
    public static string MacOf(string ns, string link) => NetnsPair.MacOf(ns, link);

    public void Dispose()
    {
        foreach (string ns in new[] { NamespaceA, NamespaceM, NamespaceB })
        {
            ExternalTools.Run("ip", ["netns", "del", ns]);
        }
    }

    private static void Configure(string ns, string link, string ipv4, string gateway)
    {
        ExternalTools.Check("ip", "-n", ns, "addr", "add", $"{ipv4}/{PrefixLength}", "dev", link);
        ExternalTools.Check("ip", "-n", ns, "link", "set", link, "up");
        ExternalTools.Check("ip", NetnsPair.In(ns, "ethtool", "-K", link, "tx", "off"));
        if (gateway.Length > 0)
        {
            ExternalTools.Check("ip", "-n", ns, "route", "add", "default", "via", gateway);
        }
    }
}

using System.Diagnostics;

namespace Samples.LoadBalancer.Tests;

/// <summary>
/// The end-to-end topology, one network across a bridge: a client namespace, the load balancer's namespace (its link has
/// no kernel address: Skiff owns <see cref="LbAddress"/> and the VIP there) and three backend namespaces, each with the VIP
/// on its loopback (arp_ignore=1, as DSR and tunnel backends are set up) and a kernel HTTP server and UDP echo. This kernel
/// has no IP-in-IP module (CONFIG_NET_IPIP is not set), so each backend decapsulates with a raw-socket shim (protocol 4 in,
/// the inner packet re-injected): the kernel then checks the outer header's checksum and the inner packet's, and answers
/// the client directly. Names are random; every namespace is removed on dispose.
/// </summary>
internal sealed class LbTopology : IDisposable
{
    private readonly List<Process> _processes = [];
    private readonly Process?[] _http = new Process?[3];
    private readonly string _dir;

    public LbTopology()
    {
        string id = Convert.ToHexStringLower(BitConverter.GetBytes(Random.Shared.Next()))[..6];
        int n = Random.Shared.Next(1, 255);
        Switch = $"skiff-t-{id}-sw";
        Lb = $"skiff-t-{id}-lb";
        Client = $"skiff-t-{id}-cl";
        Backends = [.. Enumerable.Range(1, 3).Select(i => $"skiff-t-{id}-b{i}")];
        LbLink = $"sk{id}l";
        ClientLink = $"sk{id}c";
        BackendLinks = [.. Enumerable.Range(1, 3).Select(i => $"sk{id}b{i}")];
        LbAddress = $"10.91.{n}.2";
        ClientAddress = $"10.91.{n}.50";
        Vip = $"10.91.{n}.100";
        BackendAddresses = [.. Enumerable.Range(1, 3).Select(i => $"10.91.{n}.{10 + i}")];
        _dir = Directory.CreateTempSubdirectory("skiff-lb-").FullName;
        try
        {
            foreach (string ns in new[] { Switch, Lb, Client }.Concat(Backends))
            {
                ExternalTools.Check("ip", "netns", "add", ns);
                ExternalTools.Check("ip", "-n", ns, "link", "set", "lo", "up");
            }
            ExternalTools.Check("ip", "-n", Switch, "link", "add", "br0", "type", "bridge");
            ExternalTools.Check("ip", "-n", Switch, "link", "set", "br0", "up");
            Plug(Lb, LbLink, $"sk{id}L");
            Plug(Client, ClientLink, $"sk{id}C");
            for (int i = 0; i < 3; i++)
            {
                Plug(Backends[i], BackendLinks[i], $"sk{id}B{i + 1}");
            }
            ExternalTools.Check("ip", "-n", Lb, "link", "set", LbLink, "up");
            // The client: its checksums finished in software (AF_XDP and AF_PACKET see a veth's offloaded ones unfinished),
            // and a route MTU that leaves room for the 20-byte outer header (its TCP MSS follows).
            Address(Client, ClientLink, ClientAddress);
            ExternalTools.Check("ip", "-n", Client, "route", "add", $"{Vip}/32", "dev", ClientLink, "mtu", "1400");
            for (int i = 0; i < 3; i++)
            {
                string ns = Backends[i];
                Address(ns, BackendLinks[i], BackendAddresses[i]);
                ExternalTools.Check("ip", "-n", ns, "addr", "add", $"{Vip}/32", "dev", "lo");
                foreach (string sysctl in new[] { "net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2", "net.ipv4.conf.all.rp_filter=0",
                    "net.ipv4.conf.lo.rp_filter=0", $"net.ipv4.conf.{BackendLinks[i]}.rp_filter=0" })
                {
                    ExternalTools.Check("ip", "netns", "exec", ns, "sysctl", "-q", "-w", sysctl);
                }
                string www = Path.Combine(_dir, $"www{i + 1}");
                Directory.CreateDirectory(www);
                File.WriteAllText(Path.Combine(www, "id"), $"be{i + 1}");
                StartHttp(i);
                Spawn(ns, $"exec /usr/bin/python3 -c {Quote(UdpEcho)} {Vip} be{i + 1}");
                Spawn(ns, $"exec /usr/bin/python3 -c {Quote(IpipDecap)}");
            }
            // Ready before the test starts: an ICMP health check would bring a backend up before its servers listen.
            for (int i = 0; i < 3; i++)
            {
                WaitForSockets(Backends[i], tcp: true);
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string Switch { get; }
    public string Lb { get; }
    public string Client { get; }
    public string[] Backends { get; }
    public string LbLink { get; }
    public string ClientLink { get; }
    public string[] BackendLinks { get; }
    public string LbAddress { get; }
    public string ClientAddress { get; }
    public string Vip { get; }
    public string[] BackendAddresses { get; }

    /// <summary>Stops backend <paramref name="i"/>'s HTTP server (its health check then fails: connection refused).</summary>
    public void StopHttp(int i)
    {
        _http[i]?.Kill(entireProcessTree: true);
        _http[i]?.WaitForExit(5000);
        _http[i] = null;
    }

    /// <summary>Starts backend <paramref name="i"/>'s HTTP server on port 80, serving /id = "be{i+1}".</summary>
    public void StartHttp(int i) =>
        _http[i] = Spawn(Backends[i], $"exec /usr/bin/python3 -m http.server 80 --bind 0.0.0.0 --directory {Path.Combine(_dir, $"www{i + 1}")}");

    /// <summary>Waits (up to 20 s) until the backend's HTTP server (when <paramref name="tcp"/>), UDP echo and decapsulation shim have their sockets.</summary>
    public static void WaitForSockets(string ns, bool tcp)
    {
        Stopwatch clock = Stopwatch.StartNew();
        while (true)
        {
            bool http = !tcp || ExternalTools.Run("ip", ["netns", "exec", ns, "ss", "-Hltn", "sport = :80"]).Output.Trim().Length > 0;
            bool udp = ExternalTools.Run("ip", ["netns", "exec", ns, "ss", "-Hlun", "sport = :80"]).Output.Trim().Length > 0;
            bool raw = ExternalTools.Run("ip", ["netns", "exec", ns, "ss", "-Hwan"]).Output.Trim().Length > 0;
            if (http && udp && raw)
            {
                return;
            }
            if (clock.Elapsed > TimeSpan.FromSeconds(20))
            {
                throw new TimeoutException($"The servers in {ns} did not open their sockets within 20 s (http {http}, udp {udp}, raw {raw}).");
            }
            Thread.Sleep(50);
        }
    }

    /// <summary>Fetches http://VIP/id <paramref name="count"/> times from the client, each over a new connection: the backends' names (or "fail").</summary>
    public string[] Curl(int count)
    {
        List<string> args = ["netns", "exec", Client, "curl", "-s", "-m", "5", "-w", "\\n"];
        for (int i = 0; i < count; i++)
        {
            args.Add($"http://{Vip}/id");
        }
        ExternalTools.Result r = ExternalTools.Run("ip", args, timeoutSeconds: 60);
        string[] lines = r.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return [.. lines, .. Enumerable.Repeat("fail", Math.Max(0, count - lines.Length))];
    }

    /// <summary>Sends one UDP datagram to VIP:80 from each of <paramref name="count"/> client sockets: the names that answered (or "fail").</summary>
    public string[] Udp(int count)
    {
        ExternalTools.Result r = ExternalTools.Run("ip", ["netns", "exec", Client, "/usr/bin/python3", "-c", UdpClient, Vip, count.ToString(System.Globalization.CultureInfo.InvariantCulture)], timeoutSeconds: 60);
        return r.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    public void Dispose()
    {
        foreach (Process p in _processes)
        {
            try
            {
                p.Kill(entireProcessTree: true);
                p.WaitForExit(2000);
            }
            catch (InvalidOperationException)
            {
            }
            p.Dispose();
        }
        foreach (string ns in new[] { Switch, Lb, Client }.Concat(Backends))
        {
            ExternalTools.Run("ip", ["netns", "del", ns]);
        }
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private void Plug(string ns, string link, string port)
    {
        ExternalTools.Check("ip", "link", "add", link, "netns", ns, "type", "veth", "peer", "name", port, "netns", Switch);
        ExternalTools.Check("ip", "-n", Switch, "link", "set", port, "master", "br0");
        ExternalTools.Check("ip", "-n", Switch, "link", "set", port, "up");
        // Frames from every namespace carry finished checksums: Skiff sees the backends' health-check replies too.
        ExternalTools.Check("ip", NetnsPair.In(ns, "ethtool", "-K", link, "tx", "off"));
    }

    private static void Address(string ns, string link, string address)
    {
        ExternalTools.Check("ip", "-n", ns, "addr", "add", $"{address}/24", "dev", link);
        ExternalTools.Check("ip", "-n", ns, "link", "set", link, "up");
    }

    private Process Spawn(string ns, string shell)
    {
        // Output to /dev/null: the servers log every request, and nobody reads their pipes.
        Process p = ExternalTools.Start("ip", ["netns", "exec", ns, "sh", "-c", $"{shell} >/dev/null 2>&1"]);
        _processes.Add(p);
        return p;
    }

    private static string Quote(string script) => "'" + script.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    /// <summary>Answers each datagram to VIP:80 with the backend's name, from the VIP (bound to it, so the client accepts it).</summary>
    private const string UdpEcho = """
        import socket, sys
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((sys.argv[1], 80))
        while True:
            data, peer = s.recvfrom(2048)
            s.sendto(sys.argv[2].encode(), peer)
        """;

    /// <summary>IP-in-IP decapsulation without the ipip module: protocol-4 packets in, their inner packet re-injected (raw, header included).</summary>
    private const string IpipDecap = """
        import socket
        r = socket.socket(socket.AF_INET, socket.SOCK_RAW, 4)
        w = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        while True:
            packet = r.recv(65535)
            inner = packet[(packet[0] & 15) * 4:]
            if len(inner) >= 20 and inner[0] >> 4 == 4:
                w.sendto(inner, (socket.inet_ntoa(inner[16:20]), 0))
        """;

    /// <summary>count sockets, one datagram each to VIP:80, one line per answer (the backend's name, or "fail" after 2 s).</summary>
    private const string UdpClient = """
        import socket, sys
        socks = []
        for i in range(int(sys.argv[2])):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.settimeout(2)
            s.connect((sys.argv[1], 80))
            s.send(b"ping")
            socks.append(s)
        for s in socks:
            try:
                print(s.recv(100).decode())
            except OSError:
                print("fail")
        """;
}

using System.Security.Cryptography;
using Skiff.Drivers.Linux.Tests.Support;
using Skiff.Stack;
using Skiff.Stack.Arp;
using Skiff.Stack.Tcp;
using Skiff.Stack.Udp;
using Skiff.Wire;

namespace Skiff.Drivers.Linux.Tests;

/// <summary>
/// The interop suite every driver runs (TESTING.md, layer 3): a Skiff stack over the driver owns an address, the
/// Linux kernel is its peer, and they talk ICMP, ARP, UDP, TCP and IPv4 fragments. A driver's test class derives
/// from this and builds its <see cref="DriverSetup"/> in <see cref="Create"/>; each test creates its own setup and
/// tears it down, so tests are independent and leave no namespace or interface behind.
/// </summary>
public abstract class DriverSuite
{
    /// <summary>Bytes each TCP test moves each way.</summary>
    protected const int TcpTransferBytes = 100 << 20;

    /// <summary>Percent of frames nftables drops each way in the impaired TCP tests.</summary>
    protected const int LossPercent = 5;

    /// <summary>Percent of the kernel's frames nftables sends twice in the impaired TCP tests.</summary>
    protected const int DuplicatePercent = 2;

    /// <summary>Bound on one 100 MiB transfer (each way) and on its close; a healthy run takes seconds.</summary>
    private static readonly TimeSpan s_tcpTimeout = TimeSpan.FromSeconds(120);

    /// <summary>Creates the driver, a stack on it and the kernel peer. Called once per test; the test disposes it.</summary>
    protected abstract DriverSetup Create();

    [PrivilegedFact("ip", "ping")]
    public void KernelPingsSkiff()
    {
        using DriverSetup s = Create();

        ExternalTools.Result ping = ExternalTools.Run("ip", s.InPeer(ExternalTools.Require("ping"), "-c", "3", "-i", "0.2", "-W", "2", s.SkiffAddress.ToString()));

        Assert.True(ping.ExitCode == 0, $"The kernel's ping of Skiff failed: {ping.Output}{ping.Error}");
        Assert.Contains(" 3 received", ping.Output);
        Assert.True(s.Runner.Invoke(i => i.Counters.IcmpEchoRepliesSent) >= 3);
        // The kernel learned Skiff's MAC by ARP (Skiff answered its request).
        string neighbour = ExternalTools.Check("ip", "-n", s.PeerNamespace, "neigh", "show", s.SkiffAddress.ToString(), "dev", s.PeerLink).Output;
        Assert.Contains(s.SkiffMac.ToString(), neighbour, StringComparison.OrdinalIgnoreCase);
    }

    [PrivilegedFact("ip")]
    public void SkiffPingsKernel()
    {
        using DriverSetup s = Create();
        MacAddress peerMac = s.PeerMac();
        List<Interface.EchoReply> replies = [];

        for (ushort sequence = 1; sequence <= 3; sequence++)
        {
            ushort seq = sequence;
            Assert.True(s.Runner.Invoke(i => i.SendEchoRequest(s.Runner.Now, s.PeerAddress, 0x5331, seq, 56)));
            Assert.True(s.Runner.WaitUntil(i =>
            {
                while (i.TryReceiveEchoReply(out Interface.EchoReply reply))
                {
                    replies.Add(reply);
                }
                return replies.Any(r => r.Sequence == seq);
            }, TimeSpan.FromSeconds(5)), $"No echo reply from the kernel for sequence {seq}.");
        }

        Assert.All(replies, r =>
        {
            Assert.Equal(s.PeerAddress, r.Source);
            Assert.Equal(0x5331, r.Identifier);
            Assert.Equal(56, r.DataLength);
        });
        // Skiff resolved the kernel's MAC by ARP.
        (ArpEntryState state, MacAddress learned) = s.Runner.Invoke(i => (i.Arp.GetState(s.PeerAddress, out MacAddress mac), mac));
        Assert.True(state is ArpEntryState.Reachable or ArpEntryState.Stale, $"ARP entry for the kernel is {state}.");
        Assert.Equal(peerMac, learned);
    }

    [PrivilegedFact("ip", "python3")]
    public void UdpEchoServedToKernelClient()
    {
        using DriverSetup s = Create();
        const ushort port = 7007;
        const int count = 40;
        UdpSocket socket = s.Runner.Invoke(i => i.Udp.Bind(port));
        byte[] scratch = new byte[UdpSocket.MaxPayloadBytes];
        int echoed = 0;

        using PeerProcess client = PeerProcess.StartPython(s, "UDP client", PeerPrograms.UdpClient, s.SkiffAddress.ToString(), port.ToString(), count.ToString());
        EchoApps.PumpUntil(s.Runner, i => echoed += EchoApps.EchoUdp(socket, scratch), () => client.HasExited, TimeSpan.FromSeconds(60),
            () => $"the kernel's UDP client ({echoed} datagrams echoed)");
        ExternalTools.Result result = client.WaitForExit(TimeSpan.FromSeconds(5));

        Assert.True(result.ExitCode == 0, $"The kernel's UDP client failed: {result.Output}{result.Error}");
        Assert.Equal(count, echoed);
    }

    [PrivilegedFact("ip", "python3")]
    public void UdpToKernelEchoServer()
    {
        using DriverSetup s = Create();
        const ushort port = 7008;
        const int count = 20;
        using PeerProcess server = PeerProcess.StartPython(s, "UDP echo server", PeerPrograms.UdpEchoServer, s.PeerAddress.ToString(), port.ToString(), count.ToString());
        server.WaitForLine("ready");
        UdpSocket socket = s.Runner.Invoke(i => i.Udp.Bind(40008));
        UdpEndpoint peer = new(s.PeerAddress, port);
        Random random = new(8);
        byte[] scratch = new byte[UdpSocket.MaxPayloadBytes];

        for (int k = 0; k < count; k++)
        {
            byte[] payload = new byte[random.Next(1, 4000)]; // up to 4000 bytes: fragmented both ways
            random.NextBytes(payload);
            Assert.True(s.Runner.Invoke(i => socket.TrySend(payload, peer)));
            int length = -1;
            UdpEndpoint source = default;
            EchoApps.PumpUntil(s.Runner, i =>
            {
                if (length < 0 && socket.TryReceive(scratch, out int n, out UdpEndpoint from))
                {
                    length = n;
                    source = from;
                }
            }, () => length >= 0, TimeSpan.FromSeconds(10), () => $"the echo of datagram {k} ({payload.Length} bytes)");

            Assert.Equal(peer, source);
            Assert.Equal(payload, scratch.AsSpan(0, length).ToArray());
        }
        Assert.Equal(0, server.WaitForExit(TimeSpan.FromSeconds(10)).ExitCode);
    }

    [PrivilegedFact("ip", "python3", "nstat")]
    public void TcpEchoServedToKernelClient()
    {
        using DriverSetup s = Create();
        RunTransfers(s, null, kernelClient: true, skiffClient: false);
    }

    [PrivilegedFact("ip", "python3", "nstat")]
    public void TcpToKernelEchoServer()
    {
        using DriverSetup s = Create();
        RunTransfers(s, null, kernelClient: false, skiffClient: true);
    }

    /// <summary>
    /// Both transfers above at once (they would take twice as long one after the other: under loss, Skiff's sender
    /// spends most of its time waiting for retransmission timeouts), with nftables on the kernel's link dropping
    /// <see cref="LossPercent"/> % of the frames each way and duplicating <see cref="DuplicatePercent"/> % of those the
    /// kernel sends. The bytes must still arrive intact both ways, and both connections close cleanly.
    /// </summary>
    [PrivilegedFact("ip", "python3", "nft", "nstat")]
    public void TcpBothWaysUnderLossAndDuplication()
    {
        using DriverSetup s = Create();
        NftImpairment nft = NftImpairment.Apply(s, LossPercent, DuplicatePercent);
        RunTransfers(s, nft, kernelClient: true, skiffClient: true);

        IReadOnlyDictionary<string, long> counts = nft.Read();
        Assert.True(counts["ingress_dropped"] > 0 && counts["egress_dropped"] > 0 && counts["egress_duplicated"] > 0,
            $"The impairment did not act: {nft.Describe()}");
    }

    /// <summary>
    /// Runs the TCP transfers, concurrently, and checks them; on failure the message carries the
    /// <see cref="TransferReport"/>. <paramref name="kernelClient"/>: the kernel's client (port 7009) sends
    /// <see cref="TcpTransferBytes"/> seeded bytes to Skiff's echo and checks the SHA-256 of what comes back, and Skiff
    /// checks it received the same bytes. <paramref name="skiffClient"/>: Skiff's client sends <see cref="TcpTransferBytes"/>
    /// seeded bytes to the kernel's echo server (port 7010) and checks the SHA-256 of what comes back, and the server
    /// checks the byte count. Each connection must end in an orderly close (no error), and under
    /// <paramref name="impairment"/> each Skiff sender must have retransmitted.
    /// </summary>
    private static void RunTransfers(DriverSetup s, NftImpairment? impairment, bool kernelClient, bool skiffClient)
    {
        const ushort echoPort = 7009, serverPort = 7010;
        TcpEchoServer? echo = null;
        TcpStreamClient? client = null;
        string expected = "";
        using PeerProcess? server = skiffClient ? PeerProcess.StartPython(s, "TCP echo server", PeerPrograms.TcpEchoServer, s.PeerAddress.ToString(), serverPort.ToString()) : null;
        server?.WaitForLine("ready");
        if (kernelClient)
        {
            echo = s.Runner.Invoke(i => new TcpEchoServer(i, echoPort));
        }
        using PeerProcess? peerClient = kernelClient
            ? PeerProcess.StartPython(s, "TCP client", PeerPrograms.TcpStreamClient, s.SkiffAddress.ToString(), echoPort.ToString(), TcpTransferBytes.ToString())
            : null;
        if (skiffClient)
        {
            byte[] payload = new byte[TcpTransferBytes];
            new Random(1234).NextBytes(payload);
            expected = Convert.ToHexStringLower(SHA256.HashData(payload));
            client = s.Runner.Invoke(i => new TcpStreamClient(i, s.Runner.Now, s.PeerAddress, serverPort, payload));
        }

        string Connections(Interface i) =>
            (echo is null ? "" : $"{Environment.NewLine}  kernel client -> Skiff echo: {echo.DescribeCounters(i)}{Environment.NewLine}{echo.Timeline}")
            + (client is null ? "" : $"{Environment.NewLine}  Skiff client -> kernel echo: {client.DescribeCounters(i)}{Environment.NewLine}{client.Timeline}");
        string Progress() => $"Skiff echo: {echo?.Status ?? "-"}; Skiff client: {client?.Status ?? "-"}";
        void Step(Interface i)
        {
            echo?.Step(i);
            client?.Step(i);
        }

        // Each transfer has s_tcpTimeout; run together under loss, they share the link and the loop, so their common
        // bound is the sum (a healthy impaired run takes 60 to 100 s here, most of it in Skiff's retransmission timeouts).
        TimeSpan bound = impairment is not null && kernelClient && skiffClient ? 2 * s_tcpTimeout : s_tcpTimeout;
        TransferReport.OnFailure(s, impairment, Connections, () =>
        {
            // The kernel client exits once it has its echo back; Skiff's client once its connection has closed.
            EchoApps.PumpUntil(s.Runner, Step, () => (peerClient?.HasExited ?? true) && (client?.Finished ?? true), bound,
                () => $"the transfers ({Progress()})");
            if (peerClient is not null && echo is not null)
            {
                ExternalTools.Result result = peerClient.WaitForExit(TimeSpan.FromSeconds(5));
                Assert.True(result.ExitCode == 0, $"The kernel's TCP client failed: {result.Output}{result.Error} ({Progress()})");
                EchoApps.PumpUntil(s.Runner, Step, () => echo.Finished, s_tcpTimeout, () => $"the Skiff echo's close ({echo.Status})");

                string[] words = result.Output.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                Assert.Equal(TcpTransferBytes, echo.BytesEchoed);
                Assert.Equal(words[0], echo.ReceivedSha256); // Skiff received exactly what the kernel sent
                Assert.Equal(TcpError.None, echo.FinalError);  // an orderly close: the kernel's FIN, then ours acknowledged
                if (impairment is not null)
                {
                    long retransmissions = echo.FinalCounters![nameof(TcpConnectionCounters.Retransmissions)];
                    Assert.True(retransmissions > 0, $"Skiff's echo never retransmitted under loss: {echo.FinalCounters}");
                }
            }
            if (server is not null && client is not null)
            {
                ExternalTools.Result result = server.WaitForExit(TimeSpan.FromSeconds(30));
                Assert.Equal(TcpError.None, client.FinalError);
                Assert.Equal(TcpState.TimeWait, client.FinalState); // we closed first, and both FINs were acknowledged
                Assert.Equal(TcpTransferBytes, client.BytesSent);
                Assert.Equal(TcpTransferBytes, client.BytesReceived);
                Assert.Equal(expected, client.ReceivedSha256);
                Assert.True(result.ExitCode == 0, $"The kernel's TCP echo server failed: {result.Output}{result.Error}");
                Assert.Equal(TcpTransferBytes.ToString(), result.Output.Trim());
                if (impairment is not null)
                {
                    long retransmissions = client.FinalCounters![nameof(TcpConnectionCounters.Retransmissions)];
                    Assert.True(retransmissions > 0, $"Skiff's client never retransmitted under loss: {client.FinalCounters}");
                }
            }
        });
    }

    [PrivilegedFact("ip", "ping")]
    public void KernelPingWithFragmentsIsReassembledAndAnswered()
    {
        using DriverSetup s = Create();

        ExternalTools.Result ping = ExternalTools.Run("ip", s.InPeer(ExternalTools.Require("ping"), "-c", "3", "-i", "0.2", "-W", "2", "-s", "8000", s.SkiffAddress.ToString()));

        Assert.True(ping.ExitCode == 0, $"The kernel's 8000-byte ping of Skiff failed: {ping.Output}{ping.Error}");
        Assert.Contains(" 3 received", ping.Output);
        (long reassembled, long fragmentsSent) = s.Runner.Invoke(i => (i.Counters.DatagramsReassembled, i.Counters.FragmentsSent));
        Assert.True(reassembled >= 3, $"Skiff reassembled {reassembled} datagrams.");
        Assert.True(fragmentsSent >= 3 * 6, $"Skiff sent {fragmentsSent} fragments for three 8028-byte replies.");
    }
}

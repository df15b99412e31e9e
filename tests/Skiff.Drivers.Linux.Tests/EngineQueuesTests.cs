using System.Diagnostics;
using System.Net;
using Skiff.Engine;
using Skiff.Wire;

namespace Skiff.Drivers.Linux.Tests;

/// <summary>
/// Two cores over two queues of one veth end, either two AF_PACKET sockets in one fanout group or two AF_XDP sockets
/// on a two-queue veth sharing one XDP program: the kernel spreads flows between them by its own hash (which Skiff
/// cannot compute), and Skiff's QueueMesh passes segments for ports another core opened to it. Kernel clients reach
/// Skiff's listener on both cores, and Skiff's own connections to a kernel server work from both.
/// </summary>
public sealed class EngineQueuesTests
{
    private const int Connections = 40;

    // argv: host port count. Opens count connections one after another, sends 1000 bytes on each, checks the echo.
    private const string KernelClient = """
import socket, sys
host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(count):
    s = socket.create_connection((host, port), timeout=10)
    data = bytes((i + k) % 256 for k in range(1000))
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    got = b''
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        got += chunk
    s.close()
    if got != data:
        print(f'connection {i}: echo differs ({len(got)} bytes)')
        sys.exit(1)
print(f'ok {count}')
""";

    // argv: port count. Prints "ready", then echoes count connections until each peer half-closes.
    private const string KernelServer = """
import socket, sys
port, count = int(sys.argv[1]), int(sys.argv[2])
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(('0.0.0.0', port))
ls.listen(64)
ls.settimeout(30)
print('ready', flush=True)
for i in range(count):
    c, _ = ls.accept()
    c.settimeout(10)
    while True:
        chunk = c.recv(65536)
        if not chunk:
            break
        c.sendall(chunk)
    c.close()
print(f'served {count}', flush=True)
""";

    [PrivilegedTheory("ip", "ethtool", "python3")]
    [InlineData("afpacket")]
    [InlineData("afxdp")]
    public async Task Flows_spread_by_the_kernel_and_flows_skiff_opens_both_work_on_two_cores(string driver)
    {
        using NetnsPair pair = new(kernelAddressesOnA: false, queues: 2);
        // AF_XDP on veth cannot see unfinished checksums: the kernel peer must finish them (docs/drivers.md).
        ExternalTools.Check("ip", NetnsPair.In(pair.NamespaceB, ExternalTools.Require("ethtool"), "-K", pair.LinkB, "tx", "off"));
        PacketPool[] pools = driver == "afxdp" ? [new PacketPool(8192), new PacketPool(8192)] : [new PacketPool(16384)];
        IDevice[] queues = NamespaceThread.Run(pair.NamespaceA, () => OpenQueues(driver, pair, pools));
        byte[] mac = NetnsPair.MacBytesOf(pair.NamespaceA, pair.LinkA);
        try
        {
            SkiffStack stack = SkiffStack.CreateBuilder(new SkiffStackOptions
            {
                Mac = MacAddress.Read(mac), // Skiff takes the interface's place on the link
                Addresses = [new Ipv4Cidr(Ipv4Address.Parse(pair.Ipv4A), 24)],
                Cores = 2,
            }).UseDevices(queues).Build();
            await using (stack)
            {
                ExternalTools.Result ping = ExternalTools.Run("ip", NetnsPair.In(pair.NamespaceB, "ping", "-c", "3", "-i", "0.2", "-W", "2", pair.Ipv4A));
                Assert.True(ping.ExitCode == 0, ping.Output);
                // Kernel clients to Skiff's listener: the fanout hash spreads them over both cores.
                await using SkiffListener listener = stack.Listen(7);
                List<int> acceptedCores = [];
                Task server = Task.Run(async () =>
                {
                    List<Task> echoes = [];
                    for (int i = 0; i < Connections; i++)
                    {
                        SkiffConnection c = await listener.AcceptAsync();
                        acceptedCores.Add(c.Core);
                        echoes.Add(Task.Run(() => EchoAsync(c)));
                    }
                    await Task.WhenAll(echoes);
                });
                ExternalTools.Result clients = await Task.Run(() => ExternalTools.Run("ip",
                    NetnsPair.In(pair.NamespaceB, "python3", "-c", KernelClient, pair.Ipv4A, "7", Connections.ToString()), timeoutSeconds: 120));
                if (clients.ExitCode != 0)
                {
                    string cores = "";
                    for (int i = 0; i < 2; i++)
                    {
                        cores += await stack.Engines[i].InvokeAsync(iface =>
                            $" core {i}: passive opens {iface.Tcp.Counters.PassiveOpens}, resets for no connection {iface.Tcp.Counters.ResetsForNoConnection}, rx {iface.Counters.RxFrames};");
                    }
                    Assert.Fail($"kernel clients failed after {acceptedCores.Count} accepts ({string.Join(",", acceptedCores)}), mesh redirected {stack.Mesh!.RedirectedFrames};{cores} {clients.Output}{clients.Error}");
                }
                await server.WaitAsync(TimeSpan.FromSeconds(30));
                Assert.Contains(0, acceptedCores);
                Assert.Contains(1, acceptedCores);

                // Skiff's connections to a kernel server, opened from both cores in turn.
                using Process kernelServer = ExternalTools.Start("ip", NetnsPair.In(pair.NamespaceB, "python3", "-u", "-c", KernelServer, "9000", Connections.ToString()));
                Assert.Equal("ready", await kernelServer.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(15)));
                IPEndPoint remote = new(IPAddress.Parse(pair.Ipv4B), 9000);
                int[] openedOn = new int[2];
                for (int i = 0; i < Connections; i++)
                {
                    await using SkiffConnection c = await stack.ConnectAsync(remote).AsTask().WaitAsync(TimeSpan.FromSeconds(15));
                    openedOn[c.Core]++;
                    byte[] payload = new byte[5000];
                    payload.AsSpan().Fill((byte)i);
                    await c.Transport.Output.WriteAsync(payload);
                    await c.CompleteAsync();
                    byte[] echoed = await ReadAllAsync(c).WaitAsync(TimeSpan.FromSeconds(15));
                    Assert.Equal(payload, echoed);
                }
                Assert.True(kernelServer.WaitForExit(15_000), "the kernel server did not finish");
                Assert.Equal([Connections / 2, Connections / 2], openedOn);
                for (int i = 0; i < 2; i++)
                {
                    Assert.Equal(0, await stack.Engines[i].InvokeAsync(iface => iface.Tcp.Counters.ResetsForNoConnection));
                }
                Assert.Null(stack.Engine.Failure);
            }
        }
        finally
        {
            foreach (IDevice q in queues)
            {
                ((IDisposable)q).Dispose();
            }
        }
        if (driver == "afxdp")
        {
            Assert.DoesNotContain("xdp", ExternalTools.Check("ip", "-n", pair.NamespaceA, "link", "show", pair.LinkA).Output);
        }
        foreach (PacketPool pool in pools)
        {
            Assert.Equal(0, pool.InUse);
            pool.Dispose();
        }
    }

    private static IDevice[] OpenQueues(string driver, NetnsPair pair, PacketPool[] pools)
    {
        if (driver == "afxdp")
        {
            AfXdpDevice[] devices = AfXdpDevice.OpenQueues(new AfXdpOptions { InterfaceName = pair.LinkA, SteerAddresses = [IPAddress.Parse(pair.Ipv4A)] }, 2, pools);
            Assert.All(devices, d => Assert.Equal(XdpAttachMode.Native, d.AttachMode));
            return devices;
        }
        ushort group = (ushort)Random.Shared.Next(1, 65535);
        return [.. new[] { 0, 1 }.Select(q => new AfPacketDevice(new AfPacketOptions
        {
            InterfaceName = pair.LinkA,
            QueueId = (ushort)q,
            FanoutMode = AfPacketFanoutMode.Hash,
            FanoutGroupId = group,
        }, pools[0]))];
    }

    private static async Task EchoAsync(SkiffConnection c)
    {
        await using (c)
        {
            while (true)
            {
                System.IO.Pipelines.ReadResult r = await c.Transport.Input.ReadAsync();
                foreach (ReadOnlyMemory<byte> m in r.Buffer)
                {
                    await c.Transport.Output.WriteAsync(m);
                }
                c.Transport.Input.AdvanceTo(r.Buffer.End);
                if (r.IsCompleted)
                {
                    break;
                }
            }
            await c.CompleteAsync();
        }
    }

    private static async Task<byte[]> ReadAllAsync(SkiffConnection c)
    {
        MemoryStream all = new();
        while (true)
        {
            System.IO.Pipelines.ReadResult r = await c.Transport.Input.ReadAsync();
            foreach (ReadOnlyMemory<byte> m in r.Buffer)
            {
                all.Write(m.Span);
            }
            c.Transport.Input.AdvanceTo(r.Buffer.End);
            if (r.IsCompleted)
            {
                return all.ToArray();
            }
        }
    }
}

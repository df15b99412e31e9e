using Skiff.Stack;
using Skiff.Wire;

namespace Skiff.Drivers.Linux.Tests.Support;

/// <summary>
/// One driver under test, wired to a Skiff stack and a kernel peer: the <see cref="IDevice"/>, its
/// <see cref="PacketPool"/>, the <see cref="Interface"/> that owns <see cref="SkiffAddress"/> through the
/// device, the <see cref="StackRunner"/> polling it, and the kernel peer (its namespace, link and address).
/// </summary>
/// <remarks>
/// Dispose tears everything down in order, even after a failure: the runner (stops the loop), the device
/// (if disposable), the pool, then whatever the setup created (namespaces, interfaces) in reverse order.
/// Drivers built on a veth pair use <see cref="OverVeth"/>; others build the parts and call the constructor.
/// </remarks>
public sealed class DriverSetup : IDisposable
{
    private readonly List<IDisposable> _owned;
    private bool _disposed;

    /// <summary>
    /// Builds a stack over <paramref name="device"/> (its <see cref="IDevice.Pool"/>, its MTU) owning
    /// <paramref name="skiffAddress"/>/24 and starts polling it. <paramref name="owned"/> is disposed last, in
    /// reverse order (also when this constructor throws).
    /// </summary>
    public DriverSetup(IDevice device, Ipv4Address skiffAddress, string peerNamespace, string peerLink, Ipv4Address peerAddress,
        IEnumerable<IDisposable> owned)
    {
        _owned = [.. owned];
        Device = device;
        Pool = device.Pool;
        SkiffAddress = skiffAddress;
        PeerNamespace = peerNamespace;
        PeerLink = peerLink;
        PeerAddress = peerAddress;
        try
        {
            Span<byte> random = stackalloc byte[5];
            Random.Shared.NextBytes(random);
            ulong mac = 0x02UL << 40; // locally administered, unicast
            for (int i = 0; i < random.Length; i++)
            {
                mac |= (ulong)random[i] << (8 * (4 - i));
            }
            SkiffMac = new MacAddress(mac);
            Interface = new Interface(new InterfaceOptions
            {
                Mac = SkiffMac,
                Addresses = [new Ipv4Cidr(skiffAddress, 24)],
                MtuBytes = device.Capabilities.MtuBytes,
            }, Pool);
            Runner = new StackRunner(Interface, device);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public IDevice Device { get; }

    public PacketPool Pool { get; }

    public Interface Interface { get; } = null!;

    public StackRunner Runner { get; } = null!;

    /// <summary>The address the Skiff stack owns.</summary>
    public Ipv4Address SkiffAddress { get; }

    /// <summary>The Skiff stack's Ethernet address (random, locally administered).</summary>
    public MacAddress SkiffMac { get; }

    /// <summary>The namespace of the kernel peer; run peer programs there with <see cref="InPeer"/>.</summary>
    public string PeerNamespace { get; }

    /// <summary>The kernel peer's interface (in <see cref="PeerNamespace"/>).</summary>
    public string PeerLink { get; }

    /// <summary>The kernel peer's address, on the same /24 as <see cref="SkiffAddress"/>.</summary>
    public Ipv4Address PeerAddress { get; }

    /// <summary>Arguments for the <c>ip</c> tool that run <paramref name="command"/> inside the peer's namespace.</summary>
    public string[] InPeer(params string[] command) => ["netns", "exec", PeerNamespace, .. command];

    /// <summary>The kernel peer's Ethernet address, read with <c>ip link</c>.</summary>
    public MacAddress PeerMac()
    {
        string output = ExternalTools.Check("ip", "-n", PeerNamespace, "-o", "link", "show", PeerLink).Output;
        string[] words = output.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        int at = Array.IndexOf(words, "link/ether");
        if (at < 0 || at + 1 >= words.Length)
        {
            throw new InvalidOperationException($"No Ethernet address for {PeerLink} in: {output}");
        }
        return MacAddress.Parse(words[at + 1]);
    }

    /// <summary>
    /// A Skiff stack on a veth pair: <see cref="NetnsPair"/> with no kernel address on end A, tx checksum offload
    /// off on the kernel peer B (the veth checksum trap, TESTING.md), the device opened by <paramref name="open"/>
    /// inside namespace A (on the thread <see cref="NamespaceThread"/> gives it), Skiff owning
    /// <see cref="NetnsPair.Ipv4A"/> and the kernel on B at <see cref="NetnsPair.Ipv4B"/> as the peer. The device's
    /// <see cref="IDevice.Pool"/> feeds the stack and is disposed after the device; give it 4096 frames or more (the TCP
    /// tests keep windows of frames in flight).
    /// </summary>
    public static DriverSetup OverVeth(Func<NetnsPair, IDevice> open)
    {
        NetnsPair pair = new(kernelAddressesOnA: false);
        IDevice? device = null;
        try
        {
            string ethtool = ExternalTools.Require("ethtool");
            ExternalTools.Check("ip", NetnsPair.In(pair.NamespaceB, ethtool, "-K", pair.LinkB, "tx", "off"));
            device = NamespaceThread.Run(pair.NamespaceA, () => open(pair));
        }
        catch
        {
            (device as IDisposable)?.Dispose();
            pair.Dispose();
            throw;
        }
        // The constructor disposes device and pair if it fails.
        return new DriverSetup(device, Ipv4Address.Parse(pair.Ipv4A), pair.NamespaceB, pair.LinkB, Ipv4Address.Parse(pair.Ipv4B),
            [pair]);
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        List<Exception> failures = [];
        Try(() => Runner?.Dispose(), failures);
        Try(() => (Device as IDisposable)?.Dispose(), failures);
        Try(() => Pool?.Dispose(), failures);
        for (int i = _owned.Count - 1; i >= 0; i--)
        {
            IDisposable item = _owned[i];
            Try(item.Dispose, failures);
        }
        if (failures.Count > 0)
        {
            throw new AggregateException("Tearing down the driver setup failed.", failures);
        }
    }

    private static void Try(Action action, List<Exception> failures)
    {
        try
        {
            action();
        }
        catch (Exception e)
        {
            failures.Add(e);
        }
    }
}

using System.Net;
using Skiff.Drivers.Linux.Tests.Support;

namespace Skiff.Drivers.Linux.Tests;

/// <summary>
/// The driver suite over AF_XDP on a veth pair: Skiff owns end A's address through its XDP program and an AF_XDP
/// socket (copy mode, native XDP; veth has no zero-copy), and the kernel on end B is the peer.
/// </summary>
public sealed class AfXdpDriverTests : DriverSuite
{
    protected override DriverSetup Create() =>
        DriverSetup.OverVeth(pair => new AfXdpDevice(new AfXdpOptions
        {
            InterfaceName = pair.LinkA,
            SteerAddresses = [IPAddress.Parse(pair.Ipv4A)],
        }));
}

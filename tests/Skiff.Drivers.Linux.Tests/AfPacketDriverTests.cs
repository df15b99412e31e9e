using Skiff.Drivers.Linux.Tests.Support;

namespace Skiff.Drivers.Linux.Tests;

/// <summary>
/// The driver suite over AF_PACKET (TPACKET_V3 rings) on a veth pair: the device is opened on end A inside namespace A,
/// Skiff owns A's address, and the kernel on end B is the peer. The setup turns tx checksum offload off on B, which
/// also turns off TSO, so the kernel sends MTU-sized frames, not GSO super-frames, across the veth.
/// </summary>
public sealed class AfPacketDriverTests : DriverSuite
{
    protected override DriverSetup Create() =>
        DriverSetup.OverVeth(pair => new AfPacketDevice(new AfPacketOptions { InterfaceName = pair.LinkA }));
}

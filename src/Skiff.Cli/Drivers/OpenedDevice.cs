using Skiff.Drivers.Linux;
using Skiff.Wire;

namespace Skiff.Cli.Drivers;

/// <summary>A device <see cref="DriverFactory"/> opened, with what the commands need to know about it. Dispose closes it.</summary>
internal sealed class OpenedDevice(LinuxDevice opened) : IDisposable
{
    public IDevice Device => opened.Device;

    /// <summary>
    /// The interface's own MAC address when Skiff sits where the interface's owner would (AF_PACKET, AF_XDP), so
    /// <c>--mac</c> defaults to it; null for TAP, where the kernel holds the interface's address and Skiff is the far end.
    /// </summary>
    public MacAddress? HardwareAddress { get; } =
        opened.HardwareAddress?.GetAddressBytes() is { Length: 6 } bytes ? MacAddress.Read(bytes) : null;

    /// <summary>One line for the banner, e.g. "af_packet:eth0 (TPACKET_V3, ...)".</summary>
    public string Description => opened.Description;

    public void Dispose() => opened.Dispose();
}

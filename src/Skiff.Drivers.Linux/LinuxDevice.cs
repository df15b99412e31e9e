using System.Net.NetworkInformation;

namespace Skiff.Drivers.Linux;

/// <summary>A device <see cref="LinuxDevices.Open"/> opened, with what a stack on it needs to know. Dispose closes the device (not its pool).</summary>
public sealed class LinuxDevice : IDisposable
{
    private readonly IDisposable _owner;

    internal LinuxDevice(IDevice device, PhysicalAddress? hardwareAddress, string description)
    {
        Device = device;
        HardwareAddress = hardwareAddress;
        Description = description;
        _owner = (IDisposable)device;
    }

    /// <summary>The device, to hand to a stack.</summary>
    public IDevice Device { get; }

    /// <summary>
    /// The interface's own MAC address when Skiff sits where the interface's owner would (AF_PACKET, AF_XDP), so a
    /// stack should use it; null for TAP, where the kernel holds the interface's address and Skiff is the far end,
    /// and when it could not be read.
    /// </summary>
    public PhysicalAddress? HardwareAddress { get; }

    /// <summary>One line for a banner, e.g. "af_packet:eth0 (TPACKET_V3, ...)".</summary>
    public string Description { get; }

    /// <summary>Closes the device. Idempotent.</summary>
    public void Dispose() => _owner.Dispose();

    /// <summary>The same as <see cref="Description"/>.</summary>
    public override string ToString() => Description;
}

namespace Skiff.Drivers.Linux;

/// <summary>How a <see cref="TapDevice"/> is opened. Defaults are documented per property.</summary>
public sealed record TapOptions
{
    /// <summary>
    /// The interface name (at most 15 bytes). If a TAP interface of that name exists, the device attaches to it;
    /// otherwise the kernel creates one. Null or empty: the kernel picks a free <c>tap%d</c> name (see
    /// <see cref="TapDevice.Name"/>). Default null.
    /// </summary>
    public string? Name { get; init; }

    /// <summary>
    /// Open the interface with IFF_MULTI_QUEUE, so several <see cref="TapDevice"/>s (one per queue) can attach to
    /// the same interface; the kernel spreads its transmitted frames over them by flow. All queues of one interface
    /// must agree on this flag. Default false.
    /// </summary>
    public bool MultiQueue { get; init; }

    /// <summary>
    /// Keep the interface after the last queue closes (TUNSETPERSIST); remove it with <c>ip link del</c>.
    /// Default false: an interface this device created disappears when it is disposed.
    /// </summary>
    public bool Persistent { get; init; }

    /// <summary>Most frames one receive or transmit burst handles (<see cref="DeviceCapabilities.MaxBurst"/>). Default 32.</summary>
    public int MaxBurst { get; init; } = 32;

    /// <summary>Checks the options; throws <see cref="ArgumentException"/> with a sentence naming the problem.</summary>
    public void Validate()
    {
        if (Name is { Length: > 0 } name && (System.Text.Encoding.UTF8.GetByteCount(name) > 15 || name.Contains('/') || name.Contains(' ') || name is "." or ".."))
        {
            throw new ArgumentException($"TAP interface name '{name}' is not valid: use at most 15 bytes without '/' or spaces.");
        }
        if (MaxBurst < 1)
        {
            throw new ArgumentException($"MaxBurst {MaxBurst} must be at least 1.");
        }
    }
}

namespace Skiff.Devices;

/// <summary>Which way through an <see cref="ImpairedDevice"/> the impairments apply.</summary>
[Flags]
public enum ImpairmentDirections : byte
{
    /// <summary>Neither: the wrapper passes every frame straight through.</summary>
    None = 0,

    /// <summary>Frames handed to <see cref="IDevice.TransmitBurst"/> (netem's egress).</summary>
    Transmit = 1,

    /// <summary>Frames returned by <see cref="IDevice.ReceiveBurst"/>.</summary>
    Receive = 2,

    /// <summary>Both directions, each with its own queue, random stream and counters.</summary>
    Both = Transmit | Receive,
}

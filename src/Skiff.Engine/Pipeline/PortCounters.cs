namespace Skiff.Engine.Pipeline;

/// <summary>
/// What one port of an engine loop moved: frames and bytes received from its device and accepted by it for transmit.
/// Written by the loop thread; read from any thread (single aligned 64-bit values).
/// </summary>
public sealed class PortCounters
{
    internal long RxFramesField;
    internal long RxBytesField;
    internal long TxFramesField;
    internal long TxBytesField;

    /// <summary>Frames received from the device.</summary>
    public long RxFrames => Volatile.Read(ref RxFramesField);

    /// <summary>Bytes received from the device.</summary>
    public long RxBytes => Volatile.Read(ref RxBytesField);

    /// <summary>Frames the device accepted for transmit.</summary>
    public long TxFrames => Volatile.Read(ref TxFramesField);

    /// <summary>Bytes the device accepted for transmit.</summary>
    public long TxBytes => Volatile.Read(ref TxBytesField);
}

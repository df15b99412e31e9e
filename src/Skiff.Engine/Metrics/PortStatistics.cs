namespace Skiff.Engine.Metrics;

/// <summary>One port of an engine loop in a <see cref="SkiffMetricsSnapshot"/>: frames and bytes its device received and accepted for transmit.</summary>
/// <param name="Port">The port's index in the loop (0 is the stack's; a forwarder's ports in command-line order).</param>
/// <param name="RxPackets">Frames received.</param>
/// <param name="RxBytes">Bytes received.</param>
/// <param name="TxPackets">Frames the device accepted for transmit.</param>
/// <param name="TxBytes">Bytes the device accepted for transmit.</param>
public readonly record struct PortStatistics(int Port, long RxPackets, long RxBytes, long TxPackets, long TxBytes);

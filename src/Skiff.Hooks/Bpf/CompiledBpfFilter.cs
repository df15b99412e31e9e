namespace Skiff.Hooks.Bpf;

/// <summary>
/// A classic BPF program compiled to native code by <see cref="BpfJit.Compile"/>. <see cref="Run(ReadOnlySpan{byte}, int)"/>
/// returns what <see cref="BpfInterpreter.Run"/> returns for the same frame; it allocates nothing and is thread-safe.
/// </summary>
public sealed class CompiledBpfFilter
{
    private readonly NativeEntry _entry;

    internal CompiledBpfFilter(BpfProgram program, NativeEntry entry)
    {
        Program = program;
        _entry = entry;
    }

    /// <summary>The signature of the emitted method (closed over a dummy target): packet, captured length, wire length; returns the program's value.</summary>
    internal unsafe delegate uint NativeEntry(byte* packet, uint capturedLength, uint wireLength);

    /// <summary>The program this was compiled from.</summary>
    public BpfProgram Program { get; }

    /// <summary>
    /// Runs the filter over the captured bytes <paramref name="packet"/> of a frame of <paramref name="wireLength"/>
    /// bytes on the wire; returns 0 to reject, otherwise the program's value (how many bytes to keep).
    /// </summary>
    public unsafe uint Run(ReadOnlySpan<byte> packet, int wireLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(wireLength);
        fixed (byte* p = packet)
        {
            return _entry(p, (uint)packet.Length, (uint)wireLength);
        }
    }

    /// <summary>
    /// Runs the filter over <paramref name="capturedLength"/> bytes at <paramref name="packet"/> (which the caller keeps
    /// valid and pinned for the call); the rest as <see cref="Run(ReadOnlySpan{byte}, int)"/>.
    /// </summary>
    public unsafe uint Run(byte* packet, int capturedLength, int wireLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capturedLength);
        ArgumentOutOfRangeException.ThrowIfNegative(wireLength);
        return _entry(packet, (uint)capturedLength, (uint)wireLength);
    }
}

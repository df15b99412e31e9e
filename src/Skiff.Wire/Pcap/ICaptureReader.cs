namespace Skiff.Wire.Pcap;

/// <summary>
/// Reads frames from a capture file one at a time, into one reused buffer (no allocation per frame).
/// Open one with <see cref="CaptureReader.TryOpen"/>, which recognises the format from its magic number.
/// </summary>
/// <remarks>
/// <para>Bad input is data: nothing here throws on a malformed or truncated file (I/O errors of the stream
/// itself still surface as the stream's exceptions).</para>
/// <para>Typical loop:</para>
/// <code>
/// while (reader.TryReadNext(out CaptureRecord r, out WireError e) || e != WireError.Ok)
/// {
///     if (e != WireError.Ok) { Report(e); continue; }
///     Use(r.Data);
/// }
/// </code>
/// <para>Not thread-safe. Disposing the reader disposes the stream unless it was opened with <c>leaveOpen</c>.</para>
/// </remarks>
public interface ICaptureReader : IDisposable
{
    /// <summary>The file's container format.</summary>
    CaptureFormat Format { get; }

    /// <summary>True when the file is in big-endian byte order (of the current section, for pcapng).</summary>
    bool IsBigEndian { get; }

    /// <summary>The interfaces described so far (for pcapng, in the current section); classic pcap has exactly one.</summary>
    IReadOnlyList<CaptureInterface> Interfaces { get; }

    /// <summary>False once the reader has reached the end of the file or an error after which the framing is lost.</summary>
    bool CanContinue { get; }

    /// <summary>
    /// Reads the next frame. Returns true with <paramref name="error"/> = <see cref="WireError.Ok"/> and a record
    /// valid until the next call. Returns false with <see cref="WireError.Ok"/> at the end of the file. Returns
    /// false with an error (<see cref="WireError.Truncated"/>, <see cref="WireError.BadFormat"/>,
    /// <see cref="WireError.BadMagic"/>, <see cref="WireError.BadVersion"/>, <see cref="WireError.BadOptionLength"/>)
    /// for a malformed record or block: if <see cref="CanContinue"/> is still true the reader has stepped over it
    /// and the next call reads on; otherwise every later call returns false with <see cref="WireError.Ok"/>.
    /// </summary>
    bool TryReadNext(out CaptureRecord record, out WireError error);
}

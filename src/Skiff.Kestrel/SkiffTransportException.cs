namespace Skiff.Kestrel;

/// <summary>
/// The Kestrel transport cannot serve as configured: a setting is missing or invalid, or Kestrel asked for an
/// endpoint Skiff cannot listen on. The message is a sentence saying what to do. (A device that cannot be opened
/// is a <see cref="Skiff.Drivers.Linux.DriverException"/>.)
/// </summary>
public sealed class SkiffTransportException : Exception
{
    /// <summary>A transport failure described by <paramref name="message"/>, a sentence that says what to do.</summary>
    /// <param name="message">What failed and what to do about it.</param>
    public SkiffTransportException(string message)
        : base(message)
    {
    }

    /// <summary>A transport failure described by <paramref name="message"/>, caused by <paramref name="innerException"/> (a driver's, say).</summary>
    /// <param name="message">What failed and what to do about it.</param>
    /// <param name="innerException">The failure underneath.</param>
    public SkiffTransportException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

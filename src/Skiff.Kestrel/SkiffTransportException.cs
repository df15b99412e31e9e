namespace Skiff.Kestrel;

/// <summary>
/// The Kestrel transport cannot serve as configured: a setting is missing or invalid, or Kestrel asked for an
/// endpoint Skiff cannot listen on. The message is a sentence saying what to do. (A device that cannot be opened
/// is a <see cref="Skiff.Drivers.Linux.DriverException"/>.)
/// </summary>
public sealed class SkiffTransportException : Exception
{
    public SkiffTransportException(string message)
        : base(message)
    {
    }

    public SkiffTransportException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

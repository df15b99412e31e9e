using System.Runtime.InteropServices;
using Skiff.Drivers.Linux.Interop;

namespace Skiff.Drivers.Linux;

/// <summary>
/// A driver could not be set up. The message is a sentence that says what failed and what to do
/// ("AF_PACKET needs CAP_NET_RAW: run as root, ...").
/// </summary>
public sealed class DriverException : Exception
{
    /// <summary>Creates the exception a driver throws when it cannot be set up.</summary>
    /// <param name="message">A sentence that says what failed and what to do about it.</param>
    /// <param name="errno">The errno of the failing system call, or 0 when the failure is not a system call's.</param>
    public DriverException(string message, int errno = 0)
        : base(message)
    {
        Errno = errno;
    }

    /// <summary>The errno of the failing call, or 0.</summary>
    public int Errno { get; }

    /// <summary>Builds an exception from the last P/Invoke error: "<paramref name="what"/> failed: strerror. <paramref name="advice"/>".</summary>
    internal static DriverException FromLastError(string what, string advice)
    {
        int errno = Marshal.GetLastPInvokeError();
        return new DriverException($"{what} failed: {Libc.Describe(errno)} (errno {errno}). {advice}", errno);
    }
}

using System.Runtime.InteropServices;

namespace Skiff.Engine.Interop;

/// <summary>
/// What an idle loop blocks in: ppoll(2) on the device's descriptor and an eventfd(2) that application threads
/// and other cores write to wake it. Linux only.
/// </summary>
internal static unsafe partial class PollWait
{
    private const short POLLIN = 0x001;
    private const int EFD_CLOEXEC = 0x80000;
    private const int EFD_NONBLOCK = 0x800;
    private const int EINTR = 4;

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    private const long NanosPerSecond = 1_000_000_000;

    [LibraryImport("libc", EntryPoint = "ppoll", SetLastError = true)]
    private static partial int PPoll(PollFd* fds, nuint count, TimeSpec* timeout, void* sigmask);

    [LibraryImport("libc", EntryPoint = "eventfd", SetLastError = true)]
    private static partial int EventFd(uint initial, int flags);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static partial nint Read(int fd, void* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    private static partial nint Write(int fd, void* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);

    /// <summary>A non-blocking eventfd, or -1 with the errno in <paramref name="error"/>.</summary>
    public static int CreateEventFd(out int error)
    {
        int fd = EventFd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        error = fd < 0 ? Marshal.GetLastPInvokeError() : 0;
        return fd;
    }

    /// <summary>Adds one to the eventfd, making it readable. Safe from any thread.</summary>
    public static void Signal(int eventFd)
    {
        ulong one = 1;
        Write(eventFd, &one, sizeof(ulong)); // EAGAIN only at 2^64-2 pending signals: it is readable anyway
    }

    /// <summary>
    /// Blocks until <paramref name="deviceFd"/> (-1: none), any of <paramref name="moreDeviceFds"/> (a loop serving several
    /// ports wakes for frames on any of them) or <paramref name="eventFd"/> is readable, or <paramref name="timeoutNanos"/>
    /// pass; then clears the eventfd. ppoll(2), so the timeout is kept to the nanosecond (poll(2) rounds up to milliseconds).
    /// Returns 0 or the errno of a failed ppoll (EINTR counts as woken).
    /// </summary>
    public static int Wait(int deviceFd, ReadOnlySpan<int> moreDeviceFds, int eventFd, long timeoutNanos)
    {
        int count = moreDeviceFds.Length + 2;
        PollFd* fds = stackalloc PollFd[count];
        fds[0] = new PollFd { Fd = eventFd, Events = POLLIN };
        fds[1] = new PollFd { Fd = deviceFd, Events = POLLIN }; // a negative fd is ignored (poll(2))
        for (int i = 0; i < moreDeviceFds.Length; i++)
        {
            fds[i + 2] = new PollFd { Fd = moreDeviceFds[i], Events = POLLIN };
        }
        TimeSpec timeout = new() { Seconds = timeoutNanos / NanosPerSecond, Nanoseconds = timeoutNanos % NanosPerSecond };
        int n = PPoll(fds, (nuint)count, &timeout, null);
        int error = n < 0 ? Marshal.GetLastPInvokeError() : 0;
        if (n > 0 && (fds[0].Revents & POLLIN) != 0)
        {
            ulong value;
            Read(eventFd, &value, sizeof(ulong));
        }
        return error == EINTR ? 0 : error;
    }

    public static void CloseFd(int fd) => Close(fd);
}

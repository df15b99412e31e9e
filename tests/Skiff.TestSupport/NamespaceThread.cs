using System.Runtime.InteropServices;
using Skiff.TestSupport.Interop;

namespace Skiff.TestSupport;

/// <summary>
/// Runs code inside a network namespace created with <c>ip netns add</c>. setns(2) changes only the calling
/// OS thread, so the code runs on a fresh thread that enters the namespace and then ends. Sockets and TAP
/// devices opened there keep that namespace for life and can be used from any thread afterwards.
/// </summary>
public static class NamespaceThread
{
    public static T Run<T>(string netns, Func<T> action)
    {
        T? result = default;
        Exception? failure = null;
        Thread thread = new(() =>
        {
            try
            {
                int fd = Namespaces.Open($"/var/run/netns/{netns}", Namespaces.O_RDONLY | Namespaces.O_CLOEXEC);
                if (fd < 0)
                {
                    throw new InvalidOperationException($"Cannot open network namespace {netns}: errno {Marshal.GetLastPInvokeError()}.");
                }
                try
                {
                    if (Namespaces.SetNs(fd, Namespaces.CLONE_NEWNET) != 0)
                    {
                        throw new InvalidOperationException($"setns into {netns} failed: errno {Marshal.GetLastPInvokeError()}.");
                    }
                }
                finally
                {
                    Namespaces.Close(fd);
                }
                result = action();
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        thread.Start();
        thread.Join();
        if (failure is not null)
        {
            throw new InvalidOperationException($"Code run in namespace {netns} failed: {failure.Message}", failure);
        }
        return result!;
    }
}

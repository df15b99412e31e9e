namespace Skiff.Drivers.Linux.Tests.Support;

/// <summary>
/// One network namespace created by a test (<c>skiff-t-&lt;random&gt;-&lt;suffix&gt;</c>, loopback up) and deleted on
/// dispose, with everything in it. Names are unique, so parallel tests and the host are never touched.
/// </summary>
public sealed class TestNamespace : IDisposable
{
    public TestNamespace(string suffix)
    {
        Id = Convert.ToHexStringLower(BitConverter.GetBytes(Random.Shared.Next()))[..6];
        Name = $"skiff-t-{Id}-{suffix}";
        ExternalTools.Check("ip", "netns", "add", Name);
        try
        {
            ExternalTools.Check("ip", "-n", Name, "link", "set", "lo", "up");
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Six random hex digits, for names of interfaces made in the namespace.</summary>
    public string Id { get; }

    public string Name { get; }

    /// <summary>Runs <c>ip -n &lt;namespace&gt; <paramref name="args"/></c> and fails unless it exits 0.</summary>
    public ExternalTools.Result Ip(params string[] args) => ExternalTools.Check("ip", ["-n", Name, .. args]);

    /// <summary>True if <paramref name="link"/> exists in the namespace.</summary>
    public bool HasLink(string link) => ExternalTools.Run("ip", ["-n", Name, "link", "show", link]).ExitCode == 0;

    /// <summary>
    /// Waits until <paramref name="link"/> no longer exists in the namespace, polling <c>ip link show</c> every 20 ms,
    /// and fails the test if it still exists after <paramref name="timeout"/>. The kernel removes an interface once the
    /// last reference to it is gone, which can be after the call that dropped ours returned (a process forked meanwhile
    /// holds a copy of every descriptor until it execs), so a test must not expect it gone at once.
    /// </summary>
    /// <returns>How long the link took to go.</returns>
    public TimeSpan WaitUntilLinkGone(string link, TimeSpan timeout)
    {
        System.Diagnostics.Stopwatch waited = System.Diagnostics.Stopwatch.StartNew();
        while (HasLink(link))
        {
            if (waited.Elapsed >= timeout)
            {
                Assert.Fail($"{link} still exists in {Name} after waiting {waited.ElapsedMilliseconds} ms (bound {timeout.TotalMilliseconds:F0} ms) for the kernel to remove it.");
            }
            Thread.Sleep(20);
        }
        return waited.Elapsed;
    }

    public void Dispose() => ExternalTools.Run("ip", ["netns", "del", Name]);
}

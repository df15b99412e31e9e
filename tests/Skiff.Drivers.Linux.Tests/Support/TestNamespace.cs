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

    public void Dispose() => ExternalTools.Run("ip", ["netns", "del", Name]);
}

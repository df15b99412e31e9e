using Skiff.Cli.Serve;
using Skiff.Wire;

namespace Skiff.Cli.Tests;

/// <summary>IPv6 on the command line: repeatable <c>--ip</c> of either family, and <c>skiff fetch http://[v6]/</c>.</summary>
public sealed class Ipv6ArgumentsTests
{
    [Theory]
    [InlineData("http://[fd00::2]/bytes/10", "fd00::2", 80, "[fd00::2]", "/bytes/10")]
    [InlineData("http://[fd00::2]:8080/", "fd00::2", 8080, "[fd00::2]:8080", "/")]
    [InlineData("http://10.0.0.2/", "10.0.0.2", 80, "10.0.0.2", "/")]
    public void A_fetch_url_takes_an_ipv4_or_a_bracketed_ipv6_host(string url, string address, int port, string host, string path)
    {
        Assert.True(HttpFetcher.TryParseUrl(url, out HttpFetcher.Target target, out string problem), problem);
        Assert.True(IpAddress.TryParse(address, out IpAddress expected));
        Assert.Equal(new HttpFetcher.Target(expected, (ushort)port, host, path), target);
    }

    [Theory]
    [InlineData("http://[ff02::1]/")]
    [InlineData("http://example.org/")]
    public void A_fetch_url_with_a_name_or_a_multicast_host_is_refused_with_a_sentence(string url)
    {
        Assert.False(HttpFetcher.TryParseUrl(url, out _, out string problem));
        Assert.Contains("http://[fd00::2]/", problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("10.0.0.2/24,10.0.0.3/24", "are both IPv4; give one IPv4 address")]
    [InlineData("fd00::2/64", "no IPv4 --ip; give one")]
    [InlineData("10.0.0.2/24,ff02::1/64", "--ip 'ff02::1/64' is not a unicast IPv6 address")]
    public void Repeated_ip_takes_one_ipv4_and_any_ipv6_and_says_what_is_wrong(string ips, string message)
    {
        List<string> args = ["fetch", "--driver", "afpacket", "--iface", "lo"];
        foreach (string ip in ips.Split(','))
        {
            args.AddRange(["--ip", ip]);
        }
        args.Add("http://[fd00::2]/");
        CliRunner.Result r = CliRunner.Run([.. args]);
        Assert.Equal(ExitCodes.Usage, r.ExitCode);
        Assert.Contains(message, r.Error, StringComparison.Ordinal);
    }
}

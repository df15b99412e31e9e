using System.Diagnostics;

namespace Skiff.Cli.Tests;

/// <summary>
/// One exit-code convention for every command (<see cref="ExitCodes"/>): parse errors, out-of-range numbers, NaN and
/// infinities are usage errors (2), never a "job failed" (1); <c>skiff --help</c> states the convention.
/// </summary>
public sealed class ExitCodeTests
{
    public static TheoryData<string[]> UnknownOptions => new()
    {
        { ["demo", "--no-such-option"] },
        { ["read", "--no-such-option", "x.pcap"] },
        { ["serve", "--no-such-option"] },
        { ["stats", "--no-such-option"] },
        { ["send", "--no-such-option"] },
        { ["fetch", "--no-such-option"] },
        { ["rxdrop", "--no-such-option"] },
        { ["gen", "--no-such-option"] },
        { ["no-such-command"] },
        { ["serve", "--driver", "afpacket"] }, // required options missing
    };

    [Theory]
    [MemberData(nameof(UnknownOptions))]
    public void A_parse_error_is_a_usage_error_on_every_command(string[] args)
    {
        CliRunner.Result r = CliRunner.Run(args);
        Assert.Equal(ExitCodes.Usage, r.ExitCode);
        Assert.NotEqual("", r.Error.Trim()); // System.CommandLine says what was wrong
    }

    [Theory]
    [InlineData("--loss", "NaN", "--loss takes a percentage from 0 to 100, not NaN.")]
    [InlineData("--loss", "101", "--loss takes a percentage from 0 to 100, not 101.")]
    [InlineData("--reorder", "-1", "--reorder takes a percentage from 0 to 100, not -1.")]
    [InlineData("--delay-ms", "Infinity", "--delay-ms takes a number from 0 to 60000, not Infinity.")]
    [InlineData("--rate-mbps", "-Infinity", "--rate-mbps takes a number of at least 0, not -Infinity.")]
    [InlineData("--rate-mbps", "NaN", "--rate-mbps takes a number of at least 0, not NaN.")]
    public void Demo_refuses_nan_infinite_and_out_of_range_impairments(string option, string value, string message)
    {
        CliRunner.Result r = CliRunner.Run("demo", "--bytes", "1K", option, value);
        Assert.Equal(ExitCodes.Usage, r.ExitCode);
        Assert.Contains(message, r.Error);
        Assert.DoesNotContain("integrity", r.Output); // nothing ran
    }

    [Theory]
    [InlineData("gen", "--seconds", "NaN")]
    [InlineData("gen", "--seconds", "-1")]
    [InlineData("gen", "--rate", "-5")]
    [InlineData("gen", "--count", "-1")]
    [InlineData("rxdrop", "--seconds", "Infinity")]
    [InlineData("rxdrop", "--seconds", "-0.5")]
    public void Durations_rates_and_counts_refuse_negative_nan_and_infinite_values(string command, string option, string value)
    {
        string[] required = command == "gen"
            ? ["--driver", "afpacket", "--iface", "lo", "--dst-mac", "02:00:00:00:00:02", "--dst-ip", "10.0.0.2"]
            : ["--driver", "afpacket", "--iface", "lo"];
        CliRunner.Result r = CliRunner.Run([command, .. required, option, value]);
        Assert.Equal(ExitCodes.Usage, r.ExitCode);
        Assert.Contains($"{option} takes a number", r.Error);
    }

    [Fact]
    public void Help_states_the_convention()
    {
        CliRunner.Result r = CliRunner.Run("--help");
        Assert.Equal(ExitCodes.Success, r.ExitCode);
        Assert.Contains(ExitCodes.Description, r.Output.ReplaceLineEndings(" ").Replace("  ", " ", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Fact]
    public void A_failed_job_is_1_and_not_a_usage_error()
    {
        // A control socket nobody serves: the job (reading counters) failed; the command line was fine.
        CliRunner.Result r = CliRunner.Run("stats", "--socket", Path.Combine(Path.GetTempPath(), $"skiff-none-{Guid.NewGuid():N}.sock"), "--once");
        Assert.Equal(ExitCodes.JobFailed, r.ExitCode);
    }

    /// <summary>
    /// <c>timeout</c> and a terminal's process-group Ctrl-C deliver two signals at once: serve absorbs the second and
    /// still prints its counters and exits 0; SIGTERM and SIGHUP stop it the same way.
    /// </summary>
    [PrivilegedTheory("ip", "ping", "kill", "sh")]
    [InlineData("INT")]
    [InlineData("TERM")]
    [InlineData("HUP")]
    public void Two_signals_at_once_still_print_the_counters(string signal)
    {
        using NetnsPair pair = new(kernelAddressesOnA: false);
        using Process serve = ServeProcess.Start("afpacket", pair.NamespaceA, pair.LinkA, $"{pair.Ipv4A}/24", pair.NamespaceB, pair.Ipv4A, ["--http", "80"]);
        Task<string> output = serve.StandardOutput.ReadToEndAsync();
        ExternalTools.Check("sh", "-c", $"kill -{signal} {serve.Id}; kill -{signal} {serve.Id}");
        if (!serve.WaitForExit(15_000))
        {
            serve.Kill(entireProcessTree: true);
            Assert.Fail($"skiff serve did not stop within 15 s of two SIG{signal}s");
        }
        serve.WaitForExit();
        Assert.True(serve.ExitCode == 0, $"skiff serve exited {serve.ExitCode} after two SIG{signal}s: {serve.StandardError.ReadToEnd()}");
        Assert.Contains("skiff serve: stopped", output.Result);
    }
}

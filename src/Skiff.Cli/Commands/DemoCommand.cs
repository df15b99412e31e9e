using System.CommandLine;
using Skiff.Cli.Demo;

namespace Skiff.Cli.Commands;

/// <summary>
/// <c>skiff demo</c>: two stacks over the in-memory link; ARP, ping, UDP echo, and a TCP transfer in both
/// directions at once, with optional seeded impairments. Exit 0 when both streams arrive intact
/// (<c>integrity: ok</c>), 1 when not, 2 for bad arguments.
/// </summary>
public static class DemoCommand
{
    public static Command Create()
    {
        Option<string> bytes = new("--bytes") { Description = "TCP bytes each way (suffixes K, M, G; binary). Default 64M.", DefaultValueFactory = _ => "64M" };
        Option<double> loss = new Option<double>("--loss") { Description = "Percent of frames lost on each side's transmit path." }.InRange(0, 100, "a percentage from 0 to 100");
        Option<double> reorder = new Option<double>("--reorder") { Description = "Percent of frames held back behind the next one." }.InRange(0, 100, "a percentage from 0 to 100");
        Option<double> duplicate = new Option<double>("--duplicate") { Description = "Percent of frames sent twice." }.InRange(0, 100, "a percentage from 0 to 100");
        Option<double> corrupt = new Option<double>("--corrupt") { Description = "Percent of frames with one bit flipped (caught by checksums)." }.InRange(0, 100, "a percentage from 0 to 100");
        Option<double> delay = new Option<double>("--delay-ms") { Description = "One-way delay in milliseconds." }.InRange(0, 60_000);
        Option<double> rate = new Option<double>("--rate-mbps") { Description = "Rate limit of each direction in Mbit/s; 0 for none." }.InRange(0);
        Option<ulong> seed = new("--seed") { Description = "Seed for the impairments and the data streams. Default 1.", DefaultValueFactory = _ => 1UL };
        Option<string?> pcap = new("--pcap") { Description = "Write the wire, as seen at 10.0.0.1, to this pcapng file." };
        Command command = new("demo", CommandHelp.WithExamples("Two Skiff stacks over the in-memory link: ARP, ping, UDP echo and a two-way TCP transfer checked by SHA-256.",
            "skiff demo", "skiff demo --bytes 16M --loss 2 --reorder 1 --seed 7", "skiff demo --bytes 1M --pcap demo.pcapng"))
        {
            bytes, loss, reorder, duplicate, corrupt, delay, rate, seed, pcap,
        };
        command.SetAction(result =>
        {
            TextWriter error = result.InvocationConfiguration.Error;
            if (!TryParseBytes(result.GetValue(bytes)!, out long n))
            {
                error.WriteLine($"skiff demo: --bytes '{result.GetValue(bytes)}' is not a size; write e.g. 1048576, 512K, 64M or 1G.");
                return 2;
            }
            DemoOptions options = new()
            {
                Bytes = n,
                LossPercent = result.GetValue(loss),
                ReorderPercent = result.GetValue(reorder),
                DuplicatePercent = result.GetValue(duplicate),
                CorruptPercent = result.GetValue(corrupt),
                DelayMillis = result.GetValue(delay),
                RateMbps = result.GetValue(rate),
                Seed = result.GetValue(seed),
                PcapPath = result.GetValue(pcap),
            };
            return DemoRunner.Run(options, result.InvocationConfiguration.Output, error);
        });
        return command;
    }

    /// <summary>Parses "1048576", "512K", "64M", "1G" (binary multiples).</summary>
    internal static bool TryParseBytes(string text, out long bytes)
    {
        bytes = 0;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }
        text = text.Trim();
        long multiplier = char.ToUpperInvariant(text[^1]) switch { 'K' => 1L << 10, 'M' => 1L << 20, 'G' => 1L << 30, _ => 1 };
        string digits = multiplier == 1 ? text : text[..^1];
        if (!long.TryParse(digits, System.Globalization.NumberStyles.None, null, out long n) || n <= 0 || n > (1L << 40) / multiplier)
        {
            return false;
        }
        bytes = n * multiplier;
        return true;
    }
}

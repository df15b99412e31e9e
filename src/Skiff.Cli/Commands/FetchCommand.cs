using System.CommandLine;
using Skiff.Cli.Drivers;
using Skiff.Cli.Serve;

namespace Skiff.Cli.Commands;

/// <summary>
/// <c>skiff fetch URL</c>: an HTTP/1.1 GET over Skiff's TCP that prints the status line, the body's length and its
/// SHA-256 (<see cref="HttpFetcher"/>). Exit 0 for a complete 2xx/3xx response, 1 otherwise, 2 for bad arguments,
/// 3 when the device cannot be opened.
/// </summary>
public static class FetchCommand
{
    public static Command Create()
    {
        StackOptionSet stack = new(withStack: true);
        Argument<string> url = new("url") { Description = "An http:// URL whose host is an IPv4 address, e.g. http://10.0.0.1/bytes/1048576." };
        Command command = new("fetch", CommandHelp.WithExamples("HTTP GET over Skiff's TCP: print the status, the body's length and its SHA-256.",
            "skiff fetch --driver afpacket --iface eth1 --ip 192.0.2.20/24 http://192.0.2.10/bytes/1048576"));
        stack.AddTo(command);
        command.Arguments.Add(url);
        command.SetAction(result =>
        {
            TextWriter output = result.InvocationConfiguration.Output;
            TextWriter error = result.InvocationConfiguration.Error;
            StackSettings? settings = stack.Read(result, "skiff fetch", error);
            if (settings is null)
            {
                return 2;
            }
            if (!HttpFetcher.TryParseUrl(result.GetValue(url)!, out HttpFetcher.Target target, out string problem))
            {
                error.WriteLine($"skiff fetch: {problem}");
                return 2;
            }
            using StopSignal stop = new();
            using StackHost? host = StackHost.TryOpen(settings, "skiff fetch", error);
            if (host is null)
            {
                return DriverFactory.ExitDeviceUnavailable;
            }
            return new HttpFetcher(host, output).Run(target, stop.Token);
        });
        return command;
    }
}

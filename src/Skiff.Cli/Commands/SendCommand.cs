using System.CommandLine;
using Skiff.Cli.Drivers;
using Skiff.Cli.Serve;
using Skiff.Wire;

namespace Skiff.Cli.Commands;

/// <summary>
/// <c>skiff send</c>: a TCP client over Skiff that sends a seeded stream to an echo server, reads it back, and prints
/// the SHA-256 of both and the rate (<see cref="EchoSender"/>). Exit 0 on a match, 1 on a mismatch or failed transfer,
/// 2 for bad arguments, 3 when the device cannot be opened.
/// </summary>
public static class SendCommand
{
    public static Command Create()
    {
        StackOptionSet stack = new(withStack: true);
        Option<string> to = new("--to") { Required = true, Description = "The echo server, as IP:PORT." };
        Option<string> bytes = new("--bytes") { Description = "Bytes to send (suffixes K, M, G; binary). Default 16M.", DefaultValueFactory = _ => "16M" };
        Option<ulong> seed = new("--seed") { Description = "Seed of the data stream. Default 1.", DefaultValueFactory = _ => 1UL };
        Command command = new("send", CommandHelp.WithExamples("Send a seeded stream to a TCP echo server over Skiff, read it back, and compare SHA-256.",
            "skiff send --driver afpacket --iface eth1 --ip 192.0.2.20/24 --to 192.0.2.10:7 --bytes 64M"));
        stack.AddTo(command);
        command.Options.Add(to);
        command.Options.Add(bytes);
        command.Options.Add(seed);
        command.SetAction(result =>
        {
            TextWriter output = result.InvocationConfiguration.Output;
            TextWriter error = result.InvocationConfiguration.Error;
            StackSettings? settings = stack.Read(result, "skiff send", error);
            if (settings is null)
            {
                return 2;
            }
            if (!TryParseEndpoint(result.GetValue(to)!, out Ipv4Address address, out ushort port))
            {
                error.WriteLine($"skiff send: --to '{result.GetValue(to)}' is not IP:PORT; write e.g. 10.0.0.1:7.");
                return 2;
            }
            if (!DemoCommand.TryParseBytes(result.GetValue(bytes)!, out long n))
            {
                error.WriteLine($"skiff send: --bytes '{result.GetValue(bytes)}' is not a size; write e.g. 1048576, 512K, 64M or 1G.");
                return 2;
            }
            using StopSignal stop = new();
            using StackHost? host = StackHost.TryOpen(settings, "skiff send", error);
            if (host is null)
            {
                return DriverFactory.ExitDeviceUnavailable;
            }
            return new EchoSender(host, output).Run(address, port, n, result.GetValue(seed), stop.Token);
        });
        return command;
    }

    /// <summary>Parses "A.B.C.D:PORT" with a non-zero port.</summary>
    internal static bool TryParseEndpoint(string text, out Ipv4Address address, out ushort port)
    {
        address = default;
        port = 0;
        int colon = text.LastIndexOf(':');
        return colon > 0
            && Ipv4Address.TryParse(text.AsSpan(0, colon), out address)
            && ushort.TryParse(text.AsSpan(colon + 1), System.Globalization.NumberStyles.None, null, out port)
            && port != 0
            && address.IsUnicast;
    }
}

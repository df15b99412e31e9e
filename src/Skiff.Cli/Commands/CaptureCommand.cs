using System.Buffers.Binary;
using System.CommandLine;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Skiff.Cli.Drivers;
using Skiff.Engine.Capture;
using Skiff.Engine.Control;

namespace Skiff.Cli.Commands;

/// <summary>
/// <c>skiff capture</c>: attaches to a running <c>skiff serve</c>, Kestrel app or any process serving a Skiff control
/// socket, and writes a live capture of its engine loops as pcapng (to a file, to standard output with <c>-w -</c>, or,
/// without <c>-w</c>, printed as <c>skiff read</c> prints when it ends). Ctrl-C, <c>--seconds</c> or <c>-c</c> end it;
/// the application keeps serving. Exit 0; 1 when the socket cannot be reached or refuses the capture; 2 for bad
/// arguments or when no single socket was found.
/// </summary>
public static class CaptureCommand
{
    private static readonly TimeSpan s_connectTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan s_finishTimeout = TimeSpan.FromSeconds(15);

    public static Command Create()
    {
        Option<string?> socket = new("--socket") { Description = "The control socket of the process to capture (skiff serve's banner prints it). Default: the only one running." };
        Option<int?> pid = new("--pid") { Description = "The process to capture, found by its default control socket (skiff-KIND-PID.sock)." };
        Option<string[]> point = new("--point") { Description = "Where to capture: rx (received, before the hooks), tx (sent, after the TX hooks), drop (dropped, with the cause) or all; repeatable. Default rx and tx.", AllowMultipleArgumentsPerToken = false };
        Option<int?> queue = new("--queue") { Description = "Only the engine loop of this queue (core). Default every loop." };
        Option<int> snap = new("-s", "--snaplen") { Description = "Bytes kept of each frame. Default 262144 (all).", DefaultValueFactory = _ => SkiffCaptureOptions.DefaultSnapLength };
        Option<long> count = new Option<long>("-c", "--count") { Description = "End after this many frames. Default 0: no limit." }.InRange(0);
        Option<double> seconds = new Option<double>("--seconds") { Description = "End after this many seconds. Default 0: until Ctrl-C (or -c)." }.InRange(0);
        Option<string?> write = new("-w") { Description = "Write the pcapng to FILE, or to standard output with '-' (skiff capture -w - | tcpdump -r -)." };
        Option<int> ring = new("--ring-kb") { Description = "KiB of the ring between each engine loop and the capture (a power of two, 64 to 1048576). Default 4096.", DefaultValueFactory = _ => 4096 };
        Argument<string[]> expression = new("expression") { Description = "A tcpdump filter expression (pcap-filter(7)); frames that do not match are not captured.", Arity = ArgumentArity.ZeroOrMore };
        Command command = new("capture", CommandHelp.WithExamples("Capture a running Skiff's traffic (received, sent, dropped) as pcapng, filtered by a tcpdump expression.",
            "skiff capture -w - 'tcp port 80' | tcpdump -n -r -", "skiff capture --pid 1234 --point drop -c 100", "skiff capture --point all -s 128 --seconds 10 -w run.pcapng 'icmp or arp'"));
        foreach (Option o in new Option[] { socket, pid, point, queue, snap, count, seconds, write, ring })
        {
            command.Options.Add(o);
        }
        command.Arguments.Add(expression);
        command.SetAction(result =>
        {
            TextWriter output = result.InvocationConfiguration.Output;
            TextWriter error = result.InvocationConfiguration.Error;
            CapturePoints points = CapturePoints.None;
            foreach (string p in result.GetValue(point) ?? [])
            {
                CapturePoints? one = p.ToLowerInvariant() switch
                {
                    "rx" => CapturePoints.Rx,
                    "tx" => CapturePoints.Tx,
                    "drop" => CapturePoints.Drop,
                    "all" => CapturePoints.All,
                    _ => null,
                };
                if (one is null)
                {
                    error.WriteLine($"skiff capture: --point '{p}' is not a capture point; give rx, tx, drop or all.");
                    return 2;
                }
                points |= one.Value;
            }
            SkiffCaptureOptions options = new()
            {
                Points = points == CapturePoints.None ? CapturePoints.Rx | CapturePoints.Tx : points,
                Queue = result.GetValue(queue),
                SnapLength = result.GetValue(snap),
                Count = result.GetValue(count),
                RingBytes = (int)Math.Min(int.MaxValue, result.GetValue(ring) * 1024L),
                Filter = string.Join(' ', result.GetValue(expression) ?? []),
            };
            try
            {
                options.Validate();
            }
            catch (ArgumentException e)
            {
                error.WriteLine($"skiff capture: {e.Message}");
                return 2;
            }
            double s = result.GetValue(seconds);
            string? path = result.GetValue(socket) ?? Find(result.GetValue(pid), error);
            if (path is null)
            {
                return 2;
            }
            using StopSignal stop = new();
            return Run(path, options, result.GetValue(write), TimeSpan.FromSeconds(s), output, error, stop.Token);
        });
        return command;
    }

    /// <summary>The one control socket (of <paramref name="pid"/>, when given); otherwise a sentence and null.</summary>
    internal static string? Find(int? pid, TextWriter error)
    {
        IReadOnlyList<string> directories = SkiffControlSockets.SearchDirectories();
        List<string> found = SkiffControlSockets.Discover(directories, pid);
        if (found.Count == 1)
        {
            return found[0];
        }
        string what = pid is int p ? $"process {p}" : "running Skiff process";
        if (found.Count == 0)
        {
            error.WriteLine($"skiff capture: no control socket of a {what} was found (skiff-KIND-PID.sock in {string.Join(" or ", directories)}); start skiff serve (or call SkiffStack.StartControlServer), or give the socket with --socket PATH.");
        }
        else
        {
            error.WriteLine($"skiff capture: {found.Count} control sockets were found; choose one with --socket PATH:");
            foreach (string f in found)
            {
                error.WriteLine($"  {f}");
            }
        }
        return null;
    }

    /// <summary>Captures from the socket at <paramref name="path"/> until the count, <paramref name="duration"/> or <paramref name="stop"/>; returns the exit code.</summary>
    internal static int Run(string path, SkiffCaptureOptions options, string? write, TimeSpan duration, TextWriter output, TextWriter error, CancellationToken stop,
        Func<Stream>? standardOutput = null)
    {
        string? temporary = write is null ? Path.Combine(Path.GetTempPath(), $"skiff-capture-{Environment.ProcessId}-{Guid.NewGuid():N}.pcapng") : null;
        Stream destination;
        try
        {
            destination = write == "-" ? (standardOutput ?? Console.OpenStandardOutput)() : new FileStream(write ?? temporary!, FileMode.Create, FileAccess.Write, FileShare.Read);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"skiff capture: cannot write {write}: {e.Message}");
            return 1;
        }
        BlockCounter counter = new();
        try
        {
            using (destination)
            {
                int code = Capture(path, options, destination, counter, duration, error, stop);
                if (code != 0)
                {
                    return code;
                }
            }
            error.WriteLine($"skiff capture: {counter.Packets} frames written; {counter.Received} seen, {counter.Received - counter.Accepted} filtered out, {counter.Dropped} lost (ring full)");
            if (temporary is not null)
            {
                return ReadCommand.Run(temporary, null, json: false, output, error) == 0 ? 0 : 1;
            }
            return 0;
        }
        finally
        {
            if (temporary is not null)
            {
                File.Delete(temporary);
            }
        }
    }

    private static int Capture(string path, SkiffCaptureOptions options, Stream destination, BlockCounter counter, TimeSpan duration, TextWriter error, CancellationToken stop)
    {
        if (!File.Exists(path))
        {
            error.WriteLine($"skiff capture: No control socket at {path}; is the Skiff process running? skiff serve's banner prints its socket's path.");
            return 1;
        }
        using Socket socket = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        byte[] buffer = new byte[64 * 1024];
        int start, filled;
        try
        {
            socket.ReceiveTimeout = (int)s_connectTimeout.TotalMilliseconds;
            socket.Connect(new UnixDomainSocketEndPoint(path));
            socket.Send(SkiffControlProtocol.CaptureRequest(options));
            // The answer line, then pcapng: keep what came after the newline.
            filled = 0;
            int newline;
            while ((newline = Array.IndexOf(buffer, (byte)'\n', 0, filled)) < 0)
            {
                int n = socket.Receive(buffer.AsSpan(filled));
                if (n == 0 || filled + n == buffer.Length)
                {
                    error.WriteLine($"skiff capture: {path} closed without answering; is it a Skiff control socket of the same version?");
                    return 1;
                }
                filled += n;
            }
            string answer = Encoding.UTF8.GetString(buffer, 0, newline);
            using (JsonDocument json = JsonDocument.Parse(answer))
            {
                if (json.RootElement.TryGetProperty("error", out JsonElement sentence))
                {
                    error.WriteLine($"skiff capture: the Skiff process answered: {sentence.GetString()}");
                    return 1;
                }
            }
            start = newline + 1;
        }
        catch (SocketException e)
        {
            error.WriteLine(e.SocketErrorCode switch
            {
                SocketError.ConnectionRefused => $"skiff capture: nothing listens on {path}; the process that made it has stopped.",
                SocketError.AccessDenied => $"skiff capture: permission denied on {path}; run skiff capture as the user that runs the Skiff process (for example with sudo).",
                SocketError.TimedOut or SocketError.WouldBlock => $"skiff capture: {path} did not answer in time; the process may be stuck.",
                _ => $"skiff capture: cannot use {path}: {e.Message}.",
            });
            return 1;
        }
        catch (JsonException)
        {
            error.WriteLine($"skiff capture: the answer on {path} is not JSON; is it a Skiff control socket?");
            return 1;
        }
        // Ctrl-C or the duration: shut our side down; the process then ends the capture, writes its statistics and closes.
        long deadline = duration > TimeSpan.Zero ? Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency) : long.MaxValue;
        bool shut = false;
        socket.ReceiveTimeout = 200;
        try
        {
            Write(destination, counter, buffer.AsSpan(start, filled - start));
            while (true)
            {
                if (!shut && (stop.IsCancellationRequested || Stopwatch.GetTimestamp() >= deadline))
                {
                    socket.Shutdown(SocketShutdown.Send);
                    shut = true;
                    deadline = Stopwatch.GetTimestamp() + (long)(s_finishTimeout.TotalSeconds * Stopwatch.Frequency);
                }
                else if (shut && Stopwatch.GetTimestamp() >= deadline)
                {
                    error.WriteLine($"skiff capture: the Skiff process did not end the capture within {s_finishTimeout.TotalSeconds} s; the file may lack its statistics.");
                    return 1;
                }
                int n;
                try
                {
                    n = socket.Receive(buffer);
                }
                catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock)
                {
                    destination.Flush();
                    continue;
                }
                if (n == 0)
                {
                    break;
                }
                Write(destination, counter, buffer.AsSpan(0, n));
            }
            destination.Flush();
            return 0;
        }
        catch (SocketException e)
        {
            error.WriteLine($"skiff capture: the connection to {path} failed ({e.Message}); the Skiff process has probably stopped.");
            return 1;
        }
        catch (IOException e)
        {
            // The reader of -w - went away (tcpdump -c N exits): end the capture quietly.
            error.WriteLine($"skiff capture: the output closed ({e.Message}); capture ended.");
            return 0;
        }
    }

    private static void Write(Stream destination, BlockCounter counter, ReadOnlySpan<byte> bytes)
    {
        destination.Write(bytes);
        counter.Feed(bytes);
    }

    /// <summary>Follows the pcapng blocks going by: counts Enhanced Packet Blocks and sums the statistics blocks' counters.</summary>
    private sealed class BlockCounter
    {
        private readonly byte[] _header = new byte[8];
        private byte[] _isb = [];
        private int _headerFilled;
        private long _remaining; // bytes of the current block still to pass
        private int _isbFilled;
        private bool _inIsb;

        public long Packets { get; private set; }
        public long Received { get; private set; }
        public long Dropped { get; private set; }
        public long Accepted { get; private set; }

        public void Feed(ReadOnlySpan<byte> bytes)
        {
            while (!bytes.IsEmpty)
            {
                if (_remaining == 0)
                {
                    int take = Math.Min(8 - _headerFilled, bytes.Length);
                    bytes[..take].CopyTo(_header.AsSpan(_headerFilled));
                    _headerFilled += take;
                    bytes = bytes[take..];
                    if (_headerFilled < 8)
                    {
                        return;
                    }
                    _headerFilled = 0;
                    uint type = BinaryPrimitives.ReadUInt32LittleEndian(_header);
                    uint length = BinaryPrimitives.ReadUInt32LittleEndian(_header.AsSpan(4));
                    _remaining = Math.Max(0, (long)length - 8);
                    Packets += type == 6 ? 1 : 0;
                    _inIsb = type == 5 && length <= 4096;
                    if (_inIsb)
                    {
                        _isb = new byte[_remaining];
                        _isbFilled = 0;
                    }
                    continue;
                }
                int chunk = (int)Math.Min(_remaining, bytes.Length);
                if (_inIsb)
                {
                    bytes[..chunk].CopyTo(_isb.AsSpan(_isbFilled));
                    _isbFilled += chunk;
                }
                bytes = bytes[chunk..];
                _remaining -= chunk;
                if (_remaining == 0 && _inIsb)
                {
                    ReadStatistics(_isb);
                }
            }
        }

        private void ReadStatistics(ReadOnlySpan<byte> body)
        {
            for (int p = 12; p + 4 <= body.Length - 4;)
            {
                ushort code = BinaryPrimitives.ReadUInt16LittleEndian(body[p..]);
                int length = BinaryPrimitives.ReadUInt16LittleEndian(body[(p + 2)..]);
                p += 4;
                if (code == 0 || p + length > body.Length)
                {
                    break;
                }
                if (length == 8)
                {
                    long value = (long)BinaryPrimitives.ReadUInt64LittleEndian(body[p..]);
                    switch (code)
                    {
                        case 4:
                            Received += value;
                            break;
                        case 5:
                            Dropped += value;
                            break;
                        case 6:
                            Accepted += value;
                            break;
                    }
                }
                p += (length + 3) & ~3;
            }
        }
    }
}

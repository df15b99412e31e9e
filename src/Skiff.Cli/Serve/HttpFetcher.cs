using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Skiff.Cli.Drivers;
using Skiff.Stack;
using Skiff.Stack.Tcp;
using Skiff.Wire;

namespace Skiff.Cli.Serve;

/// <summary>
/// The client of <c>skiff fetch</c>: one HTTP/1.1 GET over Skiff's TCP (with <c>Connection: close</c>), reading a
/// body framed by Content-Length or by the end of the connection, and printing the status line, the body's length
/// and its SHA-256. Exit 0 for a complete 2xx or 3xx response, 1 otherwise.
/// </summary>
internal sealed class HttpFetcher(StackHost host, TextWriter output)
{
    private const int MaxHeadBytes = 16 * 1024;

    /// <summary>How long connecting, or a response that moves no byte, may take.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The parts of an <c>http://A.B.C.D[:port]/path</c> or <c>http://[fd00::2][:port]/path</c> URL.</summary>
    public readonly record struct Target(IpAddress Address, ushort Port, string HostHeader, string PathAndQuery);

    /// <summary>How long an IPv6 fetch waits for a usable source address (duplicate address detection takes a second).</summary>
    private static readonly TimeSpan SourceWait = TimeSpan.FromSeconds(5);

    /// <summary>Parses an http URL whose host is an IPv4 or a bracketed IPv6 address (Skiff has no resolver); false with a sentence in <paramref name="problem"/> otherwise.</summary>
    public static bool TryParseUrl(string url, out Target target, out string problem)
    {
        target = default;
        problem = "";
        if (!Uri.TryCreate(url, UriKind.Absolute, out Uri? uri) || uri.Scheme != "http")
        {
            problem = $"'{url}' is not an http:// URL; write e.g. http://10.0.0.2/bytes/1048576 (https is not supported).";
            return false;
        }
        IpAddress address;
        if (uri.HostNameType == UriHostNameType.IPv4 && Ipv4Address.TryParse(uri.Host, out Ipv4Address v4))
        {
            address = v4;
        }
        else if (uri.HostNameType == UriHostNameType.IPv6 && Ipv6Address.TryParse(uri.Host.Trim('[', ']'), out Ipv6Address v6) && !v6.IsMulticast && !v6.IsUnspecified)
        {
            address = v6;
        }
        else
        {
            problem = $"the host '{uri.Host}' is not an IPv4 or IPv6 address; Skiff has no DNS resolver, so write the address, e.g. http://10.0.0.2/ or http://[fd00::2]/.";
            return false;
        }
        target = new Target(address, (ushort)uri.Port, uri.IsDefaultPort ? uri.Host : $"{uri.Host}:{uri.Port}", uri.PathAndQuery);
        return true;
    }

    public int Run(Target target, CancellationToken stop)
    {
        Interface iface = host.Interface;
        PollLoop loop = host.Loop;
        IpAddress source = target.Address.IsIpv4 ? iface.SourceFor(target.Address.Ipv4) : default(IpAddress);
        if (target.Address.IsIpv6)
        {
            // Our IPv6 addresses are tentative until duplicate address detection ends.
            loop.RunUntil(() => !iface.SourceFor(target.Address.Ipv6).IsUnspecified, SourceWait, stop);
            Ipv6Address v6 = iface.SourceFor(target.Address.Ipv6);
            if (v6.IsUnspecified)
            {
                output.WriteLine($"skiff fetch: no usable IPv6 address to reach {target.Address} from; give one with --ip fd00::1/64 (on the server's prefix).");
                return 1;
            }
            source = v6;
        }
        SocketHandle handle = iface.Tcp.Connect(loop.Now, source, target.Address, target.Port, null);
        TcpSocket socket = iface.Tcp.Get(handle);
        try
        {
            if (!loop.RunUntil(() => socket.State != TcpState.SynSent, Timeout, stop) || !socket.IsConnected)
            {
                output.WriteLine($"skiff fetch: could not connect to {target.Address.ToUriHost()}:{target.Port} ({(socket.State == TcpState.Closed ? socket.Error.ToString() : "no answer within " + Timeout.TotalSeconds + " s")}); check that a server listens there and the address is reachable.");
                return 1;
            }
            byte[] request = Encoding.ASCII.GetBytes($"GET {target.PathAndQuery} HTTP/1.1\r\nHost: {target.HostHeader}\r\nUser-Agent: skiff\r\nAccept: */*\r\nConnection: close\r\n\r\n");
            int requestSent = 0;
            byte[] head = new byte[MaxHeadBytes];
            int headLength = 0;
            int headEnd = -1;
            string statusLine = "";
            int status = 0;
            long contentLength = -1;
            long bodyBytes = 0;
            using IncrementalHash hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            string? problem = null;
            long start = Stopwatch.GetTimestamp();
            long lastProgress = start;
            long timeoutTicks = (long)(Timeout.TotalSeconds * Stopwatch.Frequency);
            bool complete = false;

            loop.Run(_ =>
            {
                bool moved = false;
                if (requestSent < request.Length && socket.CanSend)
                {
                    int n = socket.Send(request.AsSpan(requestSent));
                    requestSent += n;
                    moved |= n > 0;
                }
                while (socket.TryPeek(out ReadOnlySpan<byte> data))
                {
                    moved = true;
                    if (headEnd < 0)
                    {
                        int take = Math.Min(data.Length, head.Length - headLength);
                        data[..take].CopyTo(head.AsSpan(headLength));
                        int searchFrom = Math.Max(0, headLength - 3);
                        headLength += take;
                        int end = head.AsSpan(searchFrom, headLength - searchFrom).IndexOf("\r\n\r\n"u8);
                        if (end < 0)
                        {
                            socket.Consume(take);
                            if (headLength == head.Length)
                            {
                                problem = $"the response head is larger than {MaxHeadBytes} bytes.";
                                return new PollLoop.StepResult(true, true);
                            }
                            continue;
                        }
                        headEnd = searchFrom + end + 4;
                        if (!TryParseHead(head.AsSpan(0, headEnd), out statusLine, out status, out contentLength, out problem))
                        {
                            return new PollLoop.StepResult(true, true);
                        }
                        // Consume the head's bytes of this segment; the rest of it is body.
                        int headInSegment = take - (headLength - headEnd);
                        socket.Consume(headInSegment);
                        if (contentLength == 0)
                        {
                            complete = true;
                            return new PollLoop.StepResult(true, true);
                        }
                        continue;
                    }
                    int body = contentLength >= 0 ? (int)Math.Min(data.Length, contentLength - bodyBytes) : data.Length;
                    hash.AppendData(data[..body]);
                    bodyBytes += body;
                    socket.Consume(data.Length);
                    if (contentLength >= 0 && bodyBytes == contentLength)
                    {
                        complete = true;
                        return new PollLoop.StepResult(true, true);
                    }
                }
                if (socket.IsReceiveFinished)
                {
                    complete = headEnd >= 0 && contentLength < 0;
                    if (!complete)
                    {
                        problem = headEnd < 0 ? "the server closed the connection before a response head." : $"the server closed the connection after {bodyBytes} of {contentLength} body bytes.";
                    }
                    return new PollLoop.StepResult(true, true);
                }
                long now = Stopwatch.GetTimestamp();
                if (moved)
                {
                    lastProgress = now;
                }
                else if (now - lastProgress > timeoutTicks)
                {
                    problem = $"no byte arrived for {Timeout.TotalSeconds} s (state {socket.State}).";
                    return new PollLoop.StepResult(false, true);
                }
                return new PollLoop.StepResult(moved, false);
            }, stop);
            double seconds = (Stopwatch.GetTimestamp() - start) / (double)Stopwatch.Frequency;

            if (statusLine.Length > 0)
            {
                output.WriteLine(statusLine);
            }
            output.WriteLine($"length: {bodyBytes}");
            output.WriteLine($"sha256: {Convert.ToHexStringLower(hash.GetHashAndReset())}");
            output.WriteLine($"time: {seconds:0.000} s, {bodyBytes * 8 / Math.Max(seconds, 1e-9) / 1e9:0.000} Gbit/s");
            if (!complete)
            {
                output.WriteLine($"skiff fetch: incomplete response: {problem ?? "interrupted."}");
                return 1;
            }
            return status is >= 200 and < 400 ? 0 : 1;
        }
        finally
        {
            iface.Tcp.Release(handle);
            loop.RunUntil(() => false, TimeSpan.FromMilliseconds(50), CancellationToken.None);
        }
    }

    /// <summary>Reads the status line and the framing headers of a response head (RFC 9112 sections 4 and 6).</summary>
    internal static bool TryParseHead(ReadOnlySpan<byte> head, out string statusLine, out int status, out long contentLength, out string? problem)
    {
        statusLine = "";
        status = 0;
        contentLength = -1;
        problem = null;
        string text = Encoding.Latin1.GetString(head);
        string[] lines = text.Split("\r\n");
        statusLine = lines[0];
        string[] parts = statusLine.Split(' ', 3);
        if (parts.Length < 2 || !parts[0].StartsWith("HTTP/1.", StringComparison.Ordinal) || parts[1].Length != 3 || !int.TryParse(parts[1], out status))
        {
            problem = $"the response does not start with an HTTP/1.x status line: '{statusLine}'.";
            return false;
        }
        foreach (string line in lines.Skip(1))
        {
            int colon = line.IndexOf(':');
            if (colon <= 0)
            {
                continue;
            }
            string name = line[..colon].Trim();
            string value = line[(colon + 1)..].Trim();
            if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            {
                if (!long.TryParse(value, System.Globalization.NumberStyles.None, null, out contentLength))
                {
                    problem = $"the Content-Length '{value}' is not a number.";
                    return false;
                }
            }
            else if (name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase) && !value.Equals("identity", StringComparison.OrdinalIgnoreCase))
            {
                problem = $"the response uses Transfer-Encoding: {value}, which skiff fetch does not decode; fetch from a server that sends Content-Length.";
                return false;
            }
        }
        if (status is (>= 100 and < 200) or 204 or 304)
        {
            contentLength = 0;
        }
        return true;
    }
}

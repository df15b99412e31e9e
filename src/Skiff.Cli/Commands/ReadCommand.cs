using System.CommandLine;
using System.Text;
using System.Text.Json;
using Skiff.Cli.Formatting;
using Skiff.Hooks.Bpf;
using Skiff.Wire;
using Skiff.Wire.Pcap;

namespace Skiff.Cli.Commands;

/// <summary>
/// <c>skiff read FILE [EXPR...] [--count N] [--json]</c>: prints a pcap or pcapng file one line per frame, tcpdump-style,
/// decoded by Skiff's own wire views, then a summary (frames, counts by protocol, malformed frames). A malformed frame is
/// described and reading goes on. With a filter expression (the remaining arguments joined by spaces, as tcpdump takes
/// them) only the frames it matches are printed and counted, as <c>tcpdump -r FILE EXPR</c> would print them, and the
/// summary says how many matched of how many were read; <c>--count</c> then counts matching frames. Exit code 0 when
/// the file could be read (even with malformed frames or a damaged tail), 2 when it cannot be opened or is not a
/// capture file, or the expression cannot be compiled.
/// </summary>
public static class ReadCommand
{
    /// <summary>Exit code for a file that cannot be opened or is not a capture.</summary>
    public const int ExitUnreadable = 2;

    public static Command Create()
    {
        Argument<string> file = new("file") { Description = "The capture file to read (pcap or pcapng, as written by tcpdump, Wireshark or Skiff)." };
        Option<int?> count = new("--count", "-c") { Description = "Stop after this many frames (with a filter, this many matching frames)." };
        Option<bool> json = new("--json") { Description = "Print one JSON object per frame, then a summary object." };
        Argument<string[]> expression = new("expression")
        {
            Description = "A tcpdump filter expression (pcap-filter(7)), e.g. 'tcp port 80 and host 10.0.0.1': only matching frames are printed.",
            Arity = ArgumentArity.ZeroOrMore,
        };
        Command command = new("read", CommandHelp.WithExamples("Print the frames of a capture file, one line each, and a summary; optionally only those a tcpdump filter expression matches.",
            "skiff read tests/data/sample.pcapng", "skiff read capture.pcapng 'tcp port 80 and tcp[13] & 2 != 0'", "skiff read capture.pcapng -c 10 'icmp'"))
        {
            file, expression, count, json,
        };
        command.SetAction(result => Run(
            result.GetValue(file)!, result.GetValue(count), result.GetValue(json),
            result.InvocationConfiguration.Output, result.InvocationConfiguration.Error,
            string.Join(' ', result.GetValue(expression) ?? [])));
        return command;
    }

    /// <summary>Reads <paramref name="path"/> and writes the listing to <paramref name="output"/>; returns the exit code.</summary>
    internal static int Run(string path, int? count, bool json, TextWriter output, TextWriter error, string expression = "")
    {
        if (count is <= 0)
        {
            error.WriteLine($"skiff read: --count must be a positive number of frames, not {count}.");
            return ExitUnreadable;
        }
        ICaptureReader? reader;
        WireError openError;
        try
        {
            openError = CaptureReader.TryOpenFile(path, out reader);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            error.WriteLine($"skiff read: cannot open '{path}': {e.Message} Check the path and that you may read the file.");
            return ExitUnreadable;
        }
        if (reader is null)
        {
            error.WriteLine($"skiff read: '{path}': {CaptureReader.DescribeOpenError(openError)}");
            return ExitUnreadable;
        }
        using (reader)
        {
            CaptureFilter? filter = expression.Trim().Length > 0 ? new CaptureFilter(expression.Trim()) : null;
            try
            {
                foreach (CaptureInterface known in reader.Interfaces)
                {
                    filter?.Prepare(known.LinkType);
                }
                CaptureListing listing = new(output, json, filter);
                listing.ReadAll(reader, count ?? int.MaxValue);
                listing.WriteSummary();
            }
            catch (BpfCompileException e)
            {
                error.WriteLine($"skiff read: {e.Message}");
                return ExitUnreadable;
            }
        }
        return 0;
    }

    /// <summary>The per-run state of one listing: counters, the reused decoder output and JSON buffer.</summary>
    private sealed class CaptureListing(TextWriter output, bool json, CaptureFilter? filter)
    {
        private readonly DecodedFrame _frame = new();
        private readonly SortedDictionary<string, int> _byProtocol = new(StringComparer.Ordinal);
        private readonly MemoryStream _jsonBuffer = new(1024);
        private readonly Utf8JsonWriter _json = new(Stream.Null);
        private long _frames;
        private long _matched;
        private long _malformed;
        private long _captureErrors;
        private bool _stoppedEarly;

        public void ReadAll(ICaptureReader reader, int maxFrames)
        {
            while (_matched < maxFrames)
            {
                if (reader.TryReadNext(out CaptureRecord record, out WireError error))
                {
                    _frames++;
                    if (filter is not null && !filter.Matches(record))
                    {
                        continue;
                    }
                    _matched++;
                    FrameDecoder.Decode(record.Data, record.LinkType, _frame);
                    Count(_frame);
                    long unitsPerSecond = record.InterfaceId < reader.Interfaces.Count ? reader.Interfaces[record.InterfaceId].TimestampUnitsPerSecond : 1_000_000;
                    if (json)
                    {
                        WriteFrameJson(record);
                    }
                    else
                    {
                        output.Write(FormatTime(record.TimestampNanos, unitsPerSecond > 1_000_000));
                        output.Write(' ');
                        output.WriteLine(_frame.Text);
                    }
                    continue;
                }
                if (error == WireError.Ok)
                {
                    return;
                }
                _captureErrors++;
                _stoppedEarly = !reader.CanContinue;
                WriteCaptureError(error, reader.CanContinue);
            }
        }

        private void Count(DecodedFrame frame)
        {
            _byProtocol[frame.Protocol] = _byProtocol.GetValueOrDefault(frame.Protocol) + 1;
            if (frame.IsMalformed)
            {
                _malformed++;
            }
        }

        private void WriteCaptureError(WireError error, bool continuing)
        {
            string what = $"the capture file has a {error.Describe()} block after frame {_frames}; " +
                (continuing ? "skipped it and read on." : "stopped reading there (the rest of the file cannot be framed).");
            if (json)
            {
                BeginJson();
                _json.WriteStartObject();
                _json.WriteString("capture_error", error.ToString());
                _json.WriteString("description", what);
                _json.WriteBoolean("continued", continuing);
                _json.WriteEndObject();
                EndJson();
            }
            else
            {
                output.WriteLine($"warning: {what}");
            }
        }

        public void WriteSummary()
        {
            if (json)
            {
                BeginJson();
                _json.WriteStartObject();
                _json.WriteStartObject("summary");
                _json.WriteNumber("frames", _frames);
                if (filter is not null)
                {
                    _json.WriteString("filter", filter.Expression);
                    _json.WriteNumber("matched", _matched);
                }
                _json.WriteNumber("malformed", _malformed);
                _json.WriteNumber("capture_errors", _captureErrors);
                _json.WriteBoolean("complete", !_stoppedEarly);
                _json.WriteStartObject("protocols");
                foreach ((string protocol, int n) in _byProtocol)
                {
                    _json.WriteNumber(protocol, n);
                }
                _json.WriteEndObject();
                _json.WriteEndObject();
                _json.WriteEndObject();
                EndJson();
                return;
            }
            StringBuilder protocols = new();
            foreach ((string protocol, int n) in _byProtocol)
            {
                protocols.Append(protocols.Length == 0 ? "" : ", ").Append(protocol).Append(' ').Append(n);
            }
            string frames = filter is null ? $"{_frames} frames" : $"{_matched} of {_frames} frames matched '{filter.Expression}'";
            output.WriteLine($"summary: {frames}, {_malformed} malformed, {_captureErrors} capture errors");
            output.WriteLine($"by protocol: {(protocols.Length == 0 ? "none" : protocols)}");
        }

        private void WriteFrameJson(CaptureRecord record)
        {
            BeginJson();
            _json.WriteStartObject();
            _json.WriteNumber("frame", _frames);
            _json.WriteString("time", record.Time.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", System.Globalization.CultureInfo.InvariantCulture));
            _json.WriteNumber("timestamp_ns", record.TimestampNanos);
            _json.WriteNumber("interface", record.InterfaceId);
            _json.WriteNumber("length", record.OriginalLength);
            _json.WriteNumber("captured", record.CapturedLength);
            _json.WriteString("protocol", _frame.Protocol);
            WriteOptional("src", _frame.Source);
            WriteOptional("dst", _frame.Destination);
            WriteOptional("sport", _frame.SourcePort);
            WriteOptional("dport", _frame.DestinationPort);
            WriteOptional("vlan", _frame.VlanId);
            if (_frame.IsFragment)
            {
                _json.WriteBoolean("fragment", true);
            }
            _json.WriteString("summary", _frame.Text.ToString());
            if (_frame.IsMalformed)
            {
                _json.WriteStartObject("malformed");
                _json.WriteString("layer", _frame.ErrorLayer);
                _json.WriteString("error", _frame.Error.ToString());
                _json.WriteString("description", _frame.Error.Describe());
                _json.WriteEndObject();
            }
            _json.WriteEndObject();
            EndJson();
        }

        private void WriteOptional(string name, string? value)
        {
            if (value is not null)
            {
                _json.WriteString(name, value);
            }
        }

        private void WriteOptional(string name, int? value)
        {
            if (value is int v)
            {
                _json.WriteNumber(name, v);
            }
        }

        private void BeginJson()
        {
            _jsonBuffer.SetLength(0);
            _json.Reset(_jsonBuffer);
        }

        private void EndJson()
        {
            _json.Flush();
            output.WriteLine(Encoding.UTF8.GetString(_jsonBuffer.GetBuffer(), 0, (int)_jsonBuffer.Length));
        }
    }

    /// <summary>tcpdump's time of day, in UTC: HH:MM:SS.uuuuuu (nine digits for nanosecond captures).</summary>
    internal static string FormatTime(long timestampNanos, bool nanosecond)
    {
        long seconds = Math.DivRem(timestampNanos, 1_000_000_000, out long fraction);
        if (fraction < 0)
        {
            seconds--;
            fraction += 1_000_000_000;
        }
        long ofDay = ((seconds % 86_400) + 86_400) % 86_400;
        string clock = $"{ofDay / 3600:D2}:{ofDay / 60 % 60:D2}:{ofDay % 60:D2}";
        return nanosecond ? $"{clock}.{fraction:D9}" : $"{clock}.{fraction / 1000:D6}";
    }
}

using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using Skiff.Engine.Capture;
using Skiff.Engine.Metrics;

namespace Skiff.Engine.Control;

/// <summary>
/// The control socket's protocol (docs/metrics.md, docs/capture.md): one request line (UTF-8, '\n'-terminated).
/// <c>snapshot</c> is answered with one JSON line, <c>{"pid":N,"queues":[snapshot, ...]}</c>. <c>capture {JSON}</c>
/// (<see cref="CaptureRequest"/>) is answered with one JSON line, <c>{"capture":"started",...}</c>, then the capture as
/// a pcapng byte stream, until the client shuts its side down (the capture ends, its statistics are written, and the
/// server closes) or the capture's count is reached. Errors are <c>{"error":"sentence"}</c>.
/// </summary>
public static class SkiffControlProtocol
{
    /// <summary>The stats request.</summary>
    public const string SnapshotRequest = "snapshot";

    /// <summary>The first word of a capture request.</summary>
    public const string CaptureRequestWord = "capture";

    /// <summary>The longest request line the server reads; a longer one is an error and closes the connection.</summary>
    public const int MaxRequestBytes = 4096;

    /// <summary>The longest answer line a client accepts.</summary>
    public const int MaxResponseBytes = 1 << 20;

    // Lines are read by people too (socat): no \u0027 for an apostrophe. Never embedded in HTML.
    private static readonly JsonWriterOptions s_json = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>A stats answer line.</summary>
    public static byte[] Report(int pid, IReadOnlyList<SkiffMetricsSnapshot> queues) => Report(pid, queues, []);

    /// <summary>
    /// A stats answer line with the application's own instruments: <c>"app":[{"name":..,"tags":"k=v,..","value":N,"unit":..}]</c>
    /// after the queues (left out when there are none).
    /// </summary>
    internal static byte[] Report(int pid, IReadOnlyList<SkiffMetricsSnapshot> queues, IReadOnlyList<AppInstrumentValue> app) => Line(json =>
    {
        json.WriteNumber("pid", pid);
        json.WriteStartArray("queues");
        foreach (SkiffMetricsSnapshot s in queues)
        {
            s.WriteJson(json);
        }
        json.WriteEndArray();
        if (app.Count > 0)
        {
            json.WriteStartArray("app");
            foreach (AppInstrumentValue v in app)
            {
                json.WriteStartObject();
                json.WriteString("name", v.Name);
                json.WriteString("tags", v.Tags);
                json.WriteNumber("value", v.Value);
                if (v.Unit is string unit)
                {
                    json.WriteString("unit", unit);
                }
                json.WriteEndObject();
            }
            json.WriteEndArray();
        }
    });

    /// <summary>An error answer line.</summary>
    public static byte[] Error(string sentence) => Line(json => json.WriteString("error", sentence));

    /// <summary>The answer line that starts a capture's pcapng stream.</summary>
    public static byte[] CaptureStarted(int pid, int loops) => Line(json =>
    {
        json.WriteString("capture", "started");
        json.WriteNumber("pid", pid);
        json.WriteNumber("loops", loops);
    });

    /// <summary>A capture request line for <paramref name="options"/>.</summary>
    public static byte[] CaptureRequest(SkiffCaptureOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArrayBufferWriter<byte> buffer = new(256);
        buffer.Write(System.Text.Encoding.UTF8.GetBytes(CaptureRequestWord + " "));
        using (Utf8JsonWriter json = new(buffer, s_json))
        {
            json.WriteStartObject();
            json.WriteString("points", options.Points.ToString());
            if (options.Queue is int q)
            {
                json.WriteNumber("queue", q);
            }
            json.WriteNumber("snaplen", options.SnapLength);
            json.WriteNumber("count", options.Count);
            json.WriteNumber("ringBytes", options.RingBytes);
            if (!string.IsNullOrEmpty(options.Filter))
            {
                json.WriteString("filter", options.Filter);
            }
            json.WriteEndObject();
        }
        return [.. buffer.WrittenSpan, (byte)'\n'];
    }

    /// <summary>Parses the JSON of a capture request; throws <see cref="SkiffControlException"/> with a sentence when it is malformed.</summary>
    public static SkiffCaptureOptions ParseCaptureRequest(string json)
    {
        try
        {
            using JsonDocument document = JsonDocument.Parse(json);
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new SkiffControlException("A capture request is 'capture {JSON object}'.");
            }
            SkiffCaptureOptions options = new();
            if (root.TryGetProperty("points", out JsonElement points))
            {
                if (points.ValueKind != JsonValueKind.String || !Enum.TryParse(points.GetString(), ignoreCase: true, out CapturePoints p))
                {
                    throw new SkiffControlException("A capture request's points are a string such as \"Rx, Tx\" or \"All\".");
                }
                options = options with { Points = p };
            }
            if (root.TryGetProperty("queue", out JsonElement queue) && queue.ValueKind != JsonValueKind.Null)
            {
                options = options with { Queue = queue.GetInt32() };
            }
            if (root.TryGetProperty("snaplen", out JsonElement snap))
            {
                options = options with { SnapLength = snap.GetInt32() };
            }
            if (root.TryGetProperty("count", out JsonElement count))
            {
                options = options with { Count = count.GetInt64() };
            }
            if (root.TryGetProperty("ringBytes", out JsonElement ring))
            {
                options = options with { RingBytes = ring.GetInt32() };
            }
            if (root.TryGetProperty("filter", out JsonElement filter) && filter.ValueKind != JsonValueKind.Null)
            {
                options = options with { Filter = filter.GetString() };
            }
            return options;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            throw new SkiffControlException($"The capture request is not valid JSON of the expected shape ({e.Message}).", e);
        }
    }

    private static byte[] Line(Action<Utf8JsonWriter> body)
    {
        ArrayBufferWriter<byte> buffer = new(256);
        using (Utf8JsonWriter json = new(buffer, s_json))
        {
            json.WriteStartObject();
            body(json);
            json.WriteEndObject();
        }
        return [.. buffer.WrittenSpan, (byte)'\n'];
    }
}

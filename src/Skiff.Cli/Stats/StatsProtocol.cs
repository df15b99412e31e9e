using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using Skiff.Engine.Metrics;

namespace Skiff.Cli.Stats;

/// <summary>
/// The stats control socket's protocol, one line each way (UTF-8, '\n'-terminated): the client sends
/// <c>snapshot</c>, the server answers with one JSON object, <c>{"pid":N,"queues":[snapshot, ...]}</c>, each
/// snapshot as <see cref="SkiffMetricsSnapshot.WriteJson"/> writes it; or <c>{"error":"sentence"}</c>.
/// </summary>
internal static class StatsProtocol
{
    public const string SnapshotRequest = "snapshot";

    /// <summary>The longest request line the server reads; a longer one is an error and closes the connection.</summary>
    public const int MaxRequestBytes = 256;

    /// <summary>The longest answer line a client accepts.</summary>
    public const int MaxResponseBytes = 1 << 20;

    // Lines are read by people too (socat): no \u0027 for an apostrophe. Never embedded in HTML.
    private static readonly JsonWriterOptions s_json = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static byte[] Report(int pid, IReadOnlyList<SkiffMetricsSnapshot> queues)
    {
        ArrayBufferWriter<byte> buffer = new(1024);
        using (Utf8JsonWriter json = new(buffer, s_json))
        {
            json.WriteStartObject();
            json.WriteNumber("pid", pid);
            json.WriteStartArray("queues");
            foreach (SkiffMetricsSnapshot s in queues)
            {
                s.WriteJson(json);
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        return [.. buffer.WrittenSpan, (byte)'\n'];
    }

    public static byte[] Error(string sentence)
    {
        ArrayBufferWriter<byte> buffer = new(256);
        using (Utf8JsonWriter json = new(buffer, s_json))
        {
            json.WriteStartObject();
            json.WriteString("error", sentence);
            json.WriteEndObject();
        }
        return [.. buffer.WrittenSpan, (byte)'\n'];
    }

    /// <summary>Parses an answer line; throws <see cref="StatsException"/> with a sentence when it is an error or not a report.</summary>
    public static StatsReport Parse(string line)
    {
        try
        {
            using JsonDocument document = JsonDocument.Parse(line);
            JsonElement root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("error", out JsonElement error) && error.ValueKind == JsonValueKind.String)
            {
                throw new StatsException($"skiff serve answered: {error.GetString()}");
            }
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("pid", out JsonElement pid) || !pid.TryGetInt32(out int pidValue)
                || !root.TryGetProperty("queues", out JsonElement queues) || queues.ValueKind != JsonValueKind.Array)
            {
                throw new StatsException("The control socket's answer is not a Skiff stats report; is the socket a skiff serve's?");
            }
            List<SkiffMetricsSnapshot> snapshots = [];
            foreach (JsonElement q in queues.EnumerateArray())
            {
                snapshots.Add(SkiffMetricsSnapshot.ReadJson(q)
                    ?? throw new StatsException("A queue in the control socket's answer is malformed; are skiff stats and skiff serve the same version?"));
            }
            return new StatsReport(pidValue, snapshots, line);
        }
        catch (JsonException)
        {
            throw new StatsException("The control socket's answer is not JSON; is the socket a skiff serve's?");
        }
    }
}

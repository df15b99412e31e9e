using System.Text.Json;
using Skiff.Engine.Control;
using Skiff.Engine.Metrics;

namespace Skiff.Cli.Stats;

/// <summary>
/// The client side of the control socket's stats protocol (<see cref="SkiffControlProtocol"/>): the client sends
/// <c>snapshot</c>, the server answers with one JSON object, <c>{"pid":N,"queues":[snapshot, ...]}</c>, each
/// snapshot as <see cref="SkiffMetricsSnapshot.WriteJson"/> writes it; or <c>{"error":"sentence"}</c>.
/// </summary>
internal static class StatsProtocol
{
    public const string SnapshotRequest = SkiffControlProtocol.SnapshotRequest;

    /// <summary>The longest request line the server reads; a longer one is an error and closes the connection.</summary>
    public const int MaxRequestBytes = SkiffControlProtocol.MaxRequestBytes;

    /// <summary>The longest answer line a client accepts.</summary>
    public const int MaxResponseBytes = SkiffControlProtocol.MaxResponseBytes;

    /// <summary>Parses an answer line; throws <see cref="SkiffControlException"/> with a sentence when it is an error or not a report.</summary>
    public static StatsReport Parse(string line)
    {
        try
        {
            using JsonDocument document = JsonDocument.Parse(line);
            JsonElement root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("error", out JsonElement error) && error.ValueKind == JsonValueKind.String)
            {
                throw new SkiffControlException($"skiff serve answered: {error.GetString()}");
            }
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("pid", out JsonElement pid) || !pid.TryGetInt32(out int pidValue)
                || !root.TryGetProperty("queues", out JsonElement queues) || queues.ValueKind != JsonValueKind.Array)
            {
                throw new SkiffControlException("The control socket's answer is not a Skiff stats report; is the socket a skiff serve's?");
            }
            List<SkiffMetricsSnapshot> snapshots = [];
            foreach (JsonElement q in queues.EnumerateArray())
            {
                snapshots.Add(SkiffMetricsSnapshot.ReadJson(q)
                    ?? throw new SkiffControlException("A queue in the control socket's answer is malformed; are skiff stats and skiff serve the same version?"));
            }
            List<AppValue> app = [];
            if (root.TryGetProperty("app", out JsonElement values) && values.ValueKind == JsonValueKind.Array)
            {
                foreach (JsonElement v in values.EnumerateArray())
                {
                    if (v.ValueKind == JsonValueKind.Object && v.TryGetProperty("name", out JsonElement name) && name.ValueKind == JsonValueKind.String
                        && v.TryGetProperty("value", out JsonElement value) && value.TryGetDouble(out double number))
                    {
                        string tags = v.TryGetProperty("tags", out JsonElement t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : "";
                        string? unit = v.TryGetProperty("unit", out JsonElement u) && u.ValueKind == JsonValueKind.String ? u.GetString() : null;
                        app.Add(new AppValue(name.GetString()!, tags, number, unit));
                    }
                }
            }
            return new StatsReport(pidValue, snapshots, line) { App = app };
        }
        catch (JsonException)
        {
            throw new SkiffControlException("The control socket's answer is not JSON; is the socket a skiff serve's?");
        }
    }
}

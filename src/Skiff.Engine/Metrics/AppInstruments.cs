using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace Skiff.Engine.Metrics;

/// <summary>One value of an application's observable instrument: its name, its tags as <c>k=v,k=v</c>, and its unit.</summary>
internal readonly record struct AppInstrumentValue(string Name, string Tags, double Value, string? Unit);

/// <summary>
/// Reads the observable instruments an application added to Skiff's meter (<see cref="SkiffMetrics.Meter"/>) besides
/// the engine's own, so <c>skiff stats</c> shows a sample's counters (a DNS server's answers, a filter's rate-limited
/// sources) next to the engine's. Each <see cref="Read"/> runs their callbacks on the caller's thread, the control
/// socket's, as a metrics exporter would; instruments that are not observable are not read.
/// </summary>
internal sealed class AppInstruments : IDisposable
{
    /// <summary>The most values one read returns; more are left out (a bounded answer).</summary>
    public const int MaxValues = 256;

    private readonly MeterListener _listener = new();
    private readonly Lock _lock = new();
    private readonly List<AppInstrumentValue> _values = [];

    public AppInstruments()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter == SkiffMetrics.Meter && instrument.IsObservable && !SkiffMetrics.IsEngineInstrument(instrument))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Add(i, v, tags));
        _listener.SetMeasurementEventCallback<int>((i, v, tags, _) => Add(i, v, tags));
        _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Add(i, v, tags));
        _listener.Start();
    }

    /// <summary>Every value the application's observable instruments give now, in the order they were created.</summary>
    public AppInstrumentValue[] Read()
    {
        lock (_lock)
        {
            _values.Clear();
            _listener.RecordObservableInstruments();
            return [.. _values];
        }
    }

    private void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (_values.Count == MaxValues)
        {
            return;
        }
        StringBuilder text = new();
        foreach (KeyValuePair<string, object?> tag in tags)
        {
            text.Append(text.Length == 0 ? "" : ",").Append(tag.Key).Append('=').Append(Convert.ToString(tag.Value, CultureInfo.InvariantCulture));
        }
        _values.Add(new AppInstrumentValue(instrument.Name, text.ToString(), value, instrument.Unit));
    }

    public void Dispose() => _listener.Dispose();
}

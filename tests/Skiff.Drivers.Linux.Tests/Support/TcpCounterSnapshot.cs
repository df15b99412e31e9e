using System.Reflection;
using Skiff.Stack.Tcp;

namespace Skiff.Drivers.Linux.Tests.Support;

/// <summary>
/// A copy of a connection's <see cref="TcpConnectionCounters"/> (its public fields, by name), taken on the loop thread
/// before the socket is released: the pool zeroes a socket's counters when it is reused.
/// </summary>
public sealed class TcpCounterSnapshot
{
    private static readonly FieldInfo[] s_fields = typeof(TcpConnectionCounters).GetFields(BindingFlags.Public | BindingFlags.Instance)
        .Where(f => f.FieldType == typeof(long)).ToArray();

    private readonly Dictionary<string, long> _values;

    private TcpCounterSnapshot(Dictionary<string, long> values) => _values = values;

    public static TcpCounterSnapshot Take(TcpConnectionCounters counters) =>
        new(s_fields.ToDictionary(f => f.Name, f => (long)f.GetValue(counters)!));

    /// <summary>The value of the field <paramref name="name"/> (e.g. nameof(TcpConnectionCounters.Retransmissions)).</summary>
    public long this[string name] => _values[name];

    /// <summary>The non-zero counters, "Name value" comma-separated.</summary>
    public override string ToString() => string.Join(", ", _values.Where(v => v.Value != 0).Select(v => $"{v.Key} {v.Value}"));
}

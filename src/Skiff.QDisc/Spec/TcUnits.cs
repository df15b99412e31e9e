using System.Globalization;

namespace Skiff.QDisc.Spec;

/// <summary>tc(8)'s units: rates (bit, kbit, mbit, gbit, tbit, bps...), sizes (b, kb, mb, gb, kbit...), times (s, ms, us).</summary>
public static class TcUnits
{
    private static readonly (string Suffix, double Factor)[] s_rates =
    [
        ("tbit", 1e12), ("gbit", 1e9), ("mbit", 1e6), ("kbit", 1e3), ("tibit", 1099511627776.0), ("gibit", 1073741824.0), ("mibit", 1048576.0),
        ("kibit", 1024.0), ("tbps", 8e12), ("gbps", 8e9), ("mbps", 8e6), ("kbps", 8e3), ("bps", 8), ("bit", 1), ("", 1),
    ];

    private static readonly (string Suffix, double Factor)[] s_sizes =
    [
        ("gbit", 1073741824.0 / 8), ("mbit", 1048576.0 / 8), ("kbit", 1024.0 / 8), ("gb", 1073741824.0), ("mb", 1048576.0), ("kb", 1024.0),
        ("g", 1073741824.0), ("m", 1048576.0), ("k", 1024.0), ("b", 1), ("", 1),
    ];

    private static readonly (string Suffix, double Factor)[] s_times =
    [
        ("usecs", 1), ("usec", 1), ("us", 1), ("msecs", 1000), ("msec", 1000), ("ms", 1000), ("secs", 1e6), ("sec", 1e6), ("s", 1e6), ("", 1),
    ];

    /// <summary>Parses a rate such as 50mbit or 1gbit; null when it is not one.</summary>
    public static Rate? TryParseRate(string text)
    {
        double? v = TryParse(text, s_rates);
        return v is double bits && bits >= 1 && bits < 1e15 ? new Rate((long)Math.Round(bits)) : null;
    }

    /// <summary>Parses a size in bytes such as 64kb or 1514; null when it is not one.</summary>
    public static long? TryParseSize(string text)
    {
        double? v = TryParse(text, s_sizes);
        return v is double bytes && bytes >= 0 && bytes <= int.MaxValue ? (long)Math.Round(bytes) : null;
    }

    /// <summary>Parses a time such as 50ms or 5ms or 100us; null when it is not one.</summary>
    public static Duration? TryParseTime(string text)
    {
        double? v = TryParse(text, s_times);
        return v is double micros && micros >= 0 && micros < 1e12 ? Duration.FromMicros((long)Math.Round(micros)) : null;
    }

    private static double? TryParse(string text, (string Suffix, double Factor)[] units)
    {
        string t = text.Trim().ToLowerInvariant();
        foreach ((string suffix, double factor) in units)
        {
            if (!t.EndsWith(suffix, StringComparison.Ordinal))
            {
                continue;
            }
            string number = t[..^suffix.Length];
            if (number.Length > 0 && double.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double n))
            {
                return n * factor;
            }
        }
        return null;
    }
}

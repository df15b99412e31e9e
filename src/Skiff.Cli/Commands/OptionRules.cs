using System.CommandLine;
using System.Globalization;

namespace Skiff.Cli.Commands;

/// <summary>
/// Range rules for numeric options, checked while parsing: a value outside them is a parse error, so the command
/// exits <see cref="ExitCodes.Usage"/> with a sentence naming the option and the range. NaN and infinities are refused
/// everywhere (a comparison with NaN is always false, so a plain <c>&lt; 0</c> check lets it through).
/// </summary>
internal static class OptionRules
{
    /// <summary>Accept only finite values from <paramref name="min"/> to <paramref name="max"/>.</summary>
    public static Option<double> InRange(this Option<double> option, double min, double max = double.MaxValue, string? what = null)
    {
        option.Validators.Add(result =>
        {
            double value = result.GetValueOrDefault<double>();
            if (!double.IsFinite(value) || value < min || value > max)
            {
                string range = max == double.MaxValue ? $"a number of at least {Format(min)}" : $"a number from {Format(min)} to {Format(max)}";
                result.AddError($"{option.Name} takes {what ?? range}, not {Format(value)}.");
            }
        });
        return option;
    }

    /// <summary>Accept only values from <paramref name="min"/> to <paramref name="max"/>.</summary>
    public static Option<long> InRange(this Option<long> option, long min, long max = long.MaxValue)
    {
        AddRange(option, r => r.GetValueOrDefault<long>(), min, max);
        return option;
    }

    /// <summary>Accept only values from <paramref name="min"/> to <paramref name="max"/>.</summary>
    public static Option<int> InRange(this Option<int> option, int min, int max = int.MaxValue)
    {
        AddRange(option, r => r.GetValueOrDefault<int>(), min, max == int.MaxValue ? long.MaxValue : max);
        return option;
    }

    private static void AddRange(Option option, Func<System.CommandLine.Parsing.OptionResult, long> value, long min, long max) =>
        option.Validators.Add(result =>
        {
            long v = value(result);
            if (v < min || v > max)
            {
                result.AddError($"{option.Name} takes {(max == long.MaxValue ? $"a number of at least {min}" : $"a number from {min} to {max}")}, not {v}.");
            }
        });

    private static string Format(double value) => value.ToString(CultureInfo.InvariantCulture);
}

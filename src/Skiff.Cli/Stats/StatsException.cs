namespace Skiff.Cli.Stats;

/// <summary>A stats control socket problem, with a sentence for the user saying what to do.</summary>
internal sealed class StatsException(string message, Exception? inner = null) : Exception(message, inner);

namespace Skiff.Engine.Metrics;

/// <summary>One hook's verdict counts in a <see cref="SkiffMetricsSnapshot"/>: where it runs, its name, and frames per verdict.</summary>
/// <param name="Point">"rx" or "tx".</param>
/// <param name="Name">The name it was added under.</param>
/// <param name="Pass">Frames it passed.</param>
/// <param name="Drop">Frames it dropped.</param>
/// <param name="Tx">Frames it sent back out of their port.</param>
/// <param name="Redirect">Frames it sent out of another port.</param>
/// <param name="Abort">Frames it failed on.</param>
public readonly record struct HookStatistics(string Point, string Name, long Pass, long Drop, long Tx, long Redirect, long Abort);

namespace Skiff.Cli.Commands;

/// <summary>Every command's <c>--help</c> ends with examples a reader can adapt (docs/cli.md).</summary>
internal static class CommandHelp
{
    /// <summary><paramref name="description"/> followed by an "Examples:" block, one command line each.</summary>
    public static string WithExamples(string description, params string[] examples) =>
        $"{description}\n\nExamples:\n{string.Join('\n', examples.Select(e => "  " + e))}";
}

using System.CommandLine;

namespace Skiff.Cli;

/// <summary>The <c>skiff</c> command. Each subcommand lives in Commands/ as a class with a static <c>Create()</c>.</summary>
public static class Program
{
    public static int Main(string[] args) => Run(args);

    /// <summary>
    /// Parses and runs <paramref name="args"/> with <paramref name="configuration"/>'s writers; returns the exit code
    /// (<see cref="ExitCodes"/>): a parse error, which System.CommandLine itself reports with 1, is a usage error, 2.
    /// </summary>
    public static int Run(string[] args, InvocationConfiguration? configuration = null)
    {
        ParseResult parsed = BuildRoot().Parse(args);
        int exit = parsed.Invoke(configuration ?? new InvocationConfiguration());
        return parsed.Errors.Count > 0 ? ExitCodes.Usage : exit;
    }

    /// <summary>The command tree; tests parse and invoke it in-process.</summary>
    public static RootCommand BuildRoot()
    {
        RootCommand root = new("skiff: kernel-bypass packet processing and a user-space TCP/IP stack for .NET.\n\n" + ExitCodes.Description);
        foreach (Command command in Commands())
        {
            root.Subcommands.Add(command);
        }
        return root;
    }

    private static IEnumerable<Command> Commands()
    {
        yield return Skiff.Cli.Commands.DemoCommand.Create();
        yield return Skiff.Cli.Commands.ReadCommand.Create();
        yield return Skiff.Cli.Commands.ServeCommand.Create();
        yield return Skiff.Cli.Commands.StatsCommand.Create();
        yield return Skiff.Cli.Commands.CaptureCommand.Create();
        yield return Skiff.Cli.Commands.SendCommand.Create();
        yield return Skiff.Cli.Commands.FetchCommand.Create();
        yield return Skiff.Cli.Commands.RxDropCommand.Create();
        yield return Skiff.Cli.Commands.GenCommand.Create();
        yield return Skiff.Cli.Commands.FwdCommand.Create();
    }
}

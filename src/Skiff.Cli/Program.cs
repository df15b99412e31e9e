using System.CommandLine;

namespace Skiff.Cli;

/// <summary>The <c>skiff</c> command. Each subcommand lives in Commands/ as a class with a static <c>Create()</c>.</summary>
public static class Program
{
    public static int Main(string[] args) => BuildRoot().Parse(args).Invoke();

    /// <summary>The command tree; tests parse and invoke it in-process.</summary>
    public static RootCommand BuildRoot()
    {
        RootCommand root = new("skiff: kernel-bypass packet processing and a user-space TCP/IP stack for .NET.");
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
        yield return Skiff.Cli.Commands.SendCommand.Create();
        yield return Skiff.Cli.Commands.FetchCommand.Create();
        yield return Skiff.Cli.Commands.RxDropCommand.Create();
        yield return Skiff.Cli.Commands.GenCommand.Create();
    }
}

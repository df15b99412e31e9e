using System.CommandLine;
using System.Diagnostics;
using Skiff.Cli.Drivers;
using Skiff.Cli.Stats;
using Skiff.Engine.Control;

namespace Skiff.Cli.Commands;

/// <summary>
/// <c>skiff stats</c>: connects to a running <c>skiff serve</c>'s control socket and prints its counters per queue
/// every second (<see cref="StatsTable"/>), or once, or as JSON lines. On a terminal each report is drawn over the
/// previous one (<see cref="TerminalScreen"/>); redirected, reports are appended, a blank line between two. Exit 0; 1 when the socket cannot be reached or
/// answers wrongly; 2 when no socket was given and none, or several, were found.
/// </summary>
public static class StatsCommand
{
    /// <summary>Time between two reports.</summary>
    public static readonly TimeSpan Period = TimeSpan.FromSeconds(1);

    private static readonly TimeSpan s_answerTimeout = TimeSpan.FromSeconds(5);

    public static Command Create()
    {
        Option<string?> socket = new("--socket") { Description = "The control socket of skiff serve (its banner prints it). Default: the only one running." };
        Option<bool> once = new("--once") { Description = "Print one table (rates measured over one second) and exit." };
        Option<bool> json = new("--json") { Description = "Print each report as one line of JSON (totals only) instead of a table." };
        Option<bool> qdisc = new("--qdisc") { Description = "Print the egress qdiscs' counters as tc -s qdisc does (sent, dropped, overlimits, requeues, backlog)." };
        Command command = new("stats", CommandHelp.WithExamples("Show a running skiff serve's counters per queue, refreshed every second, until Ctrl-C.",
            "skiff stats", "skiff stats --socket /run/skiff/skiff-serve-1234.sock --once", "skiff stats --json"));
        command.Options.Add(socket);
        command.Options.Add(once);
        command.Options.Add(json);
        command.Options.Add(qdisc);
        command.SetAction(result =>
        {
            TextWriter output = result.InvocationConfiguration.Output;
            TextWriter error = result.InvocationConfiguration.Error;
            string? path = result.GetValue(socket) ?? Find(SkiffControlSockets.SearchDirectories(), error);
            if (path is null)
            {
                return 2;
            }
            using StopSignal stop = new();
            bool redraw = ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected;
            return Run(path, result.GetValue(once), result.GetValue(json), redraw, output, error, stop.Token, result.GetValue(qdisc));
        });
        return command;
    }

    /// <summary>The one serve socket in <paramref name="directories"/>; otherwise a sentence on <paramref name="error"/> and null.</summary>
    internal static string? Find(IReadOnlyList<string> directories, TextWriter error)
    {
        List<string> found = SkiffControlSockets.Discover(directories);
        if (found.Count == 1)
        {
            return found[0];
        }
        if (found.Count == 0)
        {
            error.WriteLine($"skiff stats: no running skiff serve was found (no {SkiffControlSockets.FilePrefix}PID{SkiffControlSockets.FileSuffix} in {string.Join(" or ", directories)}); start skiff serve, or give its socket with --socket PATH.");
        }
        else
        {
            error.WriteLine($"skiff stats: {found.Count} skiff serve processes are running; choose one with --socket PATH:");
            foreach (string path in found)
            {
                error.WriteLine($"  {path}");
            }
        }
        return null;
    }

    /// <summary>
    /// Reports from <paramref name="path"/> until <paramref name="stop"/> (or once); returns the exit code.
    /// <paramref name="redraw"/>: <paramref name="output"/> is a terminal, so tables (not JSON lines) are drawn in place.
    /// </summary>
    internal static int Run(string path, bool once, bool json, bool redraw, TextWriter output, TextWriter error, CancellationToken stop, bool qdisc = false)
    {
        using TerminalScreen? screen = redraw && !json && !once ? new TerminalScreen(output) : null;
        StatsReport? previous = null;
        bool first = true;
        bool printed = false;
        try
        {
            using StatsClient client = StatsClient.Connect(path, s_answerTimeout);
            long next = Stopwatch.GetTimestamp();
            while (true)
            {
                StatsReport report;
                try
                {
                    report = client.Request();
                }
                catch (SkiffControlException) when (!first && !once)
                {
                    output.WriteLine($"skiff stats: skiff serve has stopped ({path} closed).");
                    return 0;
                }
                first = false;
                if (qdisc && !json)
                {
                    Show(QDiscReport.Format(report), screen, output, ref printed);
                    if (once)
                    {
                        return 0;
                    }
                }
                else if (json)
                {
                    output.WriteLine(report.Json);
                    output.Flush();
                    if (once)
                    {
                        return 0;
                    }
                }
                else if (!once || previous is not null)
                {
                    Show(StatsTable.Format(report, previous, client.Path, DateTimeOffset.UtcNow), screen, output, ref printed);
                    if (once)
                    {
                        return 0;
                    }
                }
                previous = report;
                next += (long)(Period.TotalSeconds * Stopwatch.Frequency);
                TimeSpan wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), next);
                if (wait <= TimeSpan.Zero)
                {
                    next = Stopwatch.GetTimestamp(); // fell behind (a stalled terminal): no burst of catch-up reports
                }
                else if (stop.WaitHandle.WaitOne(wait))
                {
                    return 0;
                }
                if (stop.IsCancellationRequested)
                {
                    return 0;
                }
            }
        }
        catch (SkiffControlException e)
        {
            error.WriteLine($"skiff stats: {e.Message}");
            return 1;
        }
    }

    /// <summary>One report: drawn over the last on a terminal, else appended after a blank line.</summary>
    private static void Show(string text, TerminalScreen? screen, TextWriter output, ref bool printed)
    {
        if (screen is not null)
        {
            screen.Draw(text);
            return;
        }
        if (printed)
        {
            output.WriteLine();
        }
        output.Write(text);
        output.Flush();
        printed = true;
    }
}

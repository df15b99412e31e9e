using System.Diagnostics;
using Skiff.Cli.Commands;
using Skiff.Cli.Stats;
using Skiff.Engine.Control;

namespace Skiff.Cli.Tests.Stats;

/// <summary>
/// <c>skiff stats</c> on a terminal draws each report over the previous one, as <c>top</c> does; redirected, it appends.
/// The control socket is an engine control server in this process (no loop registered: its report has no queues, and
/// the table's header and footer still change every second).
/// </summary>
public sealed class StatsRedrawTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("skiff-redraw-").FullName;

    private string Socket => Path.Combine(_directory, "serve.sock");

    private static int Count(string text, string what)
    {
        int n = 0;
        for (int i = text.IndexOf(what, StringComparison.Ordinal); i >= 0; i = text.IndexOf(what, i + what.Length, StringComparison.Ordinal))
        {
            n++;
        }
        return n;
    }

    [Fact]
    public void On_a_terminal_every_report_overwrites_the_last_in_place()
    {
        using SkiffControlServer server = SkiffControlServer.Start(Socket, replaceStale: false);
        using CancellationTokenSource stop = new(TimeSpan.FromSeconds(2.5));
        StringWriter output = new();
        StringWriter error = new();
        Assert.True(StatsCommand.Run(Socket, once: false, json: false, redraw: true, output, error, stop.Token) == 0, error.ToString());

        string screen = output.ToString();
        Assert.StartsWith(TerminalScreen.HideCursor + TerminalScreen.Home + TerminalScreen.ClearScreen, screen);
        Assert.Equal(1, Count(screen, TerminalScreen.ClearScreen)); // cleared once, never again: no flicker
        string[] frames = screen[(TerminalScreen.HideCursor + TerminalScreen.Home + TerminalScreen.ClearScreen).Length..]
            .Split(TerminalScreen.Home, StringSplitOptions.RemoveEmptyEntries);
        Assert.True(frames.Length >= 2, $"{frames.Length} reports in 2.5 s: {screen}");
        Assert.EndsWith(TerminalScreen.ShowCursor, screen);
        foreach (string frame in frames)
        {
            string body = frame.Replace(TerminalScreen.ShowCursor, "");
            Assert.EndsWith(TerminalScreen.EraseBelow, body);
            string[] lines = body[..^TerminalScreen.EraseBelow.Length].Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.StartsWith($"skiff stats: pid {Environment.ProcessId}, {Socket}, ", lines[0]);
            Assert.All(lines, l => Assert.EndsWith(TerminalScreen.EraseLine, l));
        }
    }

    [Fact]
    public void Redirected_reports_are_appended_without_escape_sequences()
    {
        using SkiffControlServer server = SkiffControlServer.Start(Socket, replaceStale: false);
        using CancellationTokenSource stop = new(TimeSpan.FromSeconds(2.5));
        StringWriter output = new();
        Assert.Equal(0, StatsCommand.Run(Socket, once: false, json: false, redraw: false, output, new StringWriter(), stop.Token));
        string text = output.ToString();
        Assert.DoesNotContain('\u001b', text);
        Assert.True(Count(text, "skiff stats: pid ") >= 2, text);
    }

    /// <summary>The real binary in a tmux pane: after several reports the screen holds exactly one table, at the top.</summary>
    [Fact]
    public void In_a_tmux_pane_the_screen_holds_one_table_at_the_top()
    {
        string tmux = ExternalTools.Require("tmux");
        using SkiffControlServer server = SkiffControlServer.Start(Socket, replaceStale: false);
        string tmuxSocket = $"skiff-redraw-{Environment.ProcessId}";
        string command = $"{ServeProcess.Dotnet} {ServeProcess.SkiffDll} stats --socket {Socket}";
        ExternalTools.Check(tmux, "-L", tmuxSocket, "-f", "/dev/null", "new-session", "-d", "-s", "stats", "-x", "150", "-y", "60", command);
        try
        {
            // Every capture of the pane holds exactly one table, at the top, while the table's time changes: three
            // reports or more drawn over each other. Waits as long as a loaded machine needs to start dotnet.
            HashSet<string> headers = [];
            string pane = "";
            Stopwatch watch = Stopwatch.StartNew();
            while (headers.Count < 3 && watch.Elapsed < TimeSpan.FromSeconds(60))
            {
                Thread.Sleep(300);
                pane = ExternalTools.Run(tmux, ["-L", tmuxSocket, "capture-pane", "-p", "-t", "stats"]).Output;
                if (Count(pane, "skiff stats: pid") == 0)
                {
                    continue;
                }
                Assert.True(Count(pane, "skiff stats: pid") == 1, $"the pane holds more than one table:\n{pane}");
                Assert.StartsWith($"skiff stats: pid {Environment.ProcessId}, {Socket}, ", pane); // at the top, not scrolled
                headers.Add(pane[..pane.IndexOf('\n')]);
            }
            Assert.True(headers.Count >= 3, $"{headers.Count} distinct reports seen in 60 s; the pane:\n{pane}");
        }
        finally
        {
            ExternalTools.Run(tmux, ["-L", tmuxSocket, "kill-server"]);
        }
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}

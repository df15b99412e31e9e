namespace Skiff.Cli.Stats;

/// <summary>
/// Redraws a report in place on a terminal, as <c>top</c> and <c>dotnet-counters monitor</c> do: the screen is cleared
/// once, then every report moves the cursor home and overwrites the previous one line by line (each line erased to its
/// end, the rest of the screen below the report erased), so nothing scrolls and nothing flickers. The cursor is hidden
/// while reports are drawn and shown again by <see cref="Dispose"/>.
/// </summary>
internal sealed class TerminalScreen : IDisposable
{
    private const string Escape = "\u001b[";
    internal const string Home = Escape + "H";
    internal const string ClearScreen = Escape + "2J";
    internal const string EraseLine = Escape + "K";
    internal const string EraseBelow = Escape + "J";
    internal const string HideCursor = Escape + "?25l";
    internal const string ShowCursor = Escape + "?25h";

    private readonly TextWriter _output;
    private bool _started;

    public TerminalScreen(TextWriter output) => _output = output;

    /// <summary>Draws <paramref name="report"/> over the previous one.</summary>
    public void Draw(string report)
    {
        if (!_started)
        {
            _output.Write(HideCursor + Home + ClearScreen);
            _started = true;
        }
        _output.Write(Home);
        ReadOnlySpan<char> rest = report.AsSpan().TrimEnd('\n');
        while (rest.Length > 0)
        {
            int end = rest.IndexOf('\n');
            ReadOnlySpan<char> line = end < 0 ? rest : rest[..end];
            _output.Write(line.TrimEnd('\r'));
            _output.Write(EraseLine + "\n");
            rest = end < 0 ? [] : rest[(end + 1)..];
        }
        _output.Write(EraseBelow);
        _output.Flush();
    }

    /// <summary>Shows the cursor again below the last report.</summary>
    public void Dispose()
    {
        if (_started)
        {
            _output.Write(ShowCursor);
            _output.Flush();
        }
    }
}

using System.CommandLine;

namespace Skiff.Cli.Drivers;

/// <summary>
/// The egress qdisc options: <c>--qdisc</c>, <c>--shape</c> and <c>--qdisc-file</c> (docs/qdisc.md), for every command
/// whose loop sends (<c>serve</c>, <c>fwd</c>). Build one per command: options belong to one command.
/// </summary>
internal sealed class QDiscOptionSet
{
    public Option<string?> QDisc { get; } = new("--qdisc")
    {
        Description = "The egress qdisc, as tc writes it: 'fq_codel', 'pfifo limit 1000', 'tbf rate 50mbit burst 64kb latency 50ms', 'prio bands 3' (docs/qdisc.md).",
    };

    public Option<string?> Shape { get; } = new("--shape") { Description = "Shape egress to this rate (e.g. 20mbit) above --qdisc, or above fq_codel without it (CAKE's bandwidth)." };

    public Option<string?> QDiscFile { get; } = new("--qdisc-file") { Description = "A qdisc hierarchy from FILE: an htb line, class lines and filter lines (docs/qdisc.md)." };

    /// <summary>Adds <c>--qdisc</c>, <c>--shape</c> and <c>--qdisc-file</c> to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        command.Options.Add(QDisc);
        command.Options.Add(Shape);
        command.Options.Add(QDiscFile);
    }

    /// <summary>
    /// Reads <c>--qdisc</c>, <c>--shape</c> and <c>--qdisc-file</c>: the egress qdisc spec, or null for none. On a bad one
    /// writes the offending word and why to <paramref name="error"/> and sets <paramref name="ok"/> false.
    /// </summary>
    public Skiff.QDisc.Spec.QDiscSpec? Read(ParseResult result, string command, TextWriter error, out bool ok)
    {
        ok = false;
        string? text = result.GetValue(QDisc), file = result.GetValue(QDiscFile), shape = result.GetValue(Shape);
        if (text is not null && file is not null)
        {
            error.WriteLine($"{command}: give either --qdisc or --qdisc-file, not both.");
            return null;
        }
        Skiff.QDisc.Spec.QDiscSpec? spec = null;
        try
        {
            if (text is not null)
            {
                spec = Skiff.QDisc.Spec.QDiscSpec.Parse(text);
            }
            else if (file is not null)
            {
                if (!File.Exists(file))
                {
                    error.WriteLine($"{command}: --qdisc-file '{file}' does not exist; give the path of a qdisc file (docs/qdisc.md).");
                    return null;
                }
                spec = Skiff.QDisc.Spec.QDiscSpec.ParseFile(File.ReadAllText(file));
            }
        }
        catch (Skiff.QDisc.Spec.QDiscSpecException e)
        {
            error.WriteLine($"{command}: {(file is null ? "--qdisc" : $"--qdisc-file {file}")}: {e.Message}");
            return null;
        }
        if (shape is not null)
        {
            if (Skiff.QDisc.Spec.TcUnits.TryParseRate(shape) is not Skiff.QDisc.Rate rate)
            {
                error.WriteLine($"{command}: --shape '{shape}' is not a rate; write e.g. 20mbit, 1gbit or 500kbit.");
                return null;
            }
            spec = Skiff.QDisc.Spec.QDiscSpec.Shape(rate, spec);
        }
        ok = true;
        return spec;
    }
}

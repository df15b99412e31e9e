using System.CommandLine;
using System.Text;

namespace Skiff.Cli.Tests;

/// <summary>Every command's <c>--help</c> ends with examples, and every example parses against the command tree as written.</summary>
public sealed class HelpExamplesTests
{
    public static TheoryData<string> Commands() => [.. Program.BuildRoot().Subcommands.Select(c => c.Name)];

    [Theory]
    [MemberData(nameof(Commands))]
    public void Every_command_has_examples_that_parse(string name)
    {
        Command command = Program.BuildRoot().Subcommands.Single(c => c.Name == name);
        string description = command.Description ?? "";
        int at = description.IndexOf("\n\nExamples:\n", StringComparison.Ordinal);
        Assert.True(at >= 0, $"skiff {name} --help has no examples");
        string[] examples = description[(at + "\n\nExamples:\n".Length)..].Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.NotEmpty(examples);
        foreach (string example in examples)
        {
            string[] words = ShellWords(example.Split(" | ")[0]); // the skiff part of a pipeline
            Assert.Equal(["skiff", name], words[..2]);
            ParseResult parsed = Program.BuildRoot().Parse(words[1..]);
            Assert.True(parsed.Errors.Count == 0, $"'{example}': {string.Join("; ", parsed.Errors.Select(e => e.Message))}");
        }

        CliRunner.Result help = CliRunner.Run(name, "--help");
        Assert.Equal(0, help.ExitCode);
        Assert.Contains("Examples:", help.Output);
    }

    /// <summary>Splits a command line as sh does for plain words and single-quoted strings (all the examples use).</summary>
    private static string[] ShellWords(string line)
    {
        List<string> words = [];
        StringBuilder word = new();
        bool quoted = false, any = false;
        foreach (char c in line)
        {
            if (c == '\'')
            {
                quoted = !quoted;
                any = true;
            }
            else if (c == ' ' && !quoted)
            {
                if (any)
                {
                    words.Add(word.ToString());
                    word.Clear();
                    any = false;
                }
            }
            else
            {
                word.Append(c);
                any = true;
            }
        }
        Assert.False(quoted, $"unbalanced quote in '{line}'");
        if (any)
        {
            words.Add(word.ToString());
        }
        return [.. words];
    }
}

using System.Text;
using System.Text.RegularExpressions;
using AgentRl.Cluster.Tests.Infrastructure;
using AgentRl.Cluster.Tests.Reporting;

namespace AgentRl.Cluster.Tests.Cli;

/// <summary>
/// The README's sample outputs are what the code prints: every <c>```console</c> block's <c>$ agentrl …</c> commands run
/// (with the arguments of a <c>&lt;!-- readme-test: … --&gt;</c> comment just before the block appended, to make a long
/// command short), and the lines under each command must appear in its output: consecutive lines consecutively, a line
/// <c>…</c> skips any number of lines, <c>…</c> inside a line matches any text, any number matches any number and runs
/// of spaces or table rules match any width.
/// </summary>
public sealed partial class ReadmeSamplesTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    public sealed record Sample(string Command, string[] Arguments, IReadOnlyList<string> Expected)
    {
        public override string ToString() => Command;
    }

    public static TheoryData<Sample> Samples()
    {
        var data = new TheoryData<Sample>();
        foreach (var sample in Parse(File.ReadAllText(Path.Combine(Processes.RepoRoot, "README.md"))))
        {
            data.Add(sample);
        }

        return data;
    }

    [Fact]
    public void Readme_HasSamplesToCheck() => Assert.True(Samples().Count >= 3, "the README's console samples were not found");

    [Theory]
    [MemberData(nameof(Samples))]
    public async Task ReadmeSample_IsWhatTheCommandPrints(Sample sample)
    {
        var result = await Processes.RunAsync("dotnet", [Processes.ClientDll, .. sample.Arguments], TimeSpan.FromMinutes(6), _dir.Path);
        var output = (result.Stdout + result.Stderr).Replace("\r", "", StringComparison.Ordinal).Split('\n');

        var mismatch = Match(sample.Expected, output);

        Assert.True(mismatch is null, $"README sample '{sample.Command}': {mismatch}\n--- printed (exit {result.ExitCode}) ---\n{string.Join('\n', output)}");
    }

    [Fact]
    public async Task AgentrlScript_RunsTheBuiltClient()
    {
        var result = await Processes.RunAsync("bash", [Path.Combine(Processes.RepoRoot, "agentrl"), "tools", "call", "calculator-evaluate", """{"expression":"6*7"}"""], TimeSpan.FromMinutes(5), _dir.Path);

        Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr);
        Assert.Equal("42", result.Stdout.Trim());
    }

    [Fact]
    public void Match_ConsecutiveLinesNumbersAndEllipses()
    {
        string[] printed = ["run a-1: 25 steps", "noise", "step 1/25 reward 0.028", "step 2/25 reward 0.031", "│ initial      │   0.0 % │"];

        Assert.Null(Match(["run a-7: 3 steps", "…", "step 1/3 reward 0.5", "step 2/3 reward …", "│ initial │ 12.5 % │"], printed));
        Assert.NotNull(Match(["run a-1: 25 steps", "step 1/25 reward 0.028"], printed));   // not consecutive
        Assert.NotNull(Match(["step 1/25 penalty 0.028"], printed));
        Assert.NotNull(Match(["run b-1: 25 steps"], printed));
    }

    /// <summary>Null when <paramref name="expected"/> matches <paramref name="printed"/>, else what did not.</summary>
    private static string? Match(IReadOnlyList<string> expected, IReadOnlyList<string> printed)
    {
        // Runs of expected lines between "…" lines, each found as a consecutive block after the previous one.
        var blocks = new List<List<Regex>> { new() };
        foreach (var line in expected)
        {
            if (line.Trim() == "…")
            {
                blocks.Add([]);
            }
            else
            {
                blocks[^1].Add(Pattern(line));
            }
        }

        var at = 0;
        foreach (var block in blocks.Where(b => b.Count > 0))
        {
            var found = -1;
            for (var start = at; start + block.Count <= printed.Count && found < 0; start++)
            {
                if (block.Select((p, i) => p.IsMatch(printed[start + i].TrimEnd())).All(m => m))
                {
                    found = start;
                }
            }

            if (found < 0)
            {
                return $"no lines matching [{string.Join(" / ", block)}] after line {at}";
            }

            at = found + block.Count;
        }

        return null;
    }

    private static Regex Pattern(string line)
    {
        var pattern = new StringBuilder("^");
        foreach (Match token in Token().Matches(line.Trim()))
        {
            var t = token.Value;
            pattern.Append(t switch
            {
                "…" => ".*",
                _ when char.IsWhiteSpace(t[0]) => @"\s+",
                _ when t[0] == '─' => "─+",
                _ when char.IsDigit(t[0]) => @"\d+(?:\.\d+)?",
                _ => Regex.Escape(t),
            });
        }

        return new Regex(pattern.Append(@"\s*$").ToString(), RegexOptions.CultureInvariant);
    }

    [GeneratedRegex(@"…|\s+|─+|\d+(?:\.\d+)?|.", RegexOptions.CultureInvariant)]
    private static partial Regex Token();

    private static IEnumerable<Sample> Parse(string readme)
    {
        var lines = readme.Replace("\r", "", StringComparison.Ordinal).Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            if (lines[i].Trim() != "```console")
            {
                continue;
            }

            var comment = i > 0 ? ReadmeTest().Match(lines[i - 1]) : System.Text.RegularExpressions.Match.Empty;
            var extra = comment.Success ? Split(comment.Groups[1].Value) : [];
            string? command = null;
            var expected = new List<string>();
            for (i++; i < lines.Length && lines[i].Trim() != "```"; i++)
            {
                if (lines[i].StartsWith("$ agentrl ", StringComparison.Ordinal) || lines[i] == "$ agentrl")
                {
                    if (command is not null)
                    {
                        yield return new Sample(command, [.. Split(command)[1..], .. extra], expected);
                    }

                    (command, expected) = (lines[i][2..], []);
                }
                else if (command is not null)
                {
                    expected.Add(lines[i]);
                }
            }

            if (command is not null)
            {
                yield return new Sample(command, [.. Split(command)[1..], .. extra], expected);
            }
        }
    }

    [GeneratedRegex(@"^<!-- readme-test: (.*) -->$")]
    private static partial Regex ReadmeTest();

    /// <summary>Splits a command line as a shell would for single and double quotes (no escapes, no variables).</summary>
    private static string[] Split(string command)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        var inWord = false;
        char? quote = null;
        foreach (var c in command)
        {
            if (quote is { } q)
            {
                if (c == q)
                {
                    quote = null;
                }
                else
                {
                    word.Append(c);
                }
            }
            else if (c is '\'' or '"')
            {
                (quote, inWord) = (c, true);
            }
            else if (char.IsWhiteSpace(c))
            {
                if (inWord)
                {
                    words.Add(word.ToString());
                    (word, inWord) = (new StringBuilder(), false);
                }
            }
            else
            {
                word.Append(c);
                inWord = true;
            }
        }

        if (inWord)
        {
            words.Add(word.ToString());
        }

        return [.. words];
    }
}

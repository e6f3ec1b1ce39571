using System.CommandLine;
using System.Globalization;
using System.Text.RegularExpressions;
using AgentRl.Abstractions.Configuration;

namespace AgentRl.Cli.Commands;

/// <summary>
/// Usage errors as agentrl reports them: one line per mistake naming the input, what is allowed and the likely intent
/// ("did you mean"), then where the help is; exit code 2. Replaces the parser's own report (its messages name .NET types
/// and are followed by the whole help text).
/// </summary>
public static partial class CliUsage
{
    /// <summary>The exit code of a usage error.</summary>
    public const int ExitCode = 2;

    /// <summary>
    /// An optional file argument must not swallow a misspelt option: <c>train --stpes 3</c> would otherwise read
    /// <c>--stpes</c> as the configuration file.
    /// </summary>
    public static void RefuseOptionLike(Command command, Argument<string?> argument) =>
        argument.Validators.Add(result =>
        {
            foreach (var token in result.Tokens.Where(t => LooksLikeOption(t.Value)))
            {
                result.AddError(UnknownOption(token.Value, command));
            }
        });

    /// <summary>Writes the parse errors of <paramref name="parsed"/> and returns <see cref="ExitCode"/>.</summary>
    public static int WriteErrors(ParseResult parsed, TextWriter error)
    {
        var command = parsed.CommandResult.Command;
        var messages = new List<string>();
        foreach (var token in parsed.UnmatchedTokens)
        {
            messages.Add(LooksLikeOption(token) ? UnknownOption(token, command)
                : command.Subcommands.Count > 0 ? $"unknown command '{token}' for '{Path(command)}'. Commands: {string.Join(", ", command.Subcommands.Where(c => !c.Hidden).Select(c => c.Name))}.{NameSuggestions.DidYouMean(token, command.Subcommands.Select(c => c.Name))}"
                : $"unexpected argument '{token}'.");
        }

        foreach (var e in parsed.Errors)
        {
            if (!e.Message.StartsWith("Unrecognized command or argument", StringComparison.Ordinal))
            {
                messages.Add(Rephrase(e));
            }
        }

        // A misspelt option or command explains what follows it (a stray value, a missing command): report it alone.
        var unknown = messages.Where(m => m.StartsWith("unknown ", StringComparison.Ordinal)).ToList();
        foreach (var message in (unknown.Count > 0 ? unknown : messages).Distinct(StringComparer.Ordinal))
        {
            error.WriteLine($"agentrl: {message}");
        }

        error.WriteLine($"Run '{Path(command)} --help' for usage.");
        return ExitCode;
    }

    /// <summary>
    /// Help text as written: the root help lists a command with an optional argument as <c>train [config]</c>, as the
    /// command's own usage line does (the parser writes <c>train &lt;config&gt;</c> there, as if it were required).
    /// </summary>
    public static string Help(RootCommand root, string text)
    {
        foreach (var command in root.Subcommands)
        {
            foreach (var argument in command.Arguments.Where(a => a.Arity.MinimumNumberOfValues == 0))
            {
                // Same width, so the columns stay aligned.
                text = text.Replace($"\n  {command.Name} <{argument.Name}> ", $"\n  {command.Name} [{argument.Name}] ", StringComparison.Ordinal);
            }
        }

        return text;
    }

    private static bool LooksLikeOption(string token) =>
        token.Length > 1 && token[0] == '-' && !double.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out _);

    private static string UnknownOption(string token, Command command)
    {
        var name = token.Split('=', 2)[0];
        var names = OptionsOf(command).ToList();
        return $"unknown option '{name}' for '{Path(command)}'.{NameSuggestions.DidYouMean(name, names)}";
    }

    /// <summary>The options <paramref name="command"/> accepts: its own and the recursive ones of the commands above it.</summary>
    private static IEnumerable<string> OptionsOf(Command command)
    {
        IEnumerable<Option> options = command.Options;
        for (var parent = command.Parents.OfType<Command>().FirstOrDefault(); parent is not null; parent = parent.Parents.OfType<Command>().FirstOrDefault())
        {
            options = options.Concat(parent.Options.Where(o => o.Recursive));
        }

        return options.Where(o => !o.Hidden).SelectMany(o => o.Aliases.Prepend(o.Name)).Where(n => n.StartsWith("--", StringComparison.Ordinal));
    }

    private static string Path(Command command)
    {
        var names = new List<string>();
        for (Command? c = command; c is not null; c = c.Parents.OfType<Command>().FirstOrDefault())
        {
            names.Insert(0, c is RootCommand ? "agentrl" : c.Name);
        }

        return string.Join(' ', names);
    }

    /// <summary>The parser's messages without .NET type names, naming the option they are about.</summary>
    private static string Rephrase(System.CommandLine.Parsing.ParseError error)
    {
        var message = error.Message;
        var parse = CannotParse().Match(message);
        if (parse.Success)
        {
            var type = parse.Groups["type"].Value;
            var expected = type.Contains("Int", StringComparison.Ordinal) ? "a whole number"
                : type.Contains("Double", StringComparison.Ordinal) || type.Contains("Single", StringComparison.Ordinal) || type.Contains("Decimal", StringComparison.Ordinal) ? "a number"
                : type.Contains("Boolean", StringComparison.Ordinal) ? "true or false"
                : "another value";
            return $"{parse.Groups["symbol"].Value}: '{parse.Groups["value"].Value}' is not valid; expected {expected}.";
        }

        var among = NotAmong().Match(message);
        if (among.Success)
        {
            var allowed = string.Join(", ", among.Groups["allowed"].Value.Split('\'', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(a => a.Length > 0));
            var symbol = error.SymbolResult is System.CommandLine.Parsing.OptionResult option ? option.Option.Name + ": " : "";
            return $"{symbol}'{among.Groups["value"].Value}' is not valid; expected one of: {allowed}.";
        }

        return message.EndsWith('.') || message.EndsWith('?') ? message : message + ".";
    }

    [GeneratedRegex(@"^Argument '(?<value>.*)' not recognized\. Must be one of:(?<allowed>[\s\S]*?)\.?$")]
    private static partial Regex NotAmong();

    [GeneratedRegex(@"^Cannot parse argument '(?<value>.*)' for (?:option|command|argument) '(?<symbol>[^']*)' as expected type '(?<type>[^']*)'")]
    private static partial Regex CannotParse();
}

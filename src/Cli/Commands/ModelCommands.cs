using System.CommandLine;
using System.Globalization;
using AgentRl.Abstractions.Models;

namespace AgentRl.Cli.Commands;

/// <summary>
/// <c>agentrl model …</c>: model directories as the silos see them (<see cref="IModelFilesGrain"/>): with the embedded silo
/// that is this machine's disk, against a cluster the silos' — where a run's <c>initFrom</c> or <c>dir:PATH</c> points.
/// </summary>
public static class ModelCommands
{
    public static Command Create(CliContext context)
    {
        var model = new Command("model", "Work with Hugging Face model directories (as the silos see them).");
        model.Subcommands.Add(Tokenize(context));
        model.Subcommands.Add(Inspect(context));
        model.Subcommands.Add(Init(context));
        return model;
    }

    private static Command Tokenize(CliContext context)
    {
        var dir = new Option<string>("--model") { Description = "Model directory with tokenizer.json.", Required = true };
        var noSpecial = new Option<bool>("--no-special") { Description = "Treat special-token text as plain text." };
        var text = new Argument<string>("text") { Description = "The text to tokenize." };
        var command = new Command("tokenize", "Print the token ids of a text.") { dir, noSpecial, text };
        command.SetAction((parse, ct) => context.RunAsync(parse, async (connection, output) =>
        {
            var ids = await Files(connection).TokenizeAsync(parse.GetValue(dir)!, parse.GetValue(text)!, allowSpecial: !parse.GetValue(noSpecial), ct);
            output.WriteLine(string.Join(' ', ids));
            return 0;
        }, ct));
        return command;
    }

    private static Command Inspect(CliContext context)
    {
        var dir = new Argument<string>("dir") { Description = "Model directory." };
        var command = new Command("inspect", "List a checkpoint's configuration and tensors (names, dtypes, shapes).") { dir };
        command.SetAction((parse, ct) => context.RunAsync(parse, async (connection, output) =>
        {
            var m = await Files(connection).InspectAsync(parse.GetValue(dir)!, ct);
            output.WriteLine($"{m.ModelType}: hidden {m.HiddenSize}, layers {m.Layers}, heads {m.Heads}/{m.KeyValueHeads}, vocab {m.VocabSize}, tied {m.TiedEmbeddings}");
            foreach (var tensor in m.Tensors)
            {
                output.WriteLine($"{tensor.Name,-60} {tensor.Dtype,-5} [{string.Join(", ", tensor.Shape)}]");
            }

            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"parameters: {m.Tensors.Sum(t => t.ElementCount):N0}"));
            return 0;
        }, ct));
        return command;
    }

    private static Command Init(CliContext context)
    {
        var preset = new Option<string>("--preset") { Description = "tiny or small.", DefaultValueFactory = _ => "tiny" };
        var seed = new Option<long>("--seed") { Description = "Seed of the random initialisation.", DefaultValueFactory = _ => 0 };
        var output = new Option<string>("--out") { Description = "Directory to write.", Required = true };
        var command = new Command("init", "Write a randomly initialised model with the byte-level tokenizer in Hugging Face layout.") { preset, seed, output };
        command.SetAction((parse, ct) => context.RunAsync(parse, async (connection, writer) =>
        {
            await Files(connection).InitAsync(parse.GetValue(preset)!, parse.GetValue(seed), parse.GetValue(output)!, ct);
            writer.WriteLine($"wrote {parse.GetValue(output)}");
            return 0;
        }, ct));
        return command;
    }

    private static IModelFilesGrain Files(Connection.ClusterConnection connection) => connection.Client.GetGrain<IModelFilesGrain>(0);
}

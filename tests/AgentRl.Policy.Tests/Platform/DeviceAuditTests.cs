using System.Text.RegularExpressions;

namespace AgentRl.Policy.Tests.Platform;

/// <summary>
/// Every tensor of <c>src/Policy</c> lives on the model's device, and every read back to the host is a deliberate one.
/// No GPU is needed to break either rule, so none is needed to catch it: this CPU-only machine cannot see a tensor made on
/// the wrong device at run time (all of them are on the CPU), and TorchSharp's <c>meta</c> device lacks the kernels a
/// forward needs (measured on libtorch 2.10: <c>index_select</c> and <c>where</c> have no Meta kernel). So the rules are
/// checked on the source: a tensor factory without a <c>device:</c> argument fails here, as does a new host read.
/// Dtype mismatches, which a bf16 model shows on the CPU as well, are caught at run time by the bf16 tests
/// (<see cref="Trainer.MixedPrecisionTrainerTests"/>).
/// </summary>
public sealed partial class DeviceAuditTests
{
    /// <summary>Files whose tensors are on the CPU by design, with the reason.</summary>
    private static readonly Dictionary<string, string> CpuByDesign = new(StringComparer.Ordinal)
    {
        ["Model/CpuDecoder.cs"] = "the managed decoder serves f32 CPU models only (HasCpuDecoder is false on any other device)",
        ["HuggingFace/SafetensorsFile.cs"] = "reads a file into host memory; loaders copy the tensors into the model on its device",
        ["Model/RotaryEmbedding.cs"] = "builds the cos/sin tables in f32 on the CPU (transformers' arithmetic), then moves them once to the model's device and dtype",
    };

    /// <summary>
    /// Lines that read a tensor back to the host (<c>.cpu()</c>, <c>.data&lt;T&gt;()</c>, <c>.item&lt;T&gt;()</c>), per file, with
    /// why. On a GPU each is a synchronisation; a change to a count is a change to this list, made on purpose.
    /// </summary>
    private static readonly Dictionary<string, (int Lines, string Why)> HostReads = new(StringComparer.Ordinal)
    {
        ["Model/CausalLanguageModel.cs"] = (2, "the packed forward's highest position sizes the rotary table; the managed decoder (CPU only) reads its token ids"),
        ["Training/PolicyTrainer.cs"] = (14, "per micro-batch loss parts and token counts for the step's metrics, the gradient norm for clipping, reward-KL per row"),
        ["Training/PolicyForward.cs"] = (2, "old and reference log-probs and entropies leave as arrays for the trajectories"),
        ["Generation/BatchSampler.cs"] = (4, "each decoding step's sampled ids, log-probs, entropies and top-k go to the requests"),
        ["HuggingFace/SafetensorsWriter.cs"] = (1, "writing a checkpoint"),
        ["Objectives/RewardPlacement.cs"] = (5, "rewards are placed on their last valid token in managed code, and their sums reported"),
        ["Objectives/LossAggregation.cs"] = (4, "token and sequence counts of the loss normalisers"),
        ["Objectives/CovarianceSelection.cs"] = (3, "Clip-Cov / KL-Cov select tokens with a seeded exact top-k in managed code (clip-cov and kl-cov only)"),
        ["Objectives/PolicyLosses.cs"] = (2, "masked means for metrics"),
        ["Objectives/PolicyObjective.cs"] = (4, "loss parts for metrics"),
        ["Objectives/AdvantageEstimators.cs"] = (2, "valid-token counts per row"),
        ["Branching/AepoObjective.cs"] = (5, "entropy statistics for AEPO's metrics and its entropy-aware advantage"),
    };

    [Fact]
    public void TensorFactories_NameTheirDevice()
    {
        var offenders = new List<string>();
        var calls = 0;
        foreach (var (file, code) in PolicySources().Where(f => !CpuByDesign.ContainsKey(f.Path)))
        {
            foreach (Match call in FactoryCall().Matches(code))
            {
                calls++;
                var arguments = Arguments(code, call.Index + call.Length - 1);
                if (!arguments.Contains("device", StringComparison.Ordinal))
                {
                    offenders.Add($"{file}:{LineOf(code, call.Index)}: {call.Groups[1].Value}({Shorten(arguments)})");
                }
            }
        }

        Assert.True(calls > 20, $"only {calls} tensor factory calls found: the audit reads the wrong files");
        Assert.True(offenders.Count == 0, "tensor factories without a device (pass device: the model's or an input's device):\n" + string.Join('\n', offenders));
    }

    [Fact]
    public void HostReads_AreTheListedOnes()
    {
        var found = PolicySources()
            .Select(f => (f.Path, Lines: f.Code.Split('\n').Count(l => HostRead().IsMatch(l))))
            .Where(f => f.Lines > 0)
            .ToDictionary(f => f.Path, f => f.Lines, StringComparer.Ordinal);
        var differences = found.Keys.Union(HostReads.Keys)
            .Where(path => found.GetValueOrDefault(path) != (HostReads.TryGetValue(path, out var listed) ? listed.Lines : 0))
            .Select(path => $"{path}: {found.GetValueOrDefault(path)} lines read tensors to the host, listed {(HostReads.TryGetValue(path, out var listed) ? listed.Lines : 0)}")
            .ToList();

        Assert.True(differences.Count == 0, "host reads changed (each is a GPU synchronisation; list it here with its reason if it is meant):\n" + string.Join('\n', differences));
    }

    [Fact]
    public void Audit_FindsAFactoryWithoutADevice()
    {
        const string code = "var a = zeros([2, 3], dtype: ScalarType.Float32);\nvar b = tensor(values, [n, 1], device: Model.Device);\nvar c = x.zeros_like();";
        var calls = FactoryCall().Matches(code).Select(m => Arguments(code, m.Index + m.Length - 1)).ToList();

        Assert.Equal(2, calls.Count);
        Assert.DoesNotContain("device", calls[0], StringComparison.Ordinal);
        Assert.Contains("device", calls[1], StringComparison.Ordinal);
    }

    /// <summary>Each .cs file under src/Policy (path relative to it, '/'-separated), comments and string literals removed.</summary>
    private static IEnumerable<(string Path, string Code)> PolicySources()
    {
        var root = Path.Combine(RepositoryRoot(), "src", "Policy");
        return Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal) && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .Select(f => (Path.GetRelativePath(root, f).Replace(Path.DirectorySeparatorChar, '/'), StripCommentsAndStrings(File.ReadAllText(f))));
    }

    /// <summary>Comments become nothing (their line breaks kept, so line numbers hold) and string literals become "".</summary>
    private static string StripCommentsAndStrings(string code) =>
        CommentsAndStrings().Replace(code, m => m.Value[0] == '/' ? new string('\n', m.Value.Count(c => c == '\n')) : "\"\"");

    /// <summary>The text between the parenthesis at <paramref name="open"/> and its match.</summary>
    private static string Arguments(string code, int open)
    {
        var depth = 0;
        for (var i = open; i < code.Length; i++)
        {
            depth += code[i] switch { '(' => 1, ')' => -1, _ => 0 };
            if (depth == 0)
            {
                return code[(open + 1)..i];
            }
        }

        return code[(open + 1)..];
    }

    private static int LineOf(string code, int index) => code.AsSpan(0, index).Count('\n') + 1;

    private static string Shorten(string text)
    {
        var flat = Regex.Replace(text, @"\s+", " ");
        return flat.Length <= 60 ? flat : flat[..57] + "...";
    }

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "AgentRl.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("AgentRl.sln not found above " + AppContext.BaseDirectory);
    }

    /// <summary>A call of a torch factory by its bare name (<c>using static TorchSharp.torch</c>) or as <c>torch.name(</c>.</summary>
    [GeneratedRegex(@"(?<![\w.])(?:torch\.)?(tensor|zeros|ones|full|empty|arange|eye|rand|randn|randint|linspace|from_array|as_tensor)\s*\(")]
    private static partial Regex FactoryCall();

    [GeneratedRegex(@"\.cpu\(\)|\.data<|\.item<|\.to\([^)]*\bCPU\b")]
    private static partial Regex HostRead();

    [GeneratedRegex(@"//[^\n]*|/\*.*?\*/|@""(?:[^""]|"""")*""|\$?""(?:\\.|[^""\\\n])*""", RegexOptions.Singleline)]
    private static partial Regex CommentsAndStrings();
}

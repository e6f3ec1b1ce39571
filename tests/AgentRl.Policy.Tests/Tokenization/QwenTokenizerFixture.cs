using AgentRl.Policy.Tokenization;

namespace AgentRl.Policy.Tests.Tokenization;

/// <summary>The Qwen3 tokenizer from the npm reference package, loaded once per test run and shared.</summary>
public sealed class QwenTokenizerFixture
{
    private static readonly Lazy<BpeTokenizer> Shared = new(() => BpeTokenizer.Load(NodeReference.QwenTokenizerDir));

    public BpeTokenizer Tokenizer => Shared.Value;
}

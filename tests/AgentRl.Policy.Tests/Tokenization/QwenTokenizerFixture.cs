using AgentRl.Policy.Tokenization;

namespace AgentRl.Policy.Tests.Tokenization;

/// <summary>The Qwen3 tokenizer from the npm reference package, loaded once per test class.</summary>
public sealed class QwenTokenizerFixture
{
    private readonly Lazy<BpeTokenizer> _tokenizer = new(() => BpeTokenizer.Load(NodeReference.QwenTokenizerDir));

    public BpeTokenizer Tokenizer => _tokenizer.Value;
}

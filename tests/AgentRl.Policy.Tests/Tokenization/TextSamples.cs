using System.Text;

namespace AgentRl.Policy.Tests.Tokenization;

/// <summary>Hand-picked and seeded random texts for tokenizer tests.</summary>
internal static class TextSamples
{
    /// <summary>Text that stresses the pre-tokenizer: code, numbers, CJK, emoji, whitespace runs, special tokens.</summary>
    public static IReadOnlyList<string> Varied { get; } =
    [
        "",
        "Hello, world!",
        "I'm sure they'll say it's fine; WE'VE DONE IT, haven't we? She'd've",
        "def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n\nprint(fib(30))\n",
        "for (int i = 0; i < 10; i++) { sum += a[i] * 3.14159; }\r\n// done\t\ttabs",
        "1234567890 12.5% -0.001 1e-9 3,141,592 0x1F $42.00 2024-06-01T12:30:00Z",
        "你好，世界！这是一个测试。日本語のテキストも。한국어 텍스트도 있습니다.",
        "emoji 🎉🚀 👨‍👩‍👧‍👦 family, flags 🇫🇷🇯🇵, skin 👍🏽 and a🎉bc",
        "math 𝐀𝐁𝐂 𝟙𝟚𝟛 and old italic 𐌰𐌱 letters; CJK ext B 𠀀𠀁",
        "spaces:     five, then\n\n\nthree newlines,   \n  \t \n trailing   ",
        "  leading spaces and a lone\ttab\u00a0nbsp\u3000ideographic space",
        "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
        "<tool_call>\n{\"name\": \"python\", \"arguments\": {\"code\": \"print(1+1)\"}}\n</tool_call><|im_end|>",
        "<tool_response>\n2\n</tool_response><think>\nhmm\n</think>\n\nThe answer is 2.<|endoftext|>",
        "Café naïve résumé — combining: e\u0301 a\u0308 (NFC turns these into é ä)",
        "العربية עברית Ελληνικά Русский текст हिन्दी",
        "{\"key\": [1, 2, {\"nested\": null}], \"url\": \"https://example.com/a?b=c&d=e#f\"}",
        "<|im_start|><|im_end|><|im_start|>x<tool_call></tool_call><|endoftext|><|endoftext|>",
        "almost special: <|im_star|> <|im_end| <tool_call <im_start>",
        "\\boxed{42} $\\frac{1}{2}$ \\(x^2\\)",
        "a\r\nb\rc\n\r\n\n",
        "'s 's 'S 'll 'LL 're x's",
        "!!!??? ... --- === *** ~~~ ### @@@",
    ];

    /// <summary>Sequences whose NFC form differs from the input: composition, reordering, exclusions, Hangul.</summary>
    public static IReadOnlyList<string> NfcStress { get; } =
    [
        "\u0041\u030a\u0301 \u00c5\u0301 \u1e9b\u0323 \u0071\u0307\u0323 \u0044\u0307\u0323 \u01c4 \ufb01 \u2126",
        "\u1100\u1161\u11a8 \uac00\u11a8 \u0958 \u212b e\u0301\u0301 a\u0302\u0323 o\u0328\u0304",
    ];

    /// <summary>Seeded random strings over a mixed alphabet (ASCII, whitespace, CJK, emoji as surrogate pairs, tags).</summary>
    public static IReadOnlyList<string> Random(int seed, int count, int maxLength, bool withLoneSurrogates = false)
    {
        string[] pieces =
        [
            "a", "b", "Z", "q", "e", "s", "t", "'", "0", "7", "42", " ", "  ", "\t", "\n", "\r\n", ".", ",", "!", "(", ")",
            "{", "\"", "-", "_", "é", "e\u0301", "ß", "ж", "你", "好", "日", "😀", "🎉", "👍🏽", "𝐀", "𠀀", "\u00a0", "\u3000",
            "<|im_start|>", "<|im_end|>", "<tool_call>", "</tool_call>", "<|endoftext|>", "<", "|", ">",
        ];
        var random = new Random(seed);
        var texts = new List<string>(count);
        for (var i = 0; i < count; i++)
        {
            var length = random.Next(maxLength + 1);
            var builder = new StringBuilder();
            for (var j = 0; j < length; j++)
            {
                if (withLoneSurrogates && random.Next(20) == 0)
                {
                    builder.Append((char)random.Next(0xD800, 0xE000));
                }
                else if (random.Next(4) == 0)
                {
                    // Any scalar value, BMP or supplementary (surrogates excluded).
                    var scalar = random.Next(0x110000 - 0x800);
                    builder.Append(char.ConvertFromUtf32(scalar >= 0xD800 ? scalar + 0x800 : scalar));
                }
                else
                {
                    builder.Append(pieces[random.Next(pieces.Length)]);
                }
            }

            texts.Add(builder.ToString());
        }

        return texts;
    }
}

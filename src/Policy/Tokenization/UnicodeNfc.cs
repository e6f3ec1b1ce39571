using System.Text;

namespace AgentRl.Policy.Tokenization;

/// <summary>
/// Unicode NFC (canonical decomposition, canonical ordering, canonical composition; UAX #15), for the NFC normalizer
/// of Hugging Face tokenizers. The host runs with InvariantGlobalization, where <see cref="string.Normalize()"/>
/// leaves non-ASCII text as it is, so the tables come with this assembly (<see cref="UnicodeNfcData"/>).
/// </summary>
public static class UnicodeNfc
{
    private const int SBase = 0xAC00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7;
    private const int LCount = 19, VCount = 21, TCount = 28, NCount = VCount * TCount, SCount = LCount * NCount;

    private static readonly Dictionary<int, (int Start, int Length)> Decompositions = BuildDecompositions();
    private static readonly Dictionary<int, byte> CombiningClasses = BuildCombiningClasses();
    private static readonly Dictionary<long, int> Compositions = BuildCompositions(out CompositionSeconds);
    private static readonly HashSet<int> CompositionSeconds;

    /// <summary>The Unicode version of the tables.</summary>
    public static string UnicodeVersion => UnicodeNfcData.UnicodeVersion;

    /// <summary>The NFC form of <paramref name="text"/> (the same instance when it is already NFC by the quick check).</summary>
    public static string Normalize(string text)
    {
        if (IsQuickNfc(text))
        {
            return text;
        }

        var codePoints = new List<int>(text.Length);
        for (var i = 0; i < text.Length;)
        {
            if (Rune.TryGetRuneAt(text, i, out var rune))
            {
                Decompose(rune.Value, codePoints);
                i += rune.Utf16SequenceLength;
            }
            else
            {
                codePoints.Add(text[i]); // a lone surrogate stays as it is
                i++;
            }
        }

        Reorder(codePoints);
        Compose(codePoints);
        var builder = new StringBuilder(codePoints.Count);
        foreach (var cp in codePoints)
        {
            if (cp is >= 0xD800 and <= 0xDFFF)
            {
                builder.Append((char)cp);
            }
            else
            {
                builder.Append(new Rune(cp).ToString());
            }
        }

        return builder.ToString();
    }

    /// <summary>True when no character can change under NFC (the NFC_Quick_Check "yes" case, approximated safely).</summary>
    public static bool IsQuickNfc(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            int cp = text[i];
            if (cp < 0x300)
            {
                continue;
            }

            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                cp = char.ConvertToUtf32(text[i], text[i + 1]);
                i++;
            }

            if (Decompositions.ContainsKey(cp) || CombiningClasses.ContainsKey(cp) || CompositionSeconds.Contains(cp)
                || cp is >= VBase and < VBase + VCount || cp is > TBase and < TBase + TCount)
            {
                return false;
            }
        }

        return true;
    }

    private static void Decompose(int cp, List<int> output)
    {
        if (cp is >= SBase and < SBase + SCount)
        {
            var index = cp - SBase;
            output.Add(LBase + (index / NCount));
            output.Add(VBase + (index % NCount / TCount));
            if (index % TCount != 0)
            {
                output.Add(TBase + (index % TCount));
            }

            return;
        }

        if (Decompositions.TryGetValue(cp, out var range))
        {
            foreach (var part in UnicodeNfcData.DecompositionValues.Slice(range.Start, range.Length))
            {
                output.Add(part);
            }

            return;
        }

        output.Add(cp);
    }

    private static byte ClassOf(int cp) => CombiningClasses.TryGetValue(cp, out var value) ? value : (byte)0;

    /// <summary>Canonical ordering: a stable sort of each run of non-starters by combining class.</summary>
    private static void Reorder(List<int> cps)
    {
        for (var i = 1; i < cps.Count; i++)
        {
            var current = cps[i];
            var cc = ClassOf(current);
            if (cc == 0)
            {
                continue;
            }

            var j = i - 1;
            while (j >= 0 && ClassOf(cps[j]) is var previous && previous > cc)
            {
                cps[j + 1] = cps[j];
                j--;
            }

            cps[j + 1] = current;
        }
    }

    private static void Compose(List<int> cps)
    {
        var output = 0;
        var starter = -1;
        var lastClass = -1; // -1: nothing between the starter and the current character
        for (var i = 0; i < cps.Count; i++)
        {
            var cp = cps[i];
            int cc = ClassOf(cp);
            var unblocked = starter >= 0 && (lastClass == -1 || (lastClass != 0 && lastClass < cc));
            if (unblocked && TryCompose(cps[starter], cp, out var composite))
            {
                cps[starter] = composite;
                continue;
            }

            if (cc == 0)
            {
                starter = output;
                lastClass = -1;
            }
            else
            {
                lastClass = cc;
            }

            cps[output++] = cp;
        }

        cps.RemoveRange(output, cps.Count - output);
    }

    private static bool TryCompose(int first, int second, out int composite)
    {
        if (first is >= LBase and < LBase + LCount && second is >= VBase and < VBase + VCount)
        {
            composite = SBase + ((((first - LBase) * VCount) + (second - VBase)) * TCount);
            return true;
        }

        if (first is >= SBase and < SBase + SCount && (first - SBase) % TCount == 0 && second is > TBase and < TBase + TCount)
        {
            composite = first + (second - TBase);
            return true;
        }

        return Compositions.TryGetValue(((long)first << 32) | (uint)second, out composite);
    }

    private static Dictionary<int, (int, int)> BuildDecompositions()
    {
        var keys = UnicodeNfcData.DecompositionKeys;
        var offsets = UnicodeNfcData.DecompositionOffsets;
        var map = new Dictionary<int, (int, int)>(keys.Length);
        for (var i = 0; i < keys.Length; i++)
        {
            map[keys[i]] = (offsets[i], offsets[i + 1] - offsets[i]);
        }

        return map;
    }

    private static Dictionary<int, byte> BuildCombiningClasses()
    {
        var keys = UnicodeNfcData.CombiningKeys;
        var classes = UnicodeNfcData.CombiningClasses;
        var map = new Dictionary<int, byte>(keys.Length);
        for (var i = 0; i < keys.Length; i++)
        {
            map[keys[i]] = classes[i];
        }

        return map;
    }

    private static Dictionary<long, int> BuildCompositions(out HashSet<int> seconds)
    {
        var triples = UnicodeNfcData.CompositionTriples;
        var map = new Dictionary<long, int>(triples.Length / 3);
        seconds = [];
        for (var i = 0; i < triples.Length; i += 3)
        {
            map[((long)triples[i] << 32) | (uint)triples[i + 1]] = triples[i + 2];
            seconds.Add(triples[i + 1]);
        }

        return map;
    }
}

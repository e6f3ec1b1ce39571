using System.Text;

namespace AgentRl.Tasks.Data;

/// <summary>FNV-1a 64-bit hash of UTF-8 text: the same on every machine and run (unlike string.GetHashCode).</summary>
public static class TaskHash
{
    public static ulong Of(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var hash = 14695981039346656037UL;
        foreach (var b in Encoding.UTF8.GetBytes(text))
        {
            hash ^= b;
            hash *= 1099511628211UL;
        }

        return hash;
    }

    /// <summary>A non-negative int seed derived from text.</summary>
    public static int Seed(string text) => (int)(Of(text) & 0x7FFFFFFF);
}

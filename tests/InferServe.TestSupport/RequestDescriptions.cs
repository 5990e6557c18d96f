using System.Collections;
using System.Reflection;
using InferServe.Contracts;

namespace InferServe.TestSupport;

/// <summary>
/// Compares the shared request description (<see cref="GenerationRequest"/>, with its sampling and grammar) property by
/// property through reflection, so a field added to it is checked by every mapper test without touching them.
/// Linked by the test projects whose mappers build one.
/// </summary>
public static class RequestDescriptions
{
    /// <summary>The properties of <paramref name="request"/> that still hold their default: fields a mapper did not set.</summary>
    public static List<string> Defaulted(GenerationRequest request)
    {
        var found = new List<string>();
        Compare(request, new GenerationRequest { PromptTokens = [] }, nameof(GenerationRequest), equal: found, different: []);
        return found;
    }

    /// <summary>The properties whose values differ between <paramref name="expected"/> and <paramref name="actual"/>.</summary>
    public static List<string> Differences(GenerationRequest expected, GenerationRequest actual)
    {
        var found = new List<string>();
        Compare(expected, actual, nameof(GenerationRequest), equal: [], different: found);
        return found;
    }

    /// <summary>Fails naming every field of <paramref name="request"/> a mapper left at its default.</summary>
    public static void AssertEveryFieldSet(GenerationRequest request)
    {
        var defaulted = Defaulted(request);
        Xunit.Assert.True(defaulted.Count == 0, "Left at the default (a mapper misses the field):\n" + string.Join("\n", defaulted));
    }

    /// <summary>Fails naming every field that differs between <paramref name="expected"/> and <paramref name="actual"/>.</summary>
    public static void AssertSame(GenerationRequest expected, GenerationRequest actual)
    {
        var differences = Differences(expected, actual);
        Xunit.Assert.True(differences.Count == 0, "Changed on the way (expected vs actual):\n" + string.Join("\n", differences));
    }

    private static void Compare(object a, object b, string path, List<string> equal, List<string> different)
    {
        // Settable (init) properties are the description's fields; computed ones (IsGreedy, ...) follow from them.
        foreach (var p in a.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.SetMethod is not null))
        {
            object? va = p.GetValue(a), vb = p.GetValue(b);
            string name = path + "." + p.Name;
            if (va is not null && vb is not null && IsDescription(p.PropertyType)) Compare(va, vb, name, equal, different);
            else (SameValue(va, vb) ? equal : different).Add($"{name}: {Show(va)} vs {Show(vb)}");
        }
    }

    private static bool IsDescription(Type t) => t.IsClass && t != typeof(string) && t.Namespace?.StartsWith("InferServe", StringComparison.Ordinal) == true;

    private static bool SameValue(object? a, object? b) => (a, b) switch
    {
        (null, null) => true,
        (null, _) or (_, null) => false,
        (IDictionary da, IDictionary db) => Entries(da).SequenceEqual(Entries(db)),
        (IEnumerable ea, IEnumerable eb) when a is not string => ea.Cast<object>().SequenceEqual(eb.Cast<object>()),
        _ => a.Equals(b),
    };

    private static IEnumerable<string> Entries(IDictionary d) => d.Keys.Cast<object>().Select(k => $"{k}={d[k]}").Order(StringComparer.Ordinal);

    private static string Show(object? v) => v switch
    {
        null => "null",
        IDictionary d => "{" + string.Join(", ", Entries(d)) + "}",
        IEnumerable e when v is not string => "[" + string.Join(", ", e.Cast<object>()) + "]",
        _ => v.ToString() ?? "",
    };
}

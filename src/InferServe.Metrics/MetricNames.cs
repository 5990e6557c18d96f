namespace InferServe.Metrics;

/// <summary>Validation of metric and label names against the Prometheus data model.</summary>
internal static class MetricNames
{
    // [a-zA-Z_:][a-zA-Z0-9_:]*
    public static void ValidateMetricName(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            bool ok = IsAsciiLetter(c) || c == '_' || c == ':' || (i > 0 && char.IsAsciiDigit(c));
            if (!ok)
                throw new ArgumentException($"Invalid metric name '{name}': must match [a-zA-Z_:][a-zA-Z0-9_:]*.", nameof(name));
        }
    }

    // [a-zA-Z_][a-zA-Z0-9_]*, and names starting with "__" are reserved for Prometheus itself.
    public static void ValidateLabelNames(IReadOnlyList<string> labelNames, bool isHistogram)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var label in labelNames)
        {
            ArgumentException.ThrowIfNullOrEmpty(label, nameof(labelNames));
            for (int i = 0; i < label.Length; i++)
            {
                char c = label[i];
                bool ok = IsAsciiLetter(c) || c == '_' || (i > 0 && char.IsAsciiDigit(c));
                if (!ok)
                    throw new ArgumentException($"Invalid label name '{label}': must match [a-zA-Z_][a-zA-Z0-9_]*.", nameof(labelNames));
            }
            if (label.StartsWith("__", StringComparison.Ordinal))
                throw new ArgumentException($"Label name '{label}' is reserved (starts with '__').", nameof(labelNames));
            if (isHistogram && label == "le")
                throw new ArgumentException("Histograms cannot use the label name 'le'; it holds the bucket bound.", nameof(labelNames));
            if (!seen.Add(label))
                throw new ArgumentException($"Duplicate label name '{label}'.", nameof(labelNames));
        }
    }

    private static bool IsAsciiLetter(char c) => (uint)((c | 0x20) - 'a') <= 'z' - 'a';
}

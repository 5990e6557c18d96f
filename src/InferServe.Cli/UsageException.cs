namespace InferServe.Cli;

/// <summary>A usage error found after parsing (needs config or several options together): one line, exit 2.</summary>
public sealed class UsageException(string message) : Exception(message);

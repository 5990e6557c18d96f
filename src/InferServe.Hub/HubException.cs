namespace InferServe.Hub;

/// <summary>A hub or cache failure, worded as one line that tells the user what to do.</summary>
public sealed class HubException(string message, Exception? inner = null) : Exception(message, inner);

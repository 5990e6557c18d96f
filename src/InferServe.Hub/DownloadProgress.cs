using System.Diagnostics;

namespace InferServe.Hub;

/// <summary>A progress bar redrawn in place on a terminal; a line every few seconds when the output is a log.</summary>
public sealed class DownloadProgress(string label, long total, long start, TextWriter log)
{
    private static readonly bool Terminal = !Console.IsErrorRedirected;
    private readonly long _interval = Stopwatch.Frequency * (Terminal ? 1 : 5) / (Terminal ? 10 : 1);
    private long _done = start, _last = Stopwatch.GetTimestamp();

    public void Advance(int bytes)
    {
        _done += bytes;
        var now = Stopwatch.GetTimestamp();
        if (now - _last < _interval) return;
        _last = now;
        Write(final: false);
    }

    public void Done() => Write(final: true);

    private void Write(bool final)
    {
        string amount = total > 0 ? $"{Mb(_done)}/{Mb(total)} MB {100.0 * _done / total,5:F1}%" : $"{Mb(_done)} MB";
        if (Terminal)
        {
            int filled = total > 0 ? (int)(30 * _done / total) : 0;
            log.Write($"\r{label} [{new string('#', filled)}{new string('.', 30 - filled)}] {amount}{(final ? "\n" : "")}");
        }
        else
        {
            log.WriteLine($"{(final ? "downloaded" : "downloading")} {label}: {amount}");
        }

        log.Flush();
    }

    private static string Mb(long bytes) => (bytes / 1048576.0).ToString("F1", System.Globalization.CultureInfo.InvariantCulture);
}

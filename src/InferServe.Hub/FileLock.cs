namespace InferServe.Hub;

/// <summary>
/// An exclusive lock file shared with other processes (FileShare.None is flock(LOCK_EX) on Unix, as huggingface_hub's
/// filelock uses), so concurrent pulls of one blob download it once.
/// </summary>
public static class FileLock
{
    public static async Task<FileStream> AcquireAsync(string path, Action onWait, CancellationToken ct)
    {
        bool waited = false;
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (!ct.IsCancellationRequested)
            {
                if (!waited) onWait();
                waited = true;
                await Task.Delay(100, ct);
            }
        }
    }
}

using System.Text;

namespace InferServe.Tokenization.Tests;

/// <summary>
/// A literal, unoptimised port of llama2.c run.c's encode() (O(n²) rescans), used as the oracle for the
/// optimised implementation: same file parsing, same lookup of concatenated pieces, same strict
/// "score &gt; best" leftmost tie-break.
/// </summary>
internal sealed class Llama2cReference
{
    private readonly List<byte[]> _vocab = [];
    private readonly List<float> _scores = [];
    private readonly Dictionary<string, int> _lookup = [];

    public Llama2cReference(string path)
    {
        using var reader = new BinaryReader(File.OpenRead(path));
        reader.ReadInt32(); // max_token_length
        while (reader.BaseStream.Position < reader.BaseStream.Length)
        {
            _scores.Add(reader.ReadSingle());
            _vocab.Add(reader.ReadBytes(reader.ReadInt32()));
            _lookup.TryAdd(Encoding.Latin1.GetString(_vocab[^1]), _vocab.Count - 1);
        }
    }

    public int[] Encode(string text, bool bos)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        var tokens = new List<int>();
        if (bos)
        {
            tokens.Add(1);
        }

        if (bytes.Length > 0)
        {
            tokens.Add(Lookup([(byte)' ']));
        }

        for (int i = 0; i < bytes.Length;)
        {
            int start = i++;
            while (i < bytes.Length && (bytes[i] & 0xC0) == 0x80 && i - start < 4)
            {
                i++;
            }

            int id = Lookup(bytes[start..i]);
            if (id != -1)
            {
                tokens.Add(id);
            }
            else
            {
                for (int j = start; j < i; j++)
                {
                    tokens.Add(bytes[j] + 3);
                }
            }
        }

        while (true)
        {
            float bestScore = -1e10f;
            int bestId = -1, bestIdx = -1;
            for (int i = 0; i < tokens.Count - 1; i++) // BOS takes part in run.c's merge loop too
            {
                int id = Lookup([.. _vocab[tokens[i]], .. _vocab[tokens[i + 1]]]);
                if (id != -1 && _scores[id] > bestScore)
                {
                    bestScore = _scores[id];
                    bestId = id;
                    bestIdx = i;
                }
            }

            if (bestIdx == -1)
            {
                break;
            }

            tokens[bestIdx] = bestId;
            tokens.RemoveAt(bestIdx + 1);
        }

        return [.. tokens];
    }

    private int Lookup(byte[] piece) => _lookup.TryGetValue(Encoding.Latin1.GetString(piece), out int id) ? id : -1;
}

namespace InferServe.Metrics;

/// <summary>
/// Lock-free double arithmetic on a long holding the IEEE bits. Comparing bits (not values) keeps the
/// compare-exchange loop terminating when the value is NaN.
/// </summary>
internal static class AtomicDouble
{
    public static double Read(ref long bits) => BitConverter.Int64BitsToDouble(Volatile.Read(ref bits));

    public static void Write(ref long bits, double value) =>
        Interlocked.Exchange(ref bits, BitConverter.DoubleToInt64Bits(value));

    public static void Add(ref long bits, double delta)
    {
        long initial = Volatile.Read(ref bits);
        while (true)
        {
            long computed = BitConverter.DoubleToInt64Bits(BitConverter.Int64BitsToDouble(initial) + delta);
            long actual = Interlocked.CompareExchange(ref bits, computed, initial);
            if (actual == initial) return;
            initial = actual;
        }
    }
}

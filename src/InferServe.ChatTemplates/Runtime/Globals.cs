using System.Globalization;
using System.Text;

namespace InferServe.ChatTemplates.Runtime;

/// <summary>Global names every chat template can use: constants, raise_exception, namespace, range, strftime_now.</summary>
internal static class Globals
{
    private static readonly string[] ShortMonths = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    private static readonly string[] LongMonths =
        ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
    private static readonly string[] ShortDays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    private static readonly string[] LongDays = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

    public static void Install(Scope scope)
    {
        scope.Set("true", BoolValue.True);
        scope.Set("false", BoolValue.False);
        scope.Set("none", NullValue.Instance);
        scope.Set("True", BoolValue.True);
        scope.Set("False", BoolValue.False);
        scope.Set("None", NullValue.Instance);
        scope.Set("raise_exception", new FunctionValue("raise_exception", (args, _, _) =>
            throw new ChatTemplateException(ChatTemplateErrorKind.Raised,
                string.Join(",", args.Positional.Select(Operators.RawString)))));
        scope.Set("namespace", new FunctionValue("namespace", (args, _, _) => Namespace(args)));
        scope.Set("range", new FunctionValue("range", (args, interp, _) => Range(args, interp)));
        scope.Set("strftime_now", new FunctionValue("strftime_now", (args, interp, _) =>
        {
            if (args.Get(0, "format") is not StringValue format) throw new ArgumentException("strftime_now() needs a format string");
            return new StringValue(Strftime(interp.Options.TimeProvider.GetLocalNow().DateTime, format.Value));
        }));
    }

    private static Value Namespace(CallArgs args)
    {
        var entries = new OrderedDictionary<string, Value>(StringComparer.Ordinal);
        if (args.Positional.Count > 1) throw new ArgumentException($"namespace expected at most 1 argument, got {args.Positional.Count}");
        if (args.Positional.Count == 1)
        {
            switch (args.Positional[0])
            {
                case ObjectValue o:
                    foreach (var (k, v) in o.Entries) entries[k] = v;
                    break;
                case ArrayValue a:
                    foreach (var pair in a.Items)
                    {
                        if (pair is not ArrayValue { Items: [StringValue key, var value] })
                            throw new ArgumentException("namespace expected a dict or [key, value] pairs");
                        entries[key.Value] = value;
                    }
                    break;
                default:
                    throw new ArgumentException($"'{args.Positional[0].TypeName}' object is not iterable");
            }
        }
        foreach (var (k, v) in args.Keywords) entries[k] = v;
        return new NamespaceValue(entries);
    }

    private static Value Range(CallArgs args, Interpreter interp)
    {
        var nums = args.Positional.Select(v => v is IntValue i ? i.Value : throw new ArgumentException("range() arguments must be integers")).ToList();
        (long start, long stop, long step) = nums.Count switch
        {
            1 => (0L, nums[0], 1L),
            2 => (nums[0], nums[1], 1L),
            3 => (nums[0], nums[1], nums[2]),
            _ => throw new ArgumentException("range() takes 1 to 3 arguments"),
        };
        if (step == 0) throw new ArgumentException("range() step must not be zero");
        long count = step > 0 ? (stop > start ? (stop - start + step - 1) / step : 0) : (start > stop ? (start - stop - step - 1) / -step : 0);
        if (count > interp.Options.MaxLoopIterations)
            throw new ChatTemplateException(ChatTemplateErrorKind.LimitExceeded, $"range() of {count} items exceeds the limit of {interp.Options.MaxLoopIterations} loop iterations");
        interp.CountIterations((int)count);
        var items = new List<Value>((int)count);
        for (long i = 0, v = start; i < count; i++, v += step) items.Add(new IntValue(v));
        return new ArrayValue(items);
    }

    /// <summary>The strftime subset Python's datetime offers templates; English names (culture-invariant).</summary>
    public static string Strftime(DateTime t, string format)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < format.Length; i++)
        {
            if (format[i] != '%' || i + 1 >= format.Length)
            {
                sb.Append(format[i]);
                continue;
            }
            char c = format[++i];
            var inv = CultureInfo.InvariantCulture;
            sb.Append(c switch
            {
                'Y' => t.Year.ToString(inv),
                'y' => (t.Year % 100).ToString("00", inv),
                'm' => t.Month.ToString("00", inv),
                'd' => t.Day.ToString("00", inv),
                'e' => t.Day.ToString(inv).PadLeft(2),
                'b' or 'h' => ShortMonths[t.Month - 1],
                'B' => LongMonths[t.Month - 1],
                'a' => ShortDays[(int)t.DayOfWeek],
                'A' => LongDays[(int)t.DayOfWeek],
                'H' => t.Hour.ToString("00", inv),
                'I' => ((t.Hour + 11) % 12 + 1).ToString("00", inv),
                'p' => t.Hour < 12 ? "AM" : "PM",
                'M' => t.Minute.ToString("00", inv),
                'S' => t.Second.ToString("00", inv),
                'j' => t.DayOfYear.ToString("000", inv),
                '%' => "%",
                _ => "%" + c,
            });
        }
        return sb.ToString();
    }
}

using System.Text;
using InferServe.ChatTemplates.Parsing;

namespace InferServe.ChatTemplates.Runtime;

/// <summary>Member access, indexing and slicing of template values (Python semantics, as the reference implements them).</summary>
internal static class Subscripts
{
    /// <summary>obj.property and obj[property], as the reference evaluates them.</summary>
    public static Value Member(Interpreter interp, Node node, Value obj, Value property)
    {
        switch (obj)
        {
            case ObjectValue o:
                if (property is not StringValue ok) throw interp.Error(node, $"Cannot access dict property with non-string: got {property.TypeName}");
                return o.Entries.TryGetValue(ok.Value, out var v) ? v : Methods.ForObject(o, ok.Value) ?? UndefinedValue.Instance;
            case NamespaceValue ns:
                if (property is not StringValue nk) throw interp.Error(node, $"Cannot access namespace property with non-string: got {property.TypeName}");
                return ns.Entries.TryGetValue(nk.Value, out var nv) ? nv : UndefinedValue.Instance;
            case ArrayValue a:
                if (property is IntValue ai) return At(a.Items, ai.Value) ?? UndefinedValue.Instance;
                if (property is StringValue an) return an.Value == "length" ? new IntValue(a.Items.Count) : UndefinedValue.Instance;
                throw interp.Error(node, $"Cannot access list property with {property.TypeName}");
            case StringValue s:
                if (property is IntValue si)
                {
                    long idx = si.Value < 0 ? s.Value.Length + si.Value : si.Value;
                    return idx >= 0 && idx < s.Value.Length ? new StringValue(s.Value[(int)idx].ToString()) : UndefinedValue.Instance;
                }
                if (property is StringValue sn) return Methods.ForString(interp, s, sn.Value) ?? UndefinedValue.Instance;
                throw interp.Error(node, $"Cannot access string property with {property.TypeName}");
            default:
                if (property is not StringValue) throw interp.Error(node, $"Cannot access property with non-string: got {property.TypeName}");
                return UndefinedValue.Instance;
        }
    }

    private static Value? At(List<Value> items, long index)
    {
        if (index < 0) index += items.Count;
        return index >= 0 && index < items.Count ? items[(int)index] : null;
    }

    /// <summary>obj[start:stop:step] of a list or string.</summary>
    public static Value Slice(Interpreter interp, SliceExpr slice, Value obj, long? start, long? stop, long step)
    {
        switch (obj)
        {
            case ArrayValue a:
                return new ArrayValue(SliceIndices(a.Items.Count, start, stop, step).Select(i => a.Items[i]).ToList());
            case StringValue s:
                {
                    var sb = new StringBuilder();
                    foreach (int i in SliceIndices(s.Value.Length, start, stop, step)) sb.Append(s.Value[i]);
                    return new StringValue(sb.ToString());
                }
            default:
                throw interp.Error(slice, $"Cannot slice {obj.TypeName}");
        }
    }

    /// <summary>Python slice semantics (as the reference's slice()).</summary>
    private static IEnumerable<int> SliceIndices(int length, long? start, long? stop, long step)
    {
        long s, e;
        if (step > 0)
        {
            s = start is null ? 0 : start < 0 ? Math.Max(length + start.Value, 0) : Math.Min(start.Value, length);
            e = stop is null ? length : stop < 0 ? Math.Max(length + stop.Value, 0) : Math.Min(stop.Value, length);
            for (long i = s; i < e; i += step) yield return (int)i;
        }
        else
        {
            s = start is null ? length - 1 : start < 0 ? Math.Max(length + start.Value, -1) : Math.Min(start.Value, length - 1);
            e = stop is null ? -1 : stop < -1 ? Math.Max(length + stop.Value, -1) : Math.Min(stop.Value, length - 1);
            for (long i = s; i > e; i += step) yield return (int)i;
        }
    }
}

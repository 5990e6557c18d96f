using System.Globalization;

namespace InferServe.ChatTemplates.Runtime;

/// <summary>JavaScript's Number.prototype.toString for doubles (shortest round-trip digits, JS exponent rules).</summary>
internal static class JsNumber
{
    public static string Format(long value) => value.ToString(CultureInfo.InvariantCulture);

    public static string Format(double value)
    {
        if (double.IsNaN(value)) return "NaN";
        if (double.IsPositiveInfinity(value)) return "Infinity";
        if (double.IsNegativeInfinity(value)) return "-Infinity";
        if (value == 0) return "0";

        // "E16" is not shortest; "R" gives shortest round-trip digits, in either plain or exponent form.
        string r = Math.Abs(value).ToString("R", CultureInfo.InvariantCulture);
        string sign = value < 0 ? "-" : "";
        string mantissa = r;
        int exp = 0;
        int e = r.IndexOfAny(['E', 'e']);
        if (e >= 0)
        {
            mantissa = r[..e];
            exp = int.Parse(r[(e + 1)..], CultureInfo.InvariantCulture);
        }
        int dot = mantissa.IndexOf('.');
        string digits = dot < 0 ? mantissa : mantissa.Remove(dot, 1);
        int pointPos = (dot < 0 ? mantissa.Length : dot) + exp; // value = 0.digits * 10^pointPos after trimming
        int lead = 0;
        while (lead < digits.Length - 1 && digits[lead] == '0') { lead++; pointPos--; }
        digits = digits[lead..].TrimEnd('0');
        if (digits.Length == 0) return "0";

        int k = digits.Length, n = pointPos;
        string body;
        if (k <= n && n <= 21)
        {
            body = digits + new string('0', n - k);
        }
        else if (0 < n && n <= 21)
        {
            body = digits[..n] + "." + digits[n..];
        }
        else if (-6 < n && n <= 0)
        {
            body = "0." + new string('0', -n) + digits;
        }
        else
        {
            int e10 = n - 1;
            string m = k == 1 ? digits : digits[..1] + "." + digits[1..];
            body = m + "e" + (e10 >= 0 ? "+" : "-") + Math.Abs(e10).ToString(CultureInfo.InvariantCulture);
        }
        return sign + body;
    }
}

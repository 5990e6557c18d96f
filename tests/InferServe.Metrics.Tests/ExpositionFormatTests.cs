using System.Text;

namespace InferServe.Metrics.Tests;

/// <summary>The text exposition format 0.0.4 as the registry writes it.</summary>
public class ExpositionFormatTests
{
    [Fact]
    public void Counter_IsExposedWithTotalSuffix_HelpAndTypeLines()
    {
        var registry = new MetricRegistry();
        registry.CreateCounter("requests", "Requests served.").Inc(3);

        Assert.Equal("# HELP requests_total Requests served.\n# TYPE requests_total counter\nrequests_total 3\n", registry.ToText());
    }

    [Fact]
    public void Counter_NameAlreadyEndingInTotal_IsNotSuffixedTwice()
    {
        var registry = new MetricRegistry();
        var counter = registry.CreateCounter("tokens_total", "Tokens.");

        Assert.Equal("tokens_total", counter.Name);
        Assert.Contains("\ntokens_total 0\n", registry.ToText());
    }

    [Fact]
    public void Counter_WholeAndFractionalIncrementsAddUp()
    {
        var counter = new MetricRegistry().CreateCounter("c", "h");
        counter.Inc();
        counter.Inc(2);
        counter.Inc(0.5);

        Assert.Equal(3.5, counter.Value);
    }

    [Fact]
    public void Counter_RejectsNegativeAndNaNIncrements()
    {
        var counter = new MetricRegistry().CreateCounter("c", "h");

        Assert.Throws<ArgumentOutOfRangeException>(() => counter.Inc(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => counter.Inc(-0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => counter.Inc(double.NaN));
    }

    [Fact]
    public void LabelValues_EscapeBackslashQuoteAndNewline()
    {
        var registry = new MetricRegistry();
        registry.CreateGauge("g", "h", "path").WithLabels("C:\\dir \"quoted\"\nnext").Set(1);

        Assert.Contains("g{path=\"C:\\\\dir \\\"quoted\\\"\\nnext\"} 1\n", registry.ToText());
    }

    [Fact]
    public void Help_EscapesBackslashAndNewlineButNotQuotes()
    {
        var registry = new MetricRegistry();
        registry.CreateGauge("g", "a \\ b\n\"c\"");

        Assert.StartsWith("# HELP g a \\\\ b\\n\"c\"\n# TYPE g gauge\n", registry.ToText());
    }

    [Fact]
    public async Task LabelValues_AreWrittenAsUtf8()
    {
        var registry = new MetricRegistry();
        registry.CreateGauge("g", "h", "model_name").WithLabels("modèle-日本").Set(2);

        using var stream = new MemoryStream();
        await registry.WriteToAsync(stream, TestContext.Current.CancellationToken);
        Assert.Contains("g{model_name=\"modèle-日本\"} 2\n", Encoding.UTF8.GetString(stream.ToArray()));
    }

    [Theory]
    [InlineData(0.0, "0")]
    [InlineData(1.5, "1.5")]
    [InlineData(-2.25, "-2.25")]
    [InlineData(0.1, "0.1")]
    [InlineData(1e21, "1E+21")]
    [InlineData(1e-7, "1E-07")]
    [InlineData(double.PositiveInfinity, "+Inf")]
    [InlineData(double.NegativeInfinity, "-Inf")]
    [InlineData(double.NaN, "NaN")]
    public void Floats_UseInvariantRoundTripFormatAndPrometheusSpecialValues(double value, string expected)
    {
        Assert.Equal(expected, Exposition.FormatDouble(value));
        Assert.Equal(value, ParsePrometheusFloat(expected));
    }

    [Fact]
    public void Floats_RoundTripExactly()
    {
        foreach (double v in new[] { 1.0 / 3, Math.PI * 1e10, double.Epsilon, double.MaxValue, 0.0009765625 })
            Assert.Equal(v, ParsePrometheusFloat(Exposition.FormatDouble(v)));
    }

    [Fact]
    public void Histogram_BucketsAreCumulativeAndEndWithInf_ThenSumAndCount()
    {
        var registry = new MetricRegistry();
        var histogram = registry.CreateHistogram("latency_seconds", "Latency.", [0.1, 0.5, 1], "op");
        var child = histogram.WithLabels("read");
        foreach (var v in new[] { 0.05, 0.1, 0.3, 0.7, 5.0 })
            child.Observe(v);

        Assert.Equal(
            "# HELP latency_seconds Latency.\n" +
            "# TYPE latency_seconds histogram\n" +
            "latency_seconds_bucket{op=\"read\",le=\"0.1\"} 2\n" + // upper bounds are inclusive: 0.1 counts in le="0.1"
            "latency_seconds_bucket{op=\"read\",le=\"0.5\"} 3\n" +
            "latency_seconds_bucket{op=\"read\",le=\"1\"} 4\n" +
            "latency_seconds_bucket{op=\"read\",le=\"+Inf\"} 5\n" +
            "latency_seconds_sum{op=\"read\"} 6.15\n" +
            "latency_seconds_count{op=\"read\"} 5\n",
            registry.ToText());
    }

    [Fact]
    public void Histogram_UnlabelledHasOnlyLeLabel_AndIgnoresNaN()
    {
        var registry = new MetricRegistry();
        var histogram = registry.CreateHistogram("h", "h", [1, 2]);
        histogram.Observe(1.5);
        histogram.Observe(double.NaN);

        string text = registry.ToText();
        Assert.Contains("h_bucket{le=\"1\"} 0\nh_bucket{le=\"2\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_sum 1.5\nh_count 1\n", text);
    }

    [Fact]
    public void Histogram_ValidatesBounds()
    {
        var registry = new MetricRegistry();
        Assert.Throws<ArgumentException>(() => registry.CreateHistogram("a", "h", [1, 1]));
        Assert.Throws<ArgumentException>(() => registry.CreateHistogram("b", "h", [2, 1]));
        Assert.Throws<ArgumentException>(() => registry.CreateHistogram("c", "h", [double.NaN]));
        Assert.Throws<ArgumentException>(() => registry.CreateHistogram("d", "h", [1], "le"));
        // A trailing +Inf is accepted: it is implicit anyway.
        Assert.Equal([1.0], registry.CreateHistogram("e", "h", [1, double.PositiveInfinity]).UpperBounds);
    }

    [Fact]
    public void WithLabels_ReturnsTheSameCachedChildForEqualValues()
    {
        var counter = new MetricRegistry().CreateCounter("c", "h", "a", "b");
        var values = new[] { "x", "y" };
        var first = counter.WithLabels(values);
        values[0] = "mutated"; // the registry copies the caller's array

        Assert.Same(first, counter.WithLabels("x", "y"));
        Assert.NotSame(first, counter.WithLabels("x", "z"));
        Assert.NotSame(first, counter.WithLabels("mutated", "y"));
    }

    [Fact]
    public void WithLabels_RequiresOneValuePerLabelName()
    {
        var counter = new MetricRegistry().CreateCounter("c", "h", "a", "b");

        Assert.Throws<ArgumentException>(() => counter.WithLabels("x"));
        Assert.Throws<InvalidOperationException>(() => counter.Inc()); // labelled family has no unlabelled series
    }

    [Fact]
    public void LabelledSeries_AppearOnlyOnceCreated_InCreationOrder()
    {
        var registry = new MetricRegistry();
        var counter = registry.CreateCounter("c", "h", "k");
        Assert.Equal("# HELP c_total h\n# TYPE c_total counter\n", registry.ToText());

        counter.WithLabels("b").Inc();
        counter.WithLabels("a");
        Assert.EndsWith("c_total{k=\"b\"} 1\nc_total{k=\"a\"} 0\n", registry.ToText());
    }

    [Fact]
    public void Families_AreWrittenInRegistrationOrder()
    {
        var registry = new MetricRegistry();
        registry.CreateGauge("z", "h");
        registry.CreateGauge("a", "h");

        Assert.True(registry.ToText().IndexOf("# TYPE z", StringComparison.Ordinal) < registry.ToText().IndexOf("# TYPE a", StringComparison.Ordinal));
    }

    [Fact]
    public void Gauge_SetIncDec()
    {
        var gauge = new MetricRegistry().CreateGauge("g", "h");
        gauge.Set(10);
        gauge.Inc();
        gauge.Dec(2.5);

        Assert.Equal(8.5, gauge.Value);
    }

    [Fact]
    public void CallbackGauge_IsEvaluatedAtScrapeTime()
    {
        var registry = new MetricRegistry();
        double source = 1;
        registry.CreateCallbackGauge("g", "h", () => source);

        Assert.Contains("\ng 1\n", registry.ToText());
        source = 0.25;
        Assert.Contains("\ng 0.25\n", registry.ToText());
    }

    [Fact]
    public void CallbackGauge_ThatThrowsReadsAsNaN_AndDoesNotBreakTheScrape()
    {
        var registry = new MetricRegistry();
        registry.CreateCallbackGauge("broken", "h", () => throw new InvalidOperationException("boom"));
        registry.CreateGauge("fine", "h").Set(7);

        string text = registry.ToText();
        Assert.Contains("\nbroken NaN\n", text);
        Assert.Contains("\nfine 7\n", text);
    }

    [Fact]
    public void Info_IsAGaugeWithValueOneCarryingLabels()
    {
        var registry = new MetricRegistry();
        var info = registry.CreateInfo("build_info", "Build.", "version", "commit");
        Assert.Equal("# HELP build_info Build.\n# TYPE build_info gauge\n", registry.ToText());

        info.Set("1.2", "abc");
        info.Set("1.3", "def"); // replaces, never two series
        Assert.Equal("# HELP build_info Build.\n# TYPE build_info gauge\nbuild_info{version=\"1.3\",commit=\"def\"} 1\n", registry.ToText());
    }

    [Theory]
    [InlineData("1abc")]
    [InlineData("a-b")]
    [InlineData("a b")]
    [InlineData("")]
    public void InvalidMetricNames_AreRejected(string name) =>
        Assert.ThrowsAny<ArgumentException>(() => new MetricRegistry().CreateGauge(name, "h"));

    [Theory]
    [InlineData("a:b")]
    [InlineData("__reserved")]
    [InlineData("1a")]
    public void InvalidLabelNames_AreRejected(string label) =>
        Assert.ThrowsAny<ArgumentException>(() => new MetricRegistry().CreateGauge("g", "h", label));

    [Fact]
    public void DuplicateNames_AreRejected()
    {
        var registry = new MetricRegistry();
        registry.CreateCounter("x", "h");

        Assert.Throws<InvalidOperationException>(() => registry.CreateCounter("x_total", "h"));
        Assert.Throws<InvalidOperationException>(() => registry.CreateGauge("x_total", "h"));
        Assert.Throws<ArgumentException>(() => registry.CreateGauge("g", "h", "a", "a"));
    }

    [Fact]
    public async Task StreamTextWriterAndBufferWriter_ProduceIdenticalOutput()
    {
        var registry = new MetricRegistry();
        registry.CreateGauge("g", "ünïcode help", "l").WithLabels(new string('é', 5000)).Set(1); // forces chunked decoding
        registry.CreateHistogram("h", "h", [1, 2, 3]).Observe(2);

        string expected = registry.ToText();
        using var stream = new MemoryStream();
        await registry.WriteToAsync(stream, TestContext.Current.CancellationToken);
        var textWriter = new StringWriter();
        registry.WriteTo(textWriter);

        Assert.Equal(expected, Encoding.UTF8.GetString(stream.ToArray()));
        Assert.Equal(expected, textWriter.ToString());
    }

    // Mirrors Go's strconv.ParseFloat for the forms we emit.
    private static double ParsePrometheusFloat(string s) => s switch
    {
        "+Inf" => double.PositiveInfinity,
        "-Inf" => double.NegativeInfinity,
        "NaN" => double.NaN,
        _ => double.Parse(s, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture),
    };
}

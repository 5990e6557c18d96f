namespace InferServe.Metrics.Tests;

/// <summary>
/// The MetricRegistry facade: what a family is called, which series it exposes and how values add up. The text itself
/// is prometheus-net's; these tests read it only to see names, labels and values.
/// </summary>
public class MetricRegistryTests
{
    private const int Timeout = 30_000;

    [Fact(Timeout = Timeout)]
    public void Counter_IsExposedWithTotalSuffix_HelpAndTypeLines()
    {
        var registry = new MetricRegistry();
        registry.CreateCounter("requests", "Requests served.").Inc(3);

        Assert.Equal("# HELP requests_total Requests served.\n# TYPE requests_total counter\nrequests_total 3\n", registry.ToText());
    }

    [Fact(Timeout = Timeout)]
    public void Counter_NameAlreadyEndingInTotal_IsNotSuffixedTwice()
    {
        var registry = new MetricRegistry();
        var counter = registry.CreateCounter("tokens_total", "Tokens.");

        Assert.Equal("tokens_total", counter.Name);
        Assert.Contains("\ntokens_total 0\n", registry.ToText());
    }

    [Fact(Timeout = Timeout)]
    public void Counter_WholeAndFractionalIncrementsAddUp()
    {
        var counter = new MetricRegistry().CreateCounter("c", "h");
        counter.Inc();
        counter.Inc(2);
        counter.Inc(0.5);

        Assert.Equal(3.5, counter.Value);
    }

    [Fact(Timeout = Timeout)]
    public void Counter_RejectsNegativeAndNaNIncrements()
    {
        var counter = new MetricRegistry().CreateCounter("c", "h");

        Assert.Throws<ArgumentOutOfRangeException>(() => counter.Inc(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => counter.Inc(-0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => counter.Inc(double.NaN));
    }

    [Fact(Timeout = Timeout)]
    public void Histogram_BucketsAreCumulativeInclusiveAndEndWithInf_WithSumAndCount()
    {
        var registry = new MetricRegistry();
        var child = registry.CreateHistogram("latency_seconds", "Latency.", [0.1, 0.5, 1], "op").WithLabels("read");
        foreach (var v in new[] { 0.05, 0.1, 0.3, 0.7, 5.0 })
            child.Observe(v);

        var lines = registry.ToText().Split('\n');
        Assert.Contains("# TYPE latency_seconds histogram", lines);
        Assert.Contains("latency_seconds_bucket{op=\"read\",le=\"0.1\"} 2", lines); // upper bounds are inclusive
        Assert.Contains("latency_seconds_bucket{op=\"read\",le=\"0.5\"} 3", lines);
        Assert.Contains("latency_seconds_bucket{op=\"read\",le=\"1\"} 4", lines);
        Assert.Contains("latency_seconds_bucket{op=\"read\",le=\"+Inf\"} 5", lines);
        Assert.Contains("latency_seconds_sum{op=\"read\"} 6.15", lines);
        Assert.Contains("latency_seconds_count{op=\"read\"} 5", lines);
        Assert.Equal((5L, 6.15), (child.Count, child.Sum));
    }

    [Fact(Timeout = Timeout)]
    public void Histogram_UnlabelledHasOnlyLeLabel_AndIgnoresNaN()
    {
        var registry = new MetricRegistry();
        var histogram = registry.CreateHistogram("h", "h", [1, 2]);
        histogram.Observe(1.5);
        histogram.Observe(double.NaN);

        var lines = registry.ToText().Split('\n');
        Assert.Contains("h_bucket{le=\"1\"} 0", lines);
        Assert.Contains("h_bucket{le=\"2\"} 1", lines);
        Assert.Contains("h_bucket{le=\"+Inf\"} 1", lines);
        Assert.Contains("h_sum 1.5", lines);
        Assert.Contains("h_count 1", lines);
    }

    [Fact(Timeout = Timeout)]
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

    [Fact(Timeout = Timeout)]
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

    [Fact(Timeout = Timeout)]
    public void WithLabels_RequiresOneValuePerLabelName()
    {
        var counter = new MetricRegistry().CreateCounter("c", "h", "a", "b");

        Assert.Throws<ArgumentException>(() => counter.WithLabels("x"));
        Assert.Throws<InvalidOperationException>(() => counter.Inc()); // labelled family has no unlabelled series
    }

    [Fact(Timeout = Timeout)]
    public void LabelledSeries_AppearOnlyOnceCreated_AtZero()
    {
        var registry = new MetricRegistry();
        var counter = registry.CreateCounter("c", "h", "k");
        Assert.DoesNotContain("c_total{", registry.ToText());

        counter.WithLabels("b").Inc();
        counter.WithLabels("a");
        var lines = registry.ToText().Split('\n');
        Assert.Contains("c_total{k=\"b\"} 1", lines);
        Assert.Contains("c_total{k=\"a\"} 0", lines);
    }

    [Fact(Timeout = Timeout)]
    public void HelpAndLabelValues_AreEscapedSoEachSampleStaysOnOneLine()
    {
        var registry = new MetricRegistry();
        var gauge = registry.CreateGauge("g", "a \\ b\n\"c\"", "path");
        gauge.WithLabels("C:\\dir \"quoted\"\nnext").Set(1);

        var text = registry.ToText();
        Assert.StartsWith("# HELP g a \\\\ b\\n\"c\"\n# TYPE g gauge\n", text);
        Assert.Contains("g{path=\"C:\\\\dir \\\"quoted\\\"\\nnext\"} 1\n", text);
        Assert.Equal("a \\ b\n\"c\"", gauge.Help); // the facade keeps the text as given
    }

    [Fact(Timeout = Timeout)]
    public void Gauge_SetIncDec()
    {
        var gauge = new MetricRegistry().CreateGauge("g", "h");
        gauge.Set(10);
        gauge.Inc();
        gauge.Dec(2.5);

        Assert.Equal(8.5, gauge.Value);
    }

    [Fact(Timeout = Timeout)]
    public void CallbackGauge_IsEvaluatedAtScrapeTime()
    {
        var registry = new MetricRegistry();
        double source = 1;
        registry.CreateCallbackGauge("g", "h", () => source);

        Assert.Contains("\ng 1\n", registry.ToText());
        source = 0.25;
        Assert.Contains("\ng 0.25\n", registry.ToText());
    }

    [Fact(Timeout = Timeout)]
    public void CallbackGauge_ThatThrowsReadsAsNaN_AndDoesNotBreakTheScrape()
    {
        var registry = new MetricRegistry();
        registry.CreateCallbackGauge("broken", "h", () => throw new InvalidOperationException("boom"));
        registry.CreateGauge("fine", "h").Set(7);

        string text = registry.ToText();
        Assert.Contains("\nbroken NaN\n", text);
        Assert.Contains("\nfine 7\n", text);
    }

    [Fact(Timeout = Timeout)]
    public void CallbackCounter_FollowsItsSourceAtScrapeTime_AsACounter()
    {
        var registry = new MetricRegistry();
        double source = 2.5;
        registry.CreateCallbackCounter("work_seconds", "h", () => source);

        Assert.Contains("# TYPE work_seconds_total counter\nwork_seconds_total 2.5\n", registry.ToText());
        source = 4;
        Assert.Contains("\nwork_seconds_total 4\n", registry.ToText());
    }

    [Fact(Timeout = Timeout)]
    public void Info_IsAGaugeWithValueOneCarryingLabels_AndSetReplacesIt()
    {
        var registry = new MetricRegistry();
        var info = registry.CreateInfo("build_info", "Build.", "version", "commit");
        Assert.Equal("# HELP build_info Build.\n# TYPE build_info gauge\n", registry.ToText());

        info.Set("1.2", "abc");
        info.Set("1.3", "def"); // replaces, never two series
        Assert.Equal("# HELP build_info Build.\n# TYPE build_info gauge\nbuild_info{version=\"1.3\",commit=\"def\"} 1\n", registry.ToText());
    }

    [Theory(Timeout = Timeout)]
    [InlineData("1abc")]
    [InlineData("a-b")]
    [InlineData("a b")]
    [InlineData("")]
    [InlineData("vllm:num_requests_running")] // prometheus-net 8 refuses ':' (reserved for recording rules)
    public void InvalidMetricNames_AreRejected(string name) =>
        Assert.ThrowsAny<ArgumentException>(() => new MetricRegistry().CreateGauge(name, "h"));

    [Theory(Timeout = Timeout)]
    [InlineData("a:b")]
    [InlineData("__reserved")]
    [InlineData("1a")]
    public void InvalidLabelNames_AreRejected(string label) =>
        Assert.ThrowsAny<ArgumentException>(() => new MetricRegistry().CreateGauge("g", "h", label));

    [Fact(Timeout = Timeout)]
    public void DuplicateNames_AreRejected()
    {
        var registry = new MetricRegistry();
        registry.CreateCounter("x", "h");

        Assert.Throws<InvalidOperationException>(() => registry.CreateCounter("x_total", "h"));
        Assert.Throws<InvalidOperationException>(() => registry.CreateGauge("x_total", "h"));
        Assert.ThrowsAny<Exception>(() => registry.CreateGauge("g", "h", "a", "a"));
    }

    [Fact(Timeout = Timeout)]
    public async Task StreamAndTextWriter_GiveTheSameTextAsToText()
    {
        var registry = new MetricRegistry();
        registry.CreateGauge("g", "ünïcode help", "l").WithLabels("é").Set(1);
        registry.CreateHistogram("h", "h", [1, 2, 3]).Observe(2);

        string expected = registry.ToText();
        using var stream = new MemoryStream();
        await registry.WriteToAsync(stream, TestContext.Current.CancellationToken);
        var textWriter = new StringWriter();
        registry.WriteTo(textWriter);

        Assert.Equal(expected, System.Text.Encoding.UTF8.GetString(stream.ToArray()));
        Assert.Equal(expected, textWriter.ToString());
        Assert.Contains("g{l=\"é\"} 1", expected);
    }
}

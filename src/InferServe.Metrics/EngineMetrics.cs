using System.Globalization;

namespace InferServe.Metrics;

/// <summary>
/// InferServe's engine metric set, named after vLLM's (prefix "inferserve_" instead of "vllm:", same suffixes,
/// label model_name on every series) so vLLM dashboards and alerts map over.
/// All series for the model are created up front and cached in fields: the per-token methods are a single
/// interlocked operation each, with no lookup, lock or allocation.
/// One instance per model per registry (the families are registered by the constructor).
/// </summary>
public sealed class EngineMetrics
{
    public const string DefaultPrefix = "inferserve_";
    private const string ModelLabel = "model_name";

    private readonly Gauge.Child _running;
    private readonly Gauge.Child _waiting;
    private readonly Gauge.Child _kvCacheUsage;
    private readonly Counter.Child _prefixCacheQueries;
    private readonly Counter.Child _prefixCacheHits;
    private readonly Counter.Child _preemptions;
    private readonly Counter.Child _budgetCloses;
    private readonly Counter.Child _promptTokens;
    private readonly Counter.Child _generationTokens;
    private readonly Counter _requestSuccess;
    private readonly Counter.Child _finishedStop, _finishedLength, _finishedAbort, _finishedError;
    private readonly Histogram.Child _timeToFirstToken;
    private readonly Histogram.Child _interTokenLatency;
    private readonly Histogram.Child? _timePerOutputToken;
    private readonly Histogram.Child _e2eLatency;
    private readonly Histogram.Child _queueTime;
    private readonly Histogram.Child _prefillTime;
    private readonly Histogram.Child _decodeTime;
    private readonly Histogram.Child _inferenceTime;
    private readonly Histogram.Child _requestPromptTokens;
    private readonly Histogram.Child _requestGenerationTokens;
    private readonly InfoMetric _cacheConfigInfo;

    public EngineMetrics(MetricRegistry registry, string modelName, EngineMetricsOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(modelName);
        options ??= new EngineMetricsOptions();
        ModelName = modelName;
        string p = options.Prefix;

        Gauge.Child Gauge(string name, string help) => registry.CreateGauge(p + name, help, ModelLabel).WithLabels(modelName);
        Counter.Child Counter(string name, string help) => registry.CreateCounter(p + name, help, ModelLabel).WithLabels(modelName);
        Histogram.Child Histogram(string name, string help, double[] buckets) =>
            registry.CreateHistogram(p + name, help, buckets, ModelLabel).WithLabels(modelName);

        // Scheduler state.
        _running = Gauge("num_requests_running", "Number of requests in model execution batches.");
        _waiting = Gauge("num_requests_waiting", "Number of requests waiting to be processed.");
        _kvCacheUsage = Gauge("kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.");

        // Token and event counters.
        _prefixCacheQueries = Counter("prefix_cache_queries", "Prefix cache queries, in terms of number of queried tokens.");
        _prefixCacheHits = Counter("prefix_cache_hits", "Prefix cache hits, in terms of number of cached tokens.");
        _preemptions = Counter("num_preemptions", "Cumulative number of preemptions from the engine.");
        _budgetCloses = Counter("structured_output_budget_closes", "Structured outputs whose token mask was narrowed to close them within max_tokens.");
        _promptTokens = Counter("prompt_tokens", "Number of prefill tokens processed.");
        _generationTokens = Counter("generation_tokens", "Number of generation tokens processed.");
        _requestSuccess = registry.CreateCounter(p + "request_success", "Count of successfully processed requests.", ModelLabel, "finished_reason");
        // Created eagerly so every reason is exposed as 0 before it first happens (rate() needs the series to exist).
        _finishedStop = _requestSuccess.WithLabels(modelName, FinishedReason.Stop);
        _finishedLength = _requestSuccess.WithLabels(modelName, FinishedReason.Length);
        _finishedAbort = _requestSuccess.WithLabels(modelName, FinishedReason.Abort);
        _finishedError = _requestSuccess.WithLabels(modelName, FinishedReason.Error);

        // Latency histograms.
        _timeToFirstToken = Histogram("time_to_first_token_seconds", "Histogram of time to first token in seconds.",
            EngineMetricBuckets.TimeToFirstTokenSeconds);
        _interTokenLatency = Histogram("inter_token_latency_seconds", "Histogram of inter-token latency in seconds.",
            EngineMetricBuckets.InterTokenLatencySeconds);
        if (options.ExposeTimePerOutputToken)
        {
            _timePerOutputToken = Histogram("time_per_output_token_seconds",
                "Histogram of time per output token in seconds. Same observations as inter_token_latency_seconds (older vLLM name).",
                EngineMetricBuckets.InterTokenLatencySeconds);
        }

        _e2eLatency = Histogram("e2e_request_latency_seconds", "Histogram of end to end request latency in seconds.",
            EngineMetricBuckets.RequestLatencySeconds);
        _queueTime = Histogram("request_queue_time_seconds", "Histogram of time spent in WAITING phase for request.",
            EngineMetricBuckets.RequestLatencySeconds);
        _inferenceTime = Histogram("request_inference_time_seconds", "Histogram of time spent in RUNNING phase for request.",
            EngineMetricBuckets.RequestLatencySeconds);
        _prefillTime = Histogram("request_prefill_time_seconds", "Histogram of time spent in PREFILL phase for request.",
            EngineMetricBuckets.RequestLatencySeconds);
        _decodeTime = Histogram("request_decode_time_seconds", "Histogram of time spent in DECODE phase for request.",
            EngineMetricBuckets.RequestLatencySeconds);

        // Request size histograms.
        var tokenBuckets = EngineMetricBuckets.OneTwoFive(options.MaxModelLength);
        _requestPromptTokens = Histogram("request_prompt_tokens", "Number of prefill tokens processed.", tokenBuckets);
        _requestGenerationTokens = Histogram("request_generation_tokens", "Number of generation tokens processed.", tokenBuckets);

        _cacheConfigInfo = registry.CreateInfo(p + "cache_config_info", "Information of the engine's KV-cache configuration.",
            ModelLabel, "block_size", "cache_dtype", "num_gpu_blocks", "num_cpu_blocks", "enable_prefix_caching", "gpu_memory_utilization");
    }

    public string ModelName { get; }

    // ---- Scheduler state: set each scheduler step, or bind callbacks read at scrape time. ----

    public void SetRunning(int requests) => _running.Set(requests);
    public void SetWaiting(int requests) => _waiting.Set(requests);

    /// <summary>Fraction of KV blocks in use, 0..1 (clamped).</summary>
    public void SetKvCacheUsage(double fraction) => _kvCacheUsage.Set(Math.Clamp(fraction, 0, 1));

    /// <summary>Reads the running-request count from the scheduler at each scrape (null to unbind).</summary>
    public void BindRunning(Func<double>? runningRequests) => _running.SetCallback(runningRequests);
    public void BindWaiting(Func<double>? waitingRequests) => _waiting.SetCallback(waitingRequests);
    public void BindKvCacheUsage(Func<double>? usedFraction) => _kvCacheUsage.SetCallback(usedFraction);

    // ---- Per engine step / per token. ----

    /// <summary>Tokens processed in an engine step: prefill (prompt) tokens and newly generated tokens.</summary>
    public void RecordTokens(int promptTokens, int generationTokens)
    {
        if (promptTokens > 0) _promptTokens.Inc(promptTokens);
        if (generationTokens > 0) _generationTokens.Inc(generationTokens);
    }

    /// <summary>A prefix-cache lookup over <paramref name="queriedTokens"/> prompt tokens of which <paramref name="hitTokens"/> were cached.</summary>
    public void RecordPrefixCacheLookup(int queriedTokens, int hitTokens)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(queriedTokens);
        ArgumentOutOfRangeException.ThrowIfNegative(hitTokens);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(hitTokens, queriedTokens);
        _prefixCacheQueries.Inc(queriedTokens);
        _prefixCacheHits.Inc(hitTokens);
    }

    /// <summary>A running request was preempted (its KV blocks freed) to make room.</summary>
    public void RecordPreemption() => _preemptions.Inc();

    /// <summary>A structured output started closing early (its grammar mask narrowed) to end within its token budget.</summary>
    public void RecordStructuredOutputBudgetClose() => _budgetCloses.Inc();

    // ---- Request lifecycle. ----

    /// <summary>A request left the waiting queue and was scheduled for the first time.</summary>
    public void RequestScheduled(TimeSpan queueTime) => _queueTime.Observe(queueTime.TotalSeconds);

    /// <summary>Time from arrival to the first generated token.</summary>
    public void RecordFirstToken(TimeSpan timeToFirstToken) => _timeToFirstToken.Observe(timeToFirstToken.TotalSeconds);

    /// <summary>Time between two consecutive generated tokens of one request.</summary>
    public void RecordInterTokenLatency(TimeSpan latency)
    {
        double seconds = latency.TotalSeconds;
        _interTokenLatency.Observe(seconds);
        _timePerOutputToken?.Observe(seconds);
    }

    /// <summary>
    /// A request finished. <paramref name="finishedReason"/> is one of <see cref="FinishedReason"/>
    /// (other values get their own series, created on first use).
    /// </summary>
    public void RequestFinished(string finishedReason, TimeSpan e2eLatency, int promptTokens, int generationTokens)
    {
        ArgumentNullException.ThrowIfNull(finishedReason);
        var counter = finishedReason switch
        {
            FinishedReason.Stop => _finishedStop,
            FinishedReason.Length => _finishedLength,
            FinishedReason.Abort => _finishedAbort,
            FinishedReason.Error => _finishedError,
            _ => _requestSuccess.WithLabels(ModelName, finishedReason),
        };
        counter.Inc();
        _e2eLatency.Observe(e2eLatency.TotalSeconds);
        _requestPromptTokens.Observe(promptTokens);
        _requestGenerationTokens.Observe(generationTokens);
    }

    /// <summary>Time a finished request spent in prefill and in decode (their sum is recorded as inference time).</summary>
    public void RecordRequestPhases(TimeSpan prefill, TimeSpan decode)
    {
        _prefillTime.Observe(prefill.TotalSeconds);
        _decodeTime.Observe(decode.TotalSeconds);
        _inferenceTime.Observe((prefill + decode).TotalSeconds);
    }

    // ---- Configuration. ----

    public void SetCacheConfig(CacheConfigInfo config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var c = CultureInfo.InvariantCulture;
        _cacheConfigInfo.Set(ModelName,
            config.BlockSize.ToString(c),
            config.CacheDtype,
            config.NumGpuBlocks.ToString(c),
            config.NumCpuBlocks.ToString(c),
            config.EnablePrefixCaching ? "True" : "False", // vLLM renders Python bools
            config.GpuMemoryUtilization.ToString(c));
    }
}

namespace InferServe.LoadTests.Cli;

public static class HelpText
{
    public const string Text = """
        dotnet run --project loadtests/InferServe.LoadTests -c Release -- --url http://127.0.0.1:8000 [options]

        Target
          --url URL              OpenAI-compatible server (InferServe, vLLM, llama-server)
          --grpc URL             InferServe gRPC address (for --api grpc), e.g. http://127.0.0.1:50051
          --model NAME           model to request (default: the first of /v1/models)
          --api-key KEY          sent as a Bearer token
        Load (also per scenario)
          --api completions|chat|grpc                      (default completions)
          --rate R [--burstiness B]   open loop, R req/s; gamma gaps, B=1 is Poisson (default)
          --ramp UP,HOLD,DOWN         seconds; rate climbs to --rate, holds, falls
          --burst PEAK,AT,LEN         burst: PEAK req/s from AT for LEN seconds over --rate (loopback only)
          --concurrency N             closed loop, N in flight
          --duration 30s --requests N --warmup 2s   bounds (duration default 30s)
          --dataset random|prefix|jsonl:PATH          (default random)
          --input-len 256 --output-len 64 --range-ratio 0 --vocab 500
          --prefixes 4 --prefix-len 512 --suffix-len 32 (prefix dataset)
          --seed 1
          --scenario "name=chat;api=chat;rate=2"   repeatable: scenarios run at once
        Report
          --slo ttft=500ms,tpot=50ms   goodput counts completed requests meeting every bound
          --sweep-rate 1,2,4 | --sweep-concurrency 1,4,16   one run per level, one curve
          --out DIR                    report.json, report.md, report.html, plots/*.svg (default loadtest-results/<time>)
          --drain 30s --timeout 120s   wait for in-flight requests after the load; per-request limit
          --monitor 5s                 soak: scrape the server's /metrics (RSS, KV) and judge memory growth and p99 drift
        """;
}

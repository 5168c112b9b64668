// The C side of gbench_shim.h: thin forwarding to benchmark::State.
#include "gbench_shim.h"

#include <benchmark/benchmark.h>

static benchmark::State &state_of(gbench_state *s)
{
    return *reinterpret_cast<benchmark::State *>(s);
}

extern "C" void gbench_register(const char *name, gbench_fn fn, void *arg)
{
    benchmark::RegisterBenchmark(
        name, [fn, arg](benchmark::State &st) { fn(reinterpret_cast<gbench_state *>(&st), arg); })
        ->Unit(benchmark::kMillisecond)
        ->Iterations(1)
        ->UseRealTime();
}

extern "C" void gbench_register_manual(const char *name, gbench_fn fn, void *arg, long iterations)
{
    benchmark::RegisterBenchmark(
        name, [fn, arg](benchmark::State &st) { fn(reinterpret_cast<gbench_state *>(&st), arg); })
        ->Unit(benchmark::kNanosecond)
        ->Iterations(iterations)
        ->UseManualTime();
}

extern "C" void gbench_set_iteration_time(gbench_state *s, double seconds)
{
    state_of(s).SetIterationTime(seconds);
}

extern "C" bool gbench_keep_running(gbench_state *s)
{
    return state_of(s).KeepRunning();
}
extern "C" void gbench_pause_timing(gbench_state *s)
{
    state_of(s).PauseTiming();
}
extern "C" void gbench_resume_timing(gbench_state *s)
{
    state_of(s).ResumeTiming();
}

extern "C" void gbench_counter(gbench_state *s, const char *name, double value)
{
    state_of(s).counters[name] = benchmark::Counter(value);
}

extern "C" void gbench_fail(gbench_state *s, const char *message)
{
    state_of(s).SkipWithError(message);
}

extern "C" int gbench_main(int argc, char **argv)
{
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv))
        return 2;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}

#pragma once

#include "engine/loadgen/load_plan.hpp"
#include "shared/loadtest/interval_stats.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace gaetwae::engine::loadgen {

using loadtest::IntervalStats;

struct LoadResult {
    std::int64_t startedAtMs = 0; // wall clock
    double elapsedSeconds = 0;
    bool interrupted = false; // stop() was called before the plan was over
    IntervalStats total;
    std::vector<IntervalStats> seconds;
};

// Runs a LoadPlan against host:port with `threads` io_contexts sharing the connections, all
// keep-alive HTTP/1.1. run() blocks until the plan is over (or stop()), reporting each second
// once it has passed; it is the only blocking call.
class LoadGenerator {
public:
    explicit LoadGenerator(LoadPlan plan);
    ~LoadGenerator();
    LoadGenerator(const LoadGenerator&) = delete;
    LoadGenerator& operator=(const LoadGenerator&) = delete;

    LoadResult run(const std::function<void(const IntervalStats&)>& onSecond = {});
    void stop(); // thread-safe: no new requests; those in flight finish
    std::int64_t startedAtMs() const { return m_startedAtMs; } // wall clock, once run() started

private:
    struct Worker;
    LoadPlan m_plan;
    std::atomic<bool> m_stop{false};
    std::mutex m_wakeMutex; // with m_wake: run()'s reporter wakes at once on stop()
    std::condition_variable m_wake;
    std::atomic<std::int64_t> m_startedAtMs{0};
    std::vector<std::unique_ptr<Worker>> m_workers;
};

} // namespace gaetwae::engine::loadgen

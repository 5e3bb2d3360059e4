#pragma once

#include "engine/loadgen/load_plan.hpp"
#include "shared/protocol/histogram.hpp"

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

// What happened in one second of a run (or in a whole run, for the total). Latencies are
// recorded at completion; `corrected` is measured from when each request was due (open model),
// `uncorrected` from when it was actually sent (both equal in the closed model).
struct IntervalStats {
    std::int64_t offsetMs = 0;   // end of the interval, from the start of the run
    std::int64_t intervalMs = 1000;
    double targetRps = 0;        // open model: the schedule's rate in this second
    std::uint64_t sent = 0;
    std::uint64_t completed = 0;
    std::array<std::uint64_t, 5> responses{}; // 1xx .. 5xx
    std::map<std::string, std::uint64_t> errors; // connect_failure, timeout, reset, protocol
    std::uint64_t bytesIn = 0;
    protocol::LatencyHistogram corrected;
    protocol::LatencyHistogram uncorrected;

    void merge(const IntervalStats& other);
    // One JSON line: {"time", "interval", "target", "sent", "completed", "responses", "errors",
    // "bytesIn", "latency" (corrected), "uncorrected"}; histograms as in the admin protocol.
    nlohmann::json toJson(std::int64_t startedAtMs) const;
};

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

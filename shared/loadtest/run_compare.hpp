#pragma once

#include "shared/loadtest/interval_stats.hpp"
#include "shared/loadtest/plan.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace gaetwae::loadtest {

// One stored run: its per-second results in time order. A second's `intervalMs` may be below
// 1000 (a run cut short ends with a partial second); time since start is the running sum of
// `intervalMs`, so `offsetMs` need not be set.
struct RunInput {
    std::string label; // e.g. "#12 orders 500/s (2026-12-02 06:10)"
    std::vector<IntervalStats> seconds;
};

// A difference is significant only when it exceeds every floor: the relative and absolute
// thresholds below, the noise measured inside the runs themselves, and (for latency) the
// histogram's resolution at that value.
struct CompareOptions {
    double relativeThreshold = 0.05;  // fraction of the baseline value (latency, throughput, error rate)
    double absoluteThresholdMs = 0.1; // latency deltas at or below this are never significant
    double absoluteErrorRate = 0.001; // error-rate deltas at or below 0.1 percentage points neither
};

// One percentile of the corrected latency over the whole run, from the exact merge of every
// second's histogram. `max` is maxBound(). Values are bucket upper bounds in milliseconds.
//   noiseMs:     the larger within-run spread of the two runs: each run's seconds split into
//                even and odd indexes, each half merged, |p(even) - p(odd)|. 0 for a run with
//                fewer than 2 seconds or a half without samples.
//   thresholdMs: max(relativeThreshold * baseMs, absoluteThresholdMs, noiseMs, the width of the
//                larger of the two values' buckets). Values are known only to a bucket, so a
//                one-bucket step is never significant.
//   significant: |deltaMs| > thresholdMs.
//   deltaPercent is relative to baseMs; with a zero base it is 0, or +-100 if the candidate moved.
struct PercentileDelta {
    std::string name;    // p50, p90, p99, p99.9, max
    double quantile = 0; // 1 for max
    double baseMs = 0;
    double candidateMs = 0;
    double deltaMs = 0; // candidate - base
    double deltaPercent = 0;
    double noiseMs = 0;
    double thresholdMs = 0;
    bool significant = false;

    bool operator==(const PercentileDelta&) const = default;
};

// A run's totals. achievedRps = completed / durationSeconds (sum of intervalMs); targetRps is the
// interval-weighted mean of the seconds' targets (0 in the closed model); failures are transport
// errors plus 5xx answers; errorRate = failures / max(1, sent).
struct RateSummary {
    double durationSeconds = 0;
    double achievedRps = 0;
    double targetRps = 0;
    std::uint64_t sent = 0;
    std::uint64_t completed = 0;
    std::uint64_t failures = 0;
    double errorRate = 0;

    bool operator==(const RateSummary&) const = default;
};

// Where the per-second p99 (corrected) leaves its low-load level as load grows. Points are the
// seconds with at least 20 completions, (achieved rps, p99), sorted by rps. baselineP99Ms is the
// median p99 of the lowest-load 20% of the points (at least one). The knee is the first window of
// 3 consecutive points whose median p99 exceeds 2x the baseline; `rps` is that of the window's
// lowest-load point above 2x, `p99Ms` the window's median. Not found, with the reason in
// `explanation`, when fewer than 3 points qualify, the load never varied (highest within 10% of
// lowest), or latency never doubled.
struct Knee {
    bool found = false;
    double rps = 0;
    double p99Ms = 0;
    double baselineP99Ms = 0;
    std::uint64_t points = 0;
    std::string explanation;

    bool operator==(const Knee&) const = default;
};

// One SLO threshold judged on both runs. Latency thresholds pass when value <= limit and a run
// without any completed request fails them (nothing was shown to be fast); the error rate passes
// when <= limit, throughput when >= limit.
struct SloCheck {
    std::string name;      // p50, p99, p99.9, error rate, throughput
    std::string limit;     // "p99 <= 10 ms", "error rate <= 1%", "throughput >= 500 req/s"
    double limitValue = 0; // ms, fraction or req/s, as the Slo holds it
    double baseValue = 0;
    double candidateValue = 0;
    bool basePass = false;
    bool candidatePass = false;

    bool operator==(const SloCheck&) const = default;
};

struct Comparison {
    std::string baseLabel;
    std::string candidateLabel;
    std::vector<PercentileDelta> latency; // p50, p90, p99, p99.9, max

    RateSummary base;
    RateSummary candidate;
    // Relative to the base rps, in percent; significant when |delta| > max(relativeThreshold,
    // the larger even/odd relative spread of achieved rps of the two runs).
    double throughputDeltaPercent = 0;
    double throughputNoisePercent = 0;
    bool throughputSignificant = false;
    // candidate - base, as a fraction; significant when above max(relativeThreshold * base rate,
    // absoluteErrorRate, the larger even/odd spread of the two runs).
    double errorRateDelta = 0;
    double errorRateNoise = 0;
    bool errorRateSignificant = false;

    Knee baseKnee;
    Knee candidateKnee;

    std::vector<SloCheck> slo; // in Slo field order, only the thresholds that are set
    bool basePasses = true;    // every check passes (true without an SLO)
    bool candidatePasses = true;

    // Worse: a significant latency increase, throughput decrease or error-rate increase.
    bool regressed = false;
    bool improved = false;
    // One line: "regressed: p99 +18.2 ms (+312%); fails p99 <= 10 ms",
    // "improved: throughput +12% (800 -> 896 req/s); passes the SLO",
    // "no significant change; no SLO set". Regressions are listed before improvements.
    std::string verdict;

    bool operator==(const Comparison&) const = default;
};

// The knee of one run (see Knee); compare() calls it for both runs.
Knee findKnee(const std::vector<IntervalStats>& seconds);

Comparison compare(const RunInput& base, const RunInput& candidate, const Slo& slo,
                   const CompareOptions& options = {});

// Every field of the comparison, numbers as JSON numbers; fromJson reads it back exactly.
nlohmann::json toJson(const Comparison& comparison);
bool fromJson(const nlohmann::json& value, Comparison& out, std::string* error = nullptr);

// A self-contained HTML page (inline CSS and SVG; no scripts, fonts, images or links): verdict
// banner (green unless regressed or failing the SLO), latency deltas, throughput and errors,
// knees, SLO checks, and a chart of per-second p99 of both runs against seconds since start.
// The runs are the ones compared (the chart needs their seconds). All text is escaped.
std::string toHtml(const Comparison& comparison, const RunInput& base, const RunInput& candidate);

// Text forms shared by the verdict, the knee explanations and the HTML report, so a number reads
// the same everywhere. Locale-independent ('.' decimal point whatever the process locale is);
// precision follows magnitude: "312 ms", "18.2 ms", "0.45 ms"; signed forms put '+' on positives.
std::string formatMs(double ms);
std::string formatSignedMs(double ms);
std::string formatPercent(double percent);       // 4.2%, 312%
std::string formatSignedPercent(double percent); // +4.2%, -12%
std::string formatRate(double fraction);         // 0.0125 -> 1.25%
std::string formatRps(double rps);               // 950, 12.5

} // namespace gaetwae::loadtest

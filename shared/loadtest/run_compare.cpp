#include "shared/loadtest/run_compare.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <optional>

namespace gaetwae::loadtest {

using protocol::LatencyHistogram;

namespace {

constexpr std::uint64_t kKneeMinCompletions = 20;
constexpr double kKneeLatencyFactor = 2.0;
constexpr double kKneeSteadyLoad = 1.10; // highest rps within 10% of the lowest: load never varied

struct QuantileSpec {
    const char* name;
    double quantile;
};
constexpr std::array<QuantileSpec, 5> kQuantiles{
    {{"p50", 0.5}, {"p90", 0.9}, {"p99", 0.99}, {"p99.9", 0.999}, {"max", 1.0}}};

// Sums of some of a run's seconds. IntervalStats::merge adds counts and histograms only, so the
// time and target weights are kept here.
struct Totals {
    LatencyHistogram latency; // corrected
    double ms = 0;
    double targetRpsMs = 0; // sum of targetRps * intervalMs
    std::uint64_t sent = 0;
    std::uint64_t completed = 0;
    std::uint64_t failures = 0;

    void add(const IntervalStats& s) {
        latency.merge(s.corrected);
        const auto interval = static_cast<double>(std::max<std::int64_t>(0, s.intervalMs));
        ms += interval;
        targetRpsMs += s.targetRps * interval;
        sent += s.sent;
        completed += s.completed;
        failures += s.failures();
    }
    double rps() const { return ms > 0 ? static_cast<double>(completed) * 1000.0 / ms : 0.0; }
    double errorRate() const {
        return static_cast<double>(failures) / static_cast<double>(std::max<std::uint64_t>(1, sent));
    }
};

// A run as a whole and split by alternating seconds: adjacent seconds share the load level and
// any drift, so the two halves differ only by the run's own noise.
struct RunTotals {
    Totals all;
    Totals even;
    Totals odd;
    bool split = false; // at least two seconds

    explicit RunTotals(const std::vector<IntervalStats>& seconds) {
        for (std::size_t i = 0; i < seconds.size(); ++i) {
            all.add(seconds[i]);
            (i % 2 == 0 ? even : odd).add(seconds[i]);
        }
        split = seconds.size() >= 2;
    }
};

double valueMs(const LatencyHistogram& histogram, double quantile) {
    const auto micros = quantile >= 1.0 ? histogram.maxBound() : histogram.percentile(quantile);
    return static_cast<double>(micros) / 1000.0;
}

double latencyNoiseMs(const RunTotals& run, double quantile) {
    if (!run.split || run.even.latency.empty() || run.odd.latency.empty()) {
        return 0.0;
    }
    return std::abs(valueMs(run.even.latency, quantile) - valueMs(run.odd.latency, quantile));
}

// Width of the bucket behind a value that percentile() reported (an exclusive upper bound).
double bucketWidthMs(double valueMs) {
    const auto micros = static_cast<std::uint64_t>(std::llround(valueMs * 1000.0));
    if (micros == 0) {
        return 0.0;
    }
    const auto bucket = LatencyHistogram::bucketOf(micros - 1);
    return static_cast<double>(LatencyHistogram::upperBound(bucket) - LatencyHistogram::lowerBound(bucket)) /
           1000.0;
}

double percentChange(double base, double candidate) {
    if (base != 0.0) {
        return (candidate - base) / std::abs(base) * 100.0;
    }
    return candidate == 0.0 ? 0.0 : (candidate > 0.0 ? 100.0 : -100.0);
}

double median(std::vector<double> values) {
    if (values.empty()) {
        return 0.0;
    }
    std::sort(values.begin(), values.end());
    const auto middle = values.size() / 2;
    return values.size() % 2 == 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2.0;
}

// Locale-independent fixed-point text: the console sets the C locale from the environment.
std::string fixed(double value, int decimals) {
    std::array<char, 64> buffer{};
    const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value,
                                      std::chars_format::fixed, decimals);
    std::string text(buffer.data(), result.ptr);
    if (text.find_first_not_of("-0.") == std::string::npos) {
        text.erase(0, text.find_first_not_of('-')); // no "-0.0"
    }
    return text;
}

// Limits as the user typed them: "10", "0.5", "1" (not "1.0000000000000002" for 0.01 * 100).
std::string shortest(double value) {
    std::array<char, 64> buffer{};
    const auto result =
        std::to_chars(buffer.data(), buffer.data() + buffer.size(), value, std::chars_format::general, 10);
    return std::string(buffer.data(), result.ptr);
}

int decimalsFor(double magnitude) {
    magnitude = std::abs(magnitude);
    return magnitude >= 100 || magnitude == 0.0 ? 0 : magnitude >= 1 ? 1 : magnitude >= 0.1 ? 2 : 3;
}

std::string sign(double value, const std::string& text) {
    return value > 0 && text != "0" ? "+" + text : text;
}

} // namespace

std::string formatMs(double ms) {
    return fixed(ms, decimalsFor(ms)) + " ms";
}
std::string formatSignedMs(double ms) {
    return sign(ms, fixed(ms, decimalsFor(ms))) + " ms";
}
std::string formatPercent(double percent) {
    return fixed(percent, std::abs(percent) >= 10 ? 0 : 1) + "%";
}
std::string formatSignedPercent(double percent) {
    return sign(percent, fixed(percent, std::abs(percent) >= 10 ? 0 : 1)) + "%";
}
std::string formatRate(double fraction) {
    return fixed(fraction * 100.0, fraction >= 0.1 ? 1 : 2) + "%";
}
std::string formatRps(double rps) {
    return fixed(rps, rps >= 100 ? 0 : 1);
}

Knee findKnee(const std::vector<IntervalStats>& seconds) {
    struct Point {
        double rps;
        double p99Ms;
    };
    std::vector<Point> points;
    for (const auto& s : seconds) {
        if (s.completed >= kKneeMinCompletions && !s.corrected.empty() && s.intervalMs > 0) {
            points.push_back({static_cast<double>(s.completed) * 1000.0 / static_cast<double>(s.intervalMs),
                              valueMs(s.corrected, 0.99)});
        }
    }
    Knee knee;
    knee.points = points.size();
    if (points.size() < 3) {
        knee.explanation = "no knee: " + std::to_string(points.size()) + " second(s) with at least " +
                           std::to_string(kKneeMinCompletions) + " completions, 3 needed";
        return knee;
    }
    // Stable: seconds at the same rate keep their time order.
    std::stable_sort(points.begin(), points.end(),
                     [](const Point& a, const Point& b) { return a.rps < b.rps; });
    const auto lowCount = std::max<std::size_t>(1, static_cast<std::size_t>(std::ceil(points.size() * 0.2)));
    std::vector<double> low;
    for (std::size_t i = 0; i < lowCount; ++i) {
        low.push_back(points[i].p99Ms);
    }
    knee.baselineP99Ms = median(low);
    const double lowest = points.front().rps;
    const double highest = points.back().rps;
    if (highest <= lowest * kKneeSteadyLoad) {
        const auto range = formatRps(lowest) == formatRps(highest)
                               ? "at " + formatRps(lowest)
                               : "between " + formatRps(lowest) + " and " + formatRps(highest);
        knee.explanation = "no knee: the load never varied (every second " + range + " req/s)";
        return knee;
    }
    const double limit = kKneeLatencyFactor * knee.baselineP99Ms;
    for (std::size_t i = 0; i + 2 < points.size(); ++i) {
        const double windowMedian = median({points[i].p99Ms, points[i + 1].p99Ms, points[i + 2].p99Ms});
        if (windowMedian <= limit) {
            continue;
        }
        // A median above the limit has at least two points above it; the first one is the knee.
        std::size_t first = i;
        while (points[first].p99Ms <= limit) {
            ++first;
        }
        knee.found = true;
        knee.rps = points[first].rps;
        knee.p99Ms = windowMedian;
        knee.explanation = "knee at " + formatRps(knee.rps) + " req/s: p99 rose to " +
                           formatMs(windowMedian) + " (rolling median), over 2x of " +
                           formatMs(knee.baselineP99Ms) + " at low load";
        return knee;
    }
    knee.explanation = "no knee up to " + formatRps(highest) + " req/s: p99 stayed within 2x of " +
                       formatMs(knee.baselineP99Ms);
    return knee;
}

namespace {

RateSummary summarize(const Totals& totals) {
    RateSummary out;
    out.durationSeconds = totals.ms / 1000.0;
    out.achievedRps = totals.rps();
    out.targetRps = totals.ms > 0 ? totals.targetRpsMs / totals.ms : 0.0;
    out.sent = totals.sent;
    out.completed = totals.completed;
    out.failures = totals.failures;
    out.errorRate = totals.errorRate();
    return out;
}

double relativeRpsNoise(const RunTotals& run) {
    const double rps = run.all.rps();
    if (!run.split || rps <= 0) {
        return 0.0;
    }
    return std::abs(run.even.rps() - run.odd.rps()) / rps;
}

double errorRateNoise(const RunTotals& run) {
    return run.split ? std::abs(run.even.errorRate() - run.odd.errorRate()) : 0.0;
}

void judgeSlo(Comparison& out, const Slo& slo, const RunTotals& base, const RunTotals& candidate) {
    const auto latency = [&](const char* name, const std::optional<double>& limit, double quantile) {
        if (!limit) {
            return;
        }
        SloCheck check;
        check.name = name;
        check.limit = std::string(name) + " <= " + shortest(*limit) + " ms";
        check.limitValue = *limit;
        check.baseValue = valueMs(base.all.latency, quantile);
        check.candidateValue = valueMs(candidate.all.latency, quantile);
        check.basePass = !base.all.latency.empty() && check.baseValue <= *limit;
        check.candidatePass = !candidate.all.latency.empty() && check.candidateValue <= *limit;
        out.slo.push_back(std::move(check));
    };
    latency("p50", slo.p50Ms, 0.5);
    latency("p99", slo.p99Ms, 0.99);
    latency("p99.9", slo.p999Ms, 0.999);
    if (slo.maxErrorRate) {
        SloCheck check;
        check.name = "error rate";
        check.limit = "error rate <= " + shortest(*slo.maxErrorRate * 100.0) + "%";
        check.limitValue = *slo.maxErrorRate;
        check.baseValue = out.base.errorRate;
        check.candidateValue = out.candidate.errorRate;
        check.basePass = check.baseValue <= check.limitValue;
        check.candidatePass = check.candidateValue <= check.limitValue;
        out.slo.push_back(std::move(check));
    }
    if (slo.minRps) {
        SloCheck check;
        check.name = "throughput";
        check.limit = "throughput >= " + shortest(*slo.minRps) + " req/s";
        check.limitValue = *slo.minRps;
        check.baseValue = out.base.achievedRps;
        check.candidateValue = out.candidate.achievedRps;
        check.basePass = check.baseValue >= check.limitValue;
        check.candidatePass = check.candidateValue >= check.limitValue;
        out.slo.push_back(std::move(check));
    }
    out.basePasses =
        std::all_of(out.slo.begin(), out.slo.end(), [](const SloCheck& c) { return c.basePass; });
    out.candidatePasses =
        std::all_of(out.slo.begin(), out.slo.end(), [](const SloCheck& c) { return c.candidatePass; });
}

std::string joined(const std::vector<std::string>& parts, const char* separator) {
    std::string out;
    for (const auto& part : parts) {
        out += (out.empty() ? "" : separator) + part;
    }
    return out;
}

std::string verdictOf(const Comparison& c) {
    std::vector<std::string> worse;
    std::vector<std::string> better;
    for (const auto& d : c.latency) {
        if (d.significant) {
            (d.deltaMs > 0 ? worse : better)
                .push_back(d.name + " " + formatSignedMs(d.deltaMs) + " (" +
                           formatSignedPercent(d.deltaPercent) + ")");
        }
    }
    if (c.throughputSignificant) {
        (c.throughputDeltaPercent < 0 ? worse : better)
            .push_back("throughput " + formatSignedPercent(c.throughputDeltaPercent) + " (" +
                       formatRps(c.base.achievedRps) + " -> " + formatRps(c.candidate.achievedRps) +
                       " req/s)");
    }
    if (c.errorRateSignificant) {
        (c.errorRateDelta > 0 ? worse : better)
            .push_back("error rate " + formatRate(c.base.errorRate) + " -> " +
                       formatRate(c.candidate.errorRate));
    }
    std::vector<std::string> parts;
    if (!worse.empty()) {
        parts.push_back("regressed: " + joined(worse, ", "));
    }
    if (!better.empty()) {
        parts.push_back("improved: " + joined(better, ", "));
    }
    if (parts.empty()) {
        parts.emplace_back("no significant change");
    }
    if (c.slo.empty()) {
        parts.emplace_back("no SLO set");
    } else if (c.candidatePasses) {
        parts.emplace_back("passes the SLO");
    } else {
        std::vector<std::string> failed;
        for (const auto& check : c.slo) {
            if (!check.candidatePass) {
                failed.push_back(check.limit);
            }
        }
        parts.push_back("fails " + joined(failed, ", "));
    }
    return joined(parts, "; ");
}

} // namespace

Comparison compare(const RunInput& base, const RunInput& candidate, const Slo& slo,
                   const CompareOptions& options) {
    const RunTotals baseRun(base.seconds);
    const RunTotals candidateRun(candidate.seconds);

    Comparison out;
    out.baseLabel = base.label;
    out.candidateLabel = candidate.label;

    for (const auto& spec : kQuantiles) {
        PercentileDelta d;
        d.name = spec.name;
        d.quantile = spec.quantile;
        d.baseMs = valueMs(baseRun.all.latency, spec.quantile);
        d.candidateMs = valueMs(candidateRun.all.latency, spec.quantile);
        d.deltaMs = d.candidateMs - d.baseMs;
        d.deltaPercent = percentChange(d.baseMs, d.candidateMs);
        d.noiseMs =
            std::max(latencyNoiseMs(baseRun, spec.quantile), latencyNoiseMs(candidateRun, spec.quantile));
        d.thresholdMs = std::max({options.relativeThreshold * d.baseMs, options.absoluteThresholdMs,
                                  d.noiseMs, bucketWidthMs(d.baseMs), bucketWidthMs(d.candidateMs)});
        d.significant = std::abs(d.deltaMs) > d.thresholdMs;
        out.latency.push_back(std::move(d));
    }

    out.base = summarize(baseRun.all);
    out.candidate = summarize(candidateRun.all);
    out.throughputDeltaPercent = percentChange(out.base.achievedRps, out.candidate.achievedRps);
    out.throughputNoisePercent = 100.0 * std::max(relativeRpsNoise(baseRun), relativeRpsNoise(candidateRun));
    out.throughputSignificant = std::abs(out.throughputDeltaPercent) >
                                std::max(100.0 * options.relativeThreshold, out.throughputNoisePercent);

    out.errorRateDelta = out.candidate.errorRate - out.base.errorRate;
    out.errorRateNoise = std::max(errorRateNoise(baseRun), errorRateNoise(candidateRun));
    out.errorRateSignificant =
        std::abs(out.errorRateDelta) > std::max({options.relativeThreshold * out.base.errorRate,
                                                 options.absoluteErrorRate, out.errorRateNoise});

    out.baseKnee = findKnee(base.seconds);
    out.candidateKnee = findKnee(candidate.seconds);

    judgeSlo(out, slo, baseRun, candidateRun);

    out.regressed = std::any_of(out.latency.begin(), out.latency.end(),
                                [](const PercentileDelta& d) { return d.significant && d.deltaMs > 0; }) ||
                    (out.throughputSignificant && out.throughputDeltaPercent < 0) ||
                    (out.errorRateSignificant && out.errorRateDelta > 0);
    out.improved = std::any_of(out.latency.begin(), out.latency.end(),
                               [](const PercentileDelta& d) { return d.significant && d.deltaMs < 0; }) ||
                   (out.throughputSignificant && out.throughputDeltaPercent > 0) ||
                   (out.errorRateSignificant && out.errorRateDelta < 0);
    out.verdict = verdictOf(out);
    return out;
}

// ---- JSON ----

namespace {

nlohmann::json toJson(const RateSummary& r) {
    return {{"durationSeconds", r.durationSeconds},
            {"achievedRps", r.achievedRps},
            {"targetRps", r.targetRps},
            {"sent", r.sent},
            {"completed", r.completed},
            {"failures", r.failures},
            {"errorRate", r.errorRate}};
}

nlohmann::json toJson(const Knee& k) {
    return {{"found", k.found},   {"rps", k.rps},
            {"p99Ms", k.p99Ms},   {"baselineP99Ms", k.baselineP99Ms},
            {"points", k.points}, {"explanation", k.explanation}};
}

void readRate(const nlohmann::json& v, RateSummary& r) {
    r.durationSeconds = v.at("durationSeconds").get<double>();
    r.achievedRps = v.at("achievedRps").get<double>();
    r.targetRps = v.at("targetRps").get<double>();
    r.sent = v.at("sent").get<std::uint64_t>();
    r.completed = v.at("completed").get<std::uint64_t>();
    r.failures = v.at("failures").get<std::uint64_t>();
    r.errorRate = v.at("errorRate").get<double>();
}

void readKnee(const nlohmann::json& v, Knee& k) {
    k.found = v.at("found").get<bool>();
    k.rps = v.at("rps").get<double>();
    k.p99Ms = v.at("p99Ms").get<double>();
    k.baselineP99Ms = v.at("baselineP99Ms").get<double>();
    k.points = v.at("points").get<std::uint64_t>();
    k.explanation = v.at("explanation").get<std::string>();
}

} // namespace

nlohmann::json toJson(const Comparison& c) {
    nlohmann::json latency = nlohmann::json::array();
    for (const auto& d : c.latency) {
        latency.push_back({{"name", d.name},
                           {"quantile", d.quantile},
                           {"baseMs", d.baseMs},
                           {"candidateMs", d.candidateMs},
                           {"deltaMs", d.deltaMs},
                           {"deltaPercent", d.deltaPercent},
                           {"noiseMs", d.noiseMs},
                           {"thresholdMs", d.thresholdMs},
                           {"significant", d.significant}});
    }
    nlohmann::json slo = nlohmann::json::array();
    for (const auto& s : c.slo) {
        slo.push_back({{"name", s.name},
                       {"limit", s.limit},
                       {"limitValue", s.limitValue},
                       {"baseValue", s.baseValue},
                       {"candidateValue", s.candidateValue},
                       {"basePass", s.basePass},
                       {"candidatePass", s.candidatePass}});
    }
    return {{"baseLabel", c.baseLabel},
            {"candidateLabel", c.candidateLabel},
            {"latency", std::move(latency)},
            {"base", toJson(c.base)},
            {"candidate", toJson(c.candidate)},
            {"throughputDeltaPercent", c.throughputDeltaPercent},
            {"throughputNoisePercent", c.throughputNoisePercent},
            {"throughputSignificant", c.throughputSignificant},
            {"errorRateDelta", c.errorRateDelta},
            {"errorRateNoise", c.errorRateNoise},
            {"errorRateSignificant", c.errorRateSignificant},
            {"baseKnee", toJson(c.baseKnee)},
            {"candidateKnee", toJson(c.candidateKnee)},
            {"slo", std::move(slo)},
            {"basePasses", c.basePasses},
            {"candidatePasses", c.candidatePasses},
            {"regressed", c.regressed},
            {"improved", c.improved},
            {"verdict", c.verdict}};
}

bool fromJson(const nlohmann::json& value, Comparison& out, std::string* error) {
    try {
        Comparison c;
        c.baseLabel = value.at("baseLabel").get<std::string>();
        c.candidateLabel = value.at("candidateLabel").get<std::string>();
        for (const auto& item : value.at("latency")) {
            PercentileDelta d;
            d.name = item.at("name").get<std::string>();
            d.quantile = item.at("quantile").get<double>();
            d.baseMs = item.at("baseMs").get<double>();
            d.candidateMs = item.at("candidateMs").get<double>();
            d.deltaMs = item.at("deltaMs").get<double>();
            d.deltaPercent = item.at("deltaPercent").get<double>();
            d.noiseMs = item.at("noiseMs").get<double>();
            d.thresholdMs = item.at("thresholdMs").get<double>();
            d.significant = item.at("significant").get<bool>();
            c.latency.push_back(std::move(d));
        }
        readRate(value.at("base"), c.base);
        readRate(value.at("candidate"), c.candidate);
        c.throughputDeltaPercent = value.at("throughputDeltaPercent").get<double>();
        c.throughputNoisePercent = value.at("throughputNoisePercent").get<double>();
        c.throughputSignificant = value.at("throughputSignificant").get<bool>();
        c.errorRateDelta = value.at("errorRateDelta").get<double>();
        c.errorRateNoise = value.at("errorRateNoise").get<double>();
        c.errorRateSignificant = value.at("errorRateSignificant").get<bool>();
        readKnee(value.at("baseKnee"), c.baseKnee);
        readKnee(value.at("candidateKnee"), c.candidateKnee);
        for (const auto& item : value.at("slo")) {
            SloCheck s;
            s.name = item.at("name").get<std::string>();
            s.limit = item.at("limit").get<std::string>();
            s.limitValue = item.at("limitValue").get<double>();
            s.baseValue = item.at("baseValue").get<double>();
            s.candidateValue = item.at("candidateValue").get<double>();
            s.basePass = item.at("basePass").get<bool>();
            s.candidatePass = item.at("candidatePass").get<bool>();
            c.slo.push_back(std::move(s));
        }
        c.basePasses = value.at("basePasses").get<bool>();
        c.candidatePasses = value.at("candidatePasses").get<bool>();
        c.regressed = value.at("regressed").get<bool>();
        c.improved = value.at("improved").get<bool>();
        c.verdict = value.at("verdict").get<std::string>();
        out = std::move(c);
        return true;
    } catch (const nlohmann::json::exception& e) {
        if (error != nullptr) {
            *error = e.what();
        }
        return false;
    }
}

} // namespace gaetwae::loadtest

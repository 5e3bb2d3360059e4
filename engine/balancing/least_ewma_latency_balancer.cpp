#include "engine/balancing/latency_balancer.hpp"

namespace gaetwae::engine::balancing {

double LatencyBalancer::rawLatency(const health::InstanceState& state) const {
    return m_signal == Signal::PeakEwma ? state.latency.peakEwmaMs() : state.latency.averageMs();
}

std::size_t LatencyBalancer::choose(const PoolSnapshot& pool, const RequestKey&, const CandidateSet& candidates,
                                    PickTrace* trace) {
    const core::TimePoint now = m_clock.now();
    const std::int64_t nowNs = core::toNanos(now);
    const auto& latencyConfig = pool.config.latency;

    // Probe: the candidate idle longest past the probe interval, claimed by exactly one worker.
    if (latencyConfig.probeInterval.count() > 0) {
        const std::int64_t cutoff = nowNs - std::chrono::duration_cast<core::Nanoseconds>(latencyConfig.probeInterval).count();
        const Candidate* idlest = nullptr;
        std::int64_t idlestPicked = 0;
        for (const auto& c : candidates.items) {
            const auto picked = pool.instances[c.index].state->lastPickedNs.load(std::memory_order_relaxed);
            if (picked <= cutoff && (idlest == nullptr || picked < idlestPicked)) {
                idlest = &c;
                idlestPicked = picked;
            }
        }
        if (idlest != nullptr) {
            auto& lastPicked = pool.instances[idlest->index].state->lastPickedNs;
            if (lastPicked.compare_exchange_strong(idlestPicked, nowNs, std::memory_order_relaxed)) {
                if (trace != nullptr) {
                    trace->note = "probe: not picked for " + std::to_string(latencyConfig.probeInterval.count()) + "ms";
                    trace->candidates.push_back({idlest->index, idlest->weight, 0.0});
                }
                return idlest->index;
            }
        }
    }

    double sum = 0;
    std::size_t measured = 0;
    for (const auto& c : candidates.items) {
        const auto& state = *pool.instances[c.index].state;
        if (state.latency.hasSamples()) {
            sum += rawLatency(state);
            ++measured;
        }
    }
    const double poolMean = measured > 0 ? sum / static_cast<double>(measured) : 1.0;

    std::size_t best = candidates.items.front().index;
    double bestScore = -1;
    for (const auto& c : candidates.items) {
        const auto& state = *pool.instances[c.index].state;
        const double latency = state.latency.hasSamples()
                                   ? health::LatencyTracker::decayedToward(rawLatency(state), poolMean, state.latency.updatedAt(),
                                                                   now, latencyConfig.decay)
                                   : poolMean;
        const auto active = state.activeRequests.load(std::memory_order_relaxed);
        const double score = std::max(latency, 1e-3) * static_cast<double>(active + 1) / c.weight;
        if (trace != nullptr) {
            trace->candidates.push_back({c.index, c.weight, score});
        }
        if (bestScore < 0 || score < bestScore) {
            bestScore = score;
            best = c.index;
        }
    }
    pool.instances[best].state->lastPickedNs.store(nowNs, std::memory_order_relaxed);
    if (trace != nullptr) {
        trace->note = m_signal == Signal::PeakEwma ? "least peak-EWMA latency x (active + 1) / weight"
                                                   : "dynamic score: average latency x (active + 1) / weight";
    }
    return best;
}

} // namespace gaetwae::engine::balancing

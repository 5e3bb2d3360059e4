#pragma once

#include "engine/balancing/candidates.hpp"

namespace gaetwae::engine::balancing {

// Shared by the latency-aware strategies: score = latency * (active + 1) / weight, lowest wins,
// where latency is the instance's average moved toward the pool mean the longer it has had no
// samples. Instances not picked for `latency.probe_interval` get one request (exactly one worker
// wins the probe), so an instance that was slow, or is new, is measured again rather than starved.
class LatencyBalancer : public CandidateBalancer {
public:
    enum class Signal {
        PeakEwma, // least_ewma_latency
        Average,  // dynamic_score
    };

    LatencyBalancer(const core::Clock& clock, core::Random& random, Signal signal)
        : CandidateBalancer(clock, random)
        , m_signal(signal) {}

private:
    std::size_t choose(const PoolSnapshot& pool, const RequestKey& key, const CandidateSet& candidates,
                       PickTrace* trace) final;
    double rawLatency(const health::InstanceState& state) const;

    Signal m_signal;
};

// Peak-EWMA latency (Finagle, Linkerd): reacts at once to an instance slowing down.
class LeastEwmaLatencyBalancer final : public LatencyBalancer {
public:
    LeastEwmaLatencyBalancer(const core::Clock& clock, core::Random& random)
        : LatencyBalancer(clock, random, Signal::PeakEwma) {}
};

} // namespace gaetwae::engine::balancing

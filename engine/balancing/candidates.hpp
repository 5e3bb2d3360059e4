#pragma once

#include "engine/balancing/balancer.hpp"
#include "engine/core/random.hpp"

#include <span>
#include <vector>

namespace gaetwae::engine::balancing {

struct Candidate {
    std::size_t index;
    double weight; // configured weight after slow start
};

struct CandidateSet {
    std::vector<Candidate> items; // by instance index, ascending
    double totalWeight = 0;
    bool panic = false;
};

// The instances that may take a new request at `now`, shared by every strategy:
//  - manual state enabled (draining and disabled ones take no new requests) and weight > 0;
//  - up: healthy by active checks and not ejected by outlier detection, unless the pool is in
//    panic (fewer than panic_threshold percent up), when health is ignored as in Envoy;
//  - its circuit breaker would admit a request;
//  - not in `avoid`, unless nothing else is left;
// with weights scaled by slow start: weight * max(min_percent, (age / window) ^ (1 / aggression)).
void selectCandidates(const PoolSnapshot& pool, core::TimePoint now, std::span<const std::size_t> avoid,
                      CandidateSet& out, PickTrace* trace);

// The slow-start factor in (0, 1] for an instance available since `since`.
double slowStartFactor(const model::SlowStartConfig& config, core::TimePoint since, core::TimePoint now);

// Base for strategies that choose among selectCandidates(): injected clock and randomness and a
// reused candidate buffer (no allocation per pick after warm-up).
class CandidateBalancer : public Balancer {
public:
    CandidateBalancer(const core::Clock& clock, core::Random& random)
        : m_clock(clock)
        , m_random(random) {}

    std::optional<std::size_t> pick(const PoolSnapshot& pool, const RequestKey& key,
                                    std::span<const std::size_t> avoid, PickTrace* trace) final;

protected:
    // Chooses among the (non-empty) candidates; returns an instance index.
    virtual std::size_t choose(const PoolSnapshot& pool, const RequestKey& key, const CandidateSet& candidates,
                               PickTrace* trace) = 0;

    const core::Clock& m_clock;
    core::Random& m_random;

private:
    CandidateSet m_candidates;
};

} // namespace gaetwae::engine::balancing

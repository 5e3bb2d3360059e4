#pragma once

#include "engine/balancing/candidates.hpp"

namespace gaetwae::engine::balancing {

// Plain round robin: each candidate in turn, ignoring weights (weighted_round_robin honours
// them). The cursor is per worker, like Envoy's thread-local balancers: one keep-alive connection
// sees a strict rotation, the whole gateway an even spread.
class RoundRobinBalancer final : public CandidateBalancer {
public:
    using CandidateBalancer::CandidateBalancer;

private:
    std::size_t choose(const PoolSnapshot& pool, const RequestKey& key, const CandidateSet& candidates,
                       PickTrace* trace) override;

    std::size_t m_next = 0; // instance index to start from
};

} // namespace gaetwae::engine::balancing

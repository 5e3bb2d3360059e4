#pragma once

#include "engine/balancing/candidates.hpp"

namespace gaetwae::engine::balancing {

// Weighted least connections: the candidate with the fewest requests in flight per unit of weight,
// counted across all workers ((active + 1) / weight, like HAProxy's leastconn). Ties rotate so equal
// instances share the load.
class LeastConnectionsBalancer final : public CandidateBalancer {
public:
    using CandidateBalancer::CandidateBalancer;

private:
    std::size_t choose(const PoolSnapshot& pool, const RequestKey& key, const CandidateSet& candidates,
                       PickTrace* trace) override;

    std::size_t m_rotation = 0;
};

} // namespace gaetwae::engine::balancing

#pragma once

#include "engine/balancing/candidates.hpp"

#include <vector>

namespace gaetwae::engine::balancing {

// Smooth weighted round robin (nginx): every pick adds each candidate's weight to its running
// score, takes the highest and subtracts the total from it. Weights 5:1:1 give a a b a c a a,
// spreading the heavy instance's turns instead of bunching them.
class WeightedRoundRobinBalancer final : public CandidateBalancer {
public:
    using CandidateBalancer::CandidateBalancer;

private:
    std::size_t choose(const PoolSnapshot& pool, const RequestKey& key, const CandidateSet& candidates,
                       PickTrace* trace) override;

    std::vector<double> m_current; // by instance index
};

} // namespace gaetwae::engine::balancing

#pragma once

#include "engine/balancing/candidates.hpp"

namespace gaetwae::engine::balancing {

// Weighted random: each candidate with probability weight / total weight.
class RandomBalancer final : public CandidateBalancer {
public:
    using CandidateBalancer::CandidateBalancer;

private:
    std::size_t choose(const PoolSnapshot& pool, const RequestKey& key, const CandidateSet& candidates,
                       PickTrace* trace) override;
};

} // namespace gaetwae::engine::balancing

#pragma once

#include "engine/balancing/candidates.hpp"

namespace gaetwae::engine::balancing {

// Power of two choices, least request (Envoy's LEAST_REQUEST): two distinct random candidates,
// the one with the lower (active + 1)^bias / weight wins. Nearly as good as a full least-request
// scan, without herding every worker onto the same momentarily idle instance.
class PowerOfTwoBalancer final : public CandidateBalancer {
public:
    using CandidateBalancer::CandidateBalancer;

private:
    std::size_t choose(const PoolSnapshot& pool, const RequestKey& key, const CandidateSet& candidates,
                       PickTrace* trace) override;
};

} // namespace gaetwae::engine::balancing

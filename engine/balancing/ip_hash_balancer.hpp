#pragma once

#include "engine/balancing/candidates.hpp"

namespace gaetwae::engine::balancing {

// Client IP affinity by weighted rendezvous hashing: a client keeps its instance while that
// instance is available, every worker and every engine agree, and losing an instance only moves
// its own clients.
class IpHashBalancer final : public CandidateBalancer {
public:
    using CandidateBalancer::CandidateBalancer;

private:
    std::size_t choose(const PoolSnapshot& pool, const RequestKey& key, const CandidateSet& candidates,
                       PickTrace* trace) override;
};

} // namespace gaetwae::engine::balancing

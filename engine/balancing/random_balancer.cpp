#include "engine/balancing/random_balancer.hpp"

namespace gaetwae::engine::balancing {

std::size_t RandomBalancer::choose(const PoolSnapshot&, const RequestKey&, const CandidateSet& candidates,
                                   PickTrace* trace) {
    double point = m_random.uniform() * candidates.totalWeight;
    std::size_t chosen = candidates.items.back().index;
    for (const auto& c : candidates.items) {
        if (point < c.weight) {
            chosen = c.index;
            break;
        }
        point -= c.weight;
    }
    if (trace != nullptr) {
        trace->note = "weighted random";
    }
    return chosen;
}

} // namespace gaetwae::engine::balancing

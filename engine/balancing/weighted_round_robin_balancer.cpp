#include "engine/balancing/weighted_round_robin_balancer.hpp"

namespace gaetwae::engine::balancing {

std::size_t WeightedRoundRobinBalancer::choose(const PoolSnapshot& pool, const RequestKey&,
                                               const CandidateSet& candidates, PickTrace* trace) {
    if (m_current.size() != pool.instances.size()) {
        m_current.assign(pool.instances.size(), 0.0);
    }
    std::size_t best = candidates.items.front().index;
    double bestScore = 0;
    bool first = true;
    for (const auto& c : candidates.items) {
        m_current[c.index] += c.weight;
        if (first || m_current[c.index] > bestScore) {
            best = c.index;
            bestScore = m_current[c.index];
            first = false;
        }
    }
    m_current[best] -= candidates.totalWeight;
    if (trace != nullptr) {
        trace->note = "smooth weighted round robin";
        for (const auto& c : candidates.items) {
            trace->candidates.push_back({c.index, c.weight, -m_current[c.index]});
        }
    }
    return best;
}

} // namespace gaetwae::engine::balancing

#include "engine/balancing/round_robin_balancer.hpp"

namespace gaetwae::engine::balancing {

std::size_t RoundRobinBalancer::choose(const PoolSnapshot&, const RequestKey&, const CandidateSet& candidates,
                                       PickTrace* trace) {
    // The first candidate at or after the cursor, wrapping around.
    const Candidate* chosen = &candidates.items.front();
    for (const auto& c : candidates.items) {
        if (c.index >= m_next) {
            chosen = &c;
            break;
        }
    }
    m_next = chosen->index + 1;
    if (trace != nullptr) {
        trace->note = "round robin";
    }
    return chosen->index;
}

} // namespace gaetwae::engine::balancing

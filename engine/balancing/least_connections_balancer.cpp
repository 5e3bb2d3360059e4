#include "engine/balancing/least_connections_balancer.hpp"

namespace gaetwae::engine::balancing {

std::size_t LeastConnectionsBalancer::choose(const PoolSnapshot& pool, const RequestKey&,
                                             const CandidateSet& candidates, PickTrace* trace) {
    const std::size_t n = candidates.items.size();
    const std::size_t start = m_rotation++ % n;
    std::size_t best = candidates.items[start].index;
    double bestScore = -1;
    for (std::size_t step = 0; step < n; ++step) {
        const auto& c = candidates.items[(start + step) % n];
        const auto active = pool.instances[c.index].state->activeRequests.load(std::memory_order_relaxed);
        const double score = static_cast<double>(active + 1) / c.weight;
        if (trace != nullptr) {
            trace->candidates.push_back({c.index, c.weight, score});
        }
        if (bestScore < 0 || score < bestScore) {
            bestScore = score;
            best = c.index;
        }
    }
    if (trace != nullptr) {
        trace->note = "least connections: (active + 1) / weight";
    }
    return best;
}

} // namespace gaetwae::engine::balancing

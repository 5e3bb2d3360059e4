#include "engine/balancing/power_of_two_balancer.hpp"

#include <cmath>

namespace gaetwae::engine::balancing {

std::size_t PowerOfTwoBalancer::choose(const PoolSnapshot& pool, const RequestKey&, const CandidateSet& candidates,
                                       PickTrace* trace) {
    const std::size_t n = candidates.items.size();
    if (n == 1) {
        return candidates.items.front().index;
    }
    const std::size_t a = m_random.below(n);
    std::size_t b = m_random.below(n - 1);
    b += b >= a ? 1 : 0; // distinct
    const double bias = pool.config.latency.activeRequestBias;
    auto score = [&](const Candidate& c) {
        const auto active = pool.instances[c.index].state->activeRequests.load(std::memory_order_relaxed);
        return std::pow(static_cast<double>(active + 1), bias) / c.weight;
    };
    const auto& first = candidates.items[a];
    const auto& second = candidates.items[b];
    const double scoreA = score(first);
    const double scoreB = score(second);
    if (trace != nullptr) {
        trace->candidates.push_back({first.index, first.weight, scoreA});
        trace->candidates.push_back({second.index, second.weight, scoreB});
        trace->note = "power of two choices: (active + 1)^bias / weight";
    }
    return scoreB < scoreA ? second.index : first.index;
}

} // namespace gaetwae::engine::balancing

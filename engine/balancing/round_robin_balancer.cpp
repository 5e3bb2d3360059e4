#include "engine/balancing/round_robin_balancer.hpp"

#include <algorithm>

namespace gaetwae::engine::balancing {

std::optional<std::size_t> RoundRobinBalancer::pick(const PoolSnapshot& pool, const RequestKey&,
                                                    std::span<const std::size_t> avoid, PickTrace* trace) {
    const std::size_t n = pool.instances.size();
    std::optional<std::size_t> fallback; // an avoided but eligible instance, used only if nothing else is
    for (std::size_t step = 0; step < n; ++step) {
        const std::size_t index = (m_next + step) % n;
        if (!pool.eligible(index)) {
            if (trace != nullptr) {
                trace->excluded.emplace_back(index, pool.instances[index].weight == 0 ? "weight 0" : "not available");
            }
            continue;
        }
        if (std::find(avoid.begin(), avoid.end(), index) != avoid.end()) {
            if (trace != nullptr) {
                trace->excluded.emplace_back(index, "already tried");
            }
            fallback = fallback ? fallback : index;
            continue;
        }
        m_next = index + 1;
        if (trace != nullptr) {
            trace->candidates.push_back({index, 0.0});
            trace->note = "round robin";
        }
        return index;
    }
    if (fallback) {
        m_next = *fallback + 1;
    }
    return fallback;
}

} // namespace gaetwae::engine::balancing

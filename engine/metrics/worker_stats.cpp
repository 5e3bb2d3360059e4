#include "engine/metrics/worker_stats.hpp"

#include <algorithm>

namespace gaetwae::engine::metrics {

namespace {

template <class Map, class Key>
std::shared_ptr<StatsBlock> obtain(Map& map, const Key& key) {
    auto& block = map[key];
    if (!block) {
        block = std::make_shared<StatsBlock>();
    }
    return block;
}

} // namespace

std::shared_ptr<StatsBlock> WorkerStats::route(const std::string& name) {
    std::lock_guard lock(m_mutex);
    return obtain(m_routes, name);
}

std::shared_ptr<StatsBlock> WorkerStats::pool(const std::string& name) {
    std::lock_guard lock(m_mutex);
    return obtain(m_pools, name);
}

std::shared_ptr<StatsBlock> WorkerStats::instance(const std::string& pool, const std::string& id) {
    std::lock_guard lock(m_mutex);
    return obtain(m_instances, std::make_pair(pool, id));
}

void WorkerStats::retain(const std::vector<std::string>& routes, const std::vector<std::string>& pools,
                         const std::vector<std::pair<std::string, std::string>>& instances) {
    std::lock_guard lock(m_mutex);
    std::erase_if(m_routes, [&](const auto& e) { return std::find(routes.begin(), routes.end(), e.first) == routes.end(); });
    std::erase_if(m_pools, [&](const auto& e) { return std::find(pools.begin(), pools.end(), e.first) == pools.end(); });
    std::erase_if(m_instances, [&](const auto& e) {
        return std::find(instances.begin(), instances.end(), e.first) == instances.end();
    });
}

} // namespace gaetwae::engine::metrics

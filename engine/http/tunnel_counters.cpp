#include "engine/http/tunnel_counters.hpp"

namespace gaetwae::engine::http {

std::shared_ptr<TunnelCounters> TunnelRegistry::obtain(const std::string& route) {
    std::lock_guard lock(m_mutex);
    auto& counters = m_routes[route];
    if (!counters) {
        counters = std::make_shared<TunnelCounters>();
    }
    return counters;
}

void TunnelRegistry::retain(const std::set<std::string>& routes) {
    std::lock_guard lock(m_mutex);
    std::erase_if(m_routes, [&routes](const auto& entry) {
        return !routes.contains(entry.first) && entry.second->open.load(std::memory_order_relaxed) == 0;
    });
}

std::vector<TunnelRegistry::Entry> TunnelRegistry::entries() const {
    std::lock_guard lock(m_mutex);
    std::vector<Entry> out;
    out.reserve(m_routes.size());
    for (const auto& [route, counters] : m_routes) {
        out.push_back({route, counters->open.load(std::memory_order_relaxed),
                       counters->total.load(std::memory_order_relaxed),
                       counters->bytesFromClient.load(std::memory_order_relaxed),
                       counters->bytesToClient.load(std::memory_order_relaxed)});
    }
    return out;
}

} // namespace gaetwae::engine::http

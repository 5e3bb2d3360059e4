#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace gaetwae::engine::http {

// Tunnels (upgraded connections) of one route, all workers together. A tunnel holds its route's
// counters until it ends, so a route edited or removed meanwhile still accounts for it.
struct TunnelCounters {
    std::atomic<std::int64_t> open{0};
    std::atomic<std::uint64_t> total{0};           // tunnels established since start
    std::atomic<std::uint64_t> bytesFromClient{0}; // relayed to instances, counted as they move
    std::atomic<std::uint64_t> bytesToClient{0};
};

// Tunnel counters by route name, kept across reloads and admin changes (like rate limit buckets).
// Control thread and snapshot building only; workers touch the counters, never the registry.
class TunnelRegistry {
public:
    std::shared_ptr<TunnelCounters> obtain(const std::string& route);
    // Forgets routes not in `routes` that have no tunnel open; the others stay visible in /metrics
    // until their last tunnel ends.
    void retain(const std::set<std::string>& routes);

    struct Entry {
        std::string route;
        std::int64_t open = 0;
        std::uint64_t total = 0;
        std::uint64_t bytesFromClient = 0;
        std::uint64_t bytesToClient = 0;
    };
    std::vector<Entry> entries() const;

private:
    mutable std::mutex m_mutex;
    std::map<std::string, std::shared_ptr<TunnelCounters>> m_routes;
};

} // namespace gaetwae::engine::http

#include "engine/core/ip_connection_counter.hpp"

namespace gaetwae::engine::core {

std::size_t IpConnectionCounter::KeyHash::operator()(const Key& key) const {
    // FNV-1a: addresses are attacker-chosen, but a shard or bucket collision only costs time
    // proportional to the attacker's own open connections, which the limit bounds.
    std::uint64_t hash = 14695981039346656037ULL;
    for (const std::uint8_t byte : key) {
        hash = (hash ^ byte) * 1099511628211ULL;
    }
    return static_cast<std::size_t>(hash ^ (hash >> 32));
}

bool IpConnectionCounter::tryAcquire(const Key& key, std::uint32_t limit) {
    Shard& shard = shardOf(key);
    std::lock_guard lock(shard.mutex);
    std::uint32_t& count = shard.counts[key];
    if (limit != 0 && count >= limit) {
        return false; // count >= 1 here, so no empty entry is left behind
    }
    ++count;
    return true;
}

void IpConnectionCounter::release(const Key& key) {
    Shard& shard = shardOf(key);
    std::lock_guard lock(shard.mutex);
    const auto it = shard.counts.find(key);
    if (it != shard.counts.end() && --it->second == 0) {
        shard.counts.erase(it);
    }
}

std::uint32_t IpConnectionCounter::count(const Key& key) const {
    const Shard& shard = shardOf(key);
    std::lock_guard lock(shard.mutex);
    const auto it = shard.counts.find(key);
    return it == shard.counts.end() ? 0 : it->second;
}

std::size_t IpConnectionCounter::trackedAddresses() const {
    std::size_t total = 0;
    for (const Shard& shard : m_shards) {
        std::lock_guard lock(shard.mutex);
        total += shard.counts.size();
    }
    return total;
}

} // namespace gaetwae::engine::core

#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <utility>

namespace gaetwae::engine::core {

// Open client connections per source address, shared by all workers (limits.max_connections_per_ip).
// Sharded by address so workers accepting from different clients rarely meet on a lock; a lock is
// taken once at accept and once at close, never per request. An address's entry is erased when its
// count returns to zero, so the map holds only addresses with open connections.
class IpConnectionCounter {
public:
    // IPv6 bytes; IPv4 (and v4-mapped IPv6) as ::ffff:a.b.c.d, so both forms of a client count together.
    using Key = std::array<std::uint8_t, 16>;

    // Claims a connection for `key` unless `limit` are already open (0: no limit, but still counted
    // so a later limit sees the truth). False: refused, nothing claimed.
    bool tryAcquire(const Key& key, std::uint32_t limit);
    void release(const Key& key);

    std::uint32_t count(const Key& key) const;
    std::size_t trackedAddresses() const;

private:
    struct KeyHash {
        std::size_t operator()(const Key& key) const;
    };
    struct Shard {
        mutable std::mutex mutex;
        std::unordered_map<Key, std::uint32_t, KeyHash> counts;
    };
    static constexpr std::size_t kShards = 32;

    Shard& shardOf(const Key& key) { return m_shards[KeyHash{}(key) % kShards]; }
    const Shard& shardOf(const Key& key) const { return m_shards[KeyHash{}(key) % kShards]; }

    std::array<Shard, kShards> m_shards;
};

// One claimed per-address connection, released when the session that owns it ends.
class IpConnectionSlot {
public:
    IpConnectionSlot() = default;
    IpConnectionSlot(IpConnectionCounter& counter, const IpConnectionCounter::Key& key)
        : m_counter(&counter)
        , m_key(key) {}
    IpConnectionSlot(IpConnectionSlot&& other) noexcept
        : m_counter(std::exchange(other.m_counter, nullptr))
        , m_key(other.m_key) {}
    IpConnectionSlot& operator=(IpConnectionSlot&& other) noexcept {
        if (this != &other) {
            if (m_counter != nullptr) {
                m_counter->release(m_key);
            }
            m_counter = std::exchange(other.m_counter, nullptr);
            m_key = other.m_key;
        }
        return *this;
    }
    IpConnectionSlot(const IpConnectionSlot&) = delete;
    IpConnectionSlot& operator=(const IpConnectionSlot&) = delete;
    ~IpConnectionSlot() {
        if (m_counter != nullptr) {
            m_counter->release(m_key);
        }
    }

private:
    IpConnectionCounter* m_counter = nullptr;
    IpConnectionCounter::Key m_key{};
};

} // namespace gaetwae::engine::core

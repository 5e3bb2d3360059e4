#include "engine/balancing/consistent_hash_balancer.hpp"

#include "engine/balancing/hashing.hpp"

#include <algorithm>
#include <cmath>

namespace gaetwae::engine::balancing {

ConsistentHashBalancer::ConsistentHashBalancer(const core::Clock& clock, core::Random& random,
                                               const PoolSnapshot& pool)
    : CandidateBalancer(clock, random)
    , m_algorithm(pool.config.consistentHash.algorithm) {
    if (pool.instances.empty()) {
        return;
    }
    if (m_algorithm == model::HashAlgorithm::Maglev) {
        buildMaglev(pool);
    } else {
        buildRing(pool);
    }
}

void ConsistentHashBalancer::buildRing(const PoolSnapshot& pool) {
    const std::uint32_t perWeight = pool.config.consistentHash.virtualNodes;
    for (std::uint32_t i = 0; i < pool.instances.size(); ++i) {
        const auto& instance = pool.instances[i];
        const std::uint64_t points = static_cast<std::uint64_t>(perWeight) * std::max<std::uint32_t>(1, instance.weight);
        for (std::uint64_t k = 0; k < points; ++k) {
            m_ring.emplace_back(hash64(instance.id, k), i);
        }
    }
    std::sort(m_ring.begin(), m_ring.end());
}

void ConsistentHashBalancer::buildMaglev(const PoolSnapshot& pool) {
    // Maglev population (Eisenbud et al., 2016, section 3.4) with weights: in each round an
    // instance claims as many slots as its weight, each the next free one in its permutation.
    const std::uint32_t m = kMaglevTableSize;
    const std::size_t n = pool.instances.size();
    std::vector<std::uint32_t> offset(n);
    std::vector<std::uint32_t> skip(n);
    std::vector<std::uint32_t> next(n, 0);
    for (std::size_t i = 0; i < n; ++i) {
        offset[i] = static_cast<std::uint32_t>(hash64(pool.instances[i].id, 0xa11ce) % m);
        skip[i] = static_cast<std::uint32_t>(hash64(pool.instances[i].id, 0xb0b) % (m - 1)) + 1;
    }
    m_maglev.assign(m, UINT32_MAX);
    std::uint32_t filled = 0;
    while (filled < m) {
        for (std::size_t i = 0; i < n && filled < m; ++i) {
            const std::uint32_t turns = std::max<std::uint32_t>(1, pool.instances[i].weight);
            for (std::uint32_t t = 0; t < turns && filled < m; ++t) {
                std::uint32_t slot = 0;
                do {
                    slot = static_cast<std::uint32_t>((offset[i] + static_cast<std::uint64_t>(next[i]) * skip[i]) % m);
                    ++next[i];
                } while (m_maglev[slot] != UINT32_MAX);
                m_maglev[slot] = static_cast<std::uint32_t>(i);
                ++filled;
            }
        }
    }
}

std::size_t ConsistentHashBalancer::home(std::uint64_t keyHash) const {
    if (m_algorithm == model::HashAlgorithm::Maglev) {
        return m_maglev.empty() ? 0 : m_maglev[keyHash % kMaglevTableSize];
    }
    if (m_ring.empty()) {
        return 0;
    }
    auto it = std::lower_bound(m_ring.begin(), m_ring.end(), std::pair<std::uint64_t, std::uint32_t>(keyHash, 0));
    if (it == m_ring.end()) {
        it = m_ring.begin();
    }
    return it->second;
}

std::size_t ConsistentHashBalancer::choose(const PoolSnapshot& pool, const RequestKey& key,
                                           const CandidateSet& candidates, PickTrace* trace) {
    const auto value = hashKey(pool.config.hashOn, key);
    if (!value || (m_ring.empty() && m_maglev.empty())) {
        const std::size_t index = candidates.items[m_fallback++ % candidates.items.size()].index;
        if (trace != nullptr) {
            trace->note = "consistent hash: request has no " + std::string(model::toString(pool.config.hashOn.source)) +
                          " key, round robin fallback";
        }
        return index;
    }
    m_isCandidate.assign(pool.instances.size(), 0);
    m_weights.assign(pool.instances.size(), 0.0);
    for (const auto& c : candidates.items) {
        m_isCandidate[c.index] = 1;
        m_weights[c.index] = c.weight;
    }

    // Bounded load: cap_i = ceil(c * (in flight + 1) * w_i / W).
    const double bound = pool.config.consistentHash.boundedLoad;
    double totalActive = 1;
    if (bound > 0) {
        for (const auto& c : candidates.items) {
            totalActive += static_cast<double>(pool.instances[c.index].state->activeRequests.load(std::memory_order_relaxed));
        }
    }
    auto acceptable = [&](std::uint32_t index) {
        if (!m_isCandidate[index]) {
            return false;
        }
        if (bound <= 0) {
            return true;
        }
        const double cap = std::ceil(bound * totalActive * m_weights[index] / candidates.totalWeight);
        return static_cast<double>(pool.instances[index].state->activeRequests.load(std::memory_order_relaxed)) + 1 <= cap;
    };

    const std::uint64_t h = hash64(*value);
    std::size_t chosen = candidates.items.front().index;
    std::size_t walked = 0;
    bool found = false;
    if (m_algorithm == model::HashAlgorithm::Maglev) {
        const std::uint32_t m = kMaglevTableSize;
        for (std::uint32_t step = 0; step < m && !found; ++step, ++walked) {
            const std::uint32_t index = m_maglev[(h + step) % m];
            if (acceptable(index)) {
                chosen = index;
                found = true;
            }
        }
    } else {
        auto start = std::lower_bound(m_ring.begin(), m_ring.end(), std::pair<std::uint64_t, std::uint32_t>(h, 0));
        const std::size_t first = static_cast<std::size_t>(start - m_ring.begin()) % m_ring.size();
        for (std::size_t step = 0; step < m_ring.size() && !found; ++step, ++walked) {
            const std::uint32_t index = m_ring[(first + step) % m_ring.size()].second;
            if (acceptable(index)) {
                chosen = index;
                found = true;
            }
        }
    }
    if (!found) {
        chosen = rendezvous(h, pool, candidates); // everyone is at its cap: least-surprise choice
    }
    if (trace != nullptr) {
        trace->note = std::string("consistent hash (") + std::string(model::toString(m_algorithm)) + ") on " +
                      std::string(model::toString(pool.config.hashOn.source)) +
                      (walked > 1 ? ", walked past " + std::to_string(walked - 1) + " unavailable or full" : "");
    }
    return chosen;
}

} // namespace gaetwae::engine::balancing

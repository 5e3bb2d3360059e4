#pragma once

#include "engine/balancing/candidates.hpp"

#include <cstdint>
#include <utility>
#include <vector>

namespace gaetwae::engine::balancing {

// Consistent hashing on a request key (client IP, header, cookie, query parameter or path):
//  - ring: `virtual_nodes` points per unit of weight (ketama); adding an instance moves about
//    1/N of the keys;
//  - maglev: a 65537-entry lookup table (Google's Maglev), faster lookups and even spread.
// Keys whose instance cannot take traffic walk on to the next one. With bounded_load c > 0 no
// instance takes more than c times its share of the requests in flight (Google's "consistent
// hashing with bounded loads"): hot keys spill over instead of overloading one instance.
// The table is built once per snapshot from every instance, so availability changes do not
// reshuffle keys. Requests without the key fall back to round robin over the candidates.
class ConsistentHashBalancer final : public CandidateBalancer {
public:
    ConsistentHashBalancer(const core::Clock& clock, core::Random& random, const PoolSnapshot& pool);

    // The instance a key maps to when everything is available (for tests and the console).
    std::size_t home(std::uint64_t keyHash) const;

    static constexpr std::uint32_t kMaglevTableSize = 65537;

private:
    std::size_t choose(const PoolSnapshot& pool, const RequestKey& key, const CandidateSet& candidates,
                       PickTrace* trace) override;
    void buildRing(const PoolSnapshot& pool);
    void buildMaglev(const PoolSnapshot& pool);

    model::HashAlgorithm m_algorithm;
    std::vector<std::pair<std::uint64_t, std::uint32_t>> m_ring; // point, instance index (sorted)
    std::vector<std::uint32_t> m_maglev;                         // slot -> instance index
    std::vector<char> m_isCandidate;                             // scratch, by instance index
    std::vector<double> m_weights;                               // scratch, by instance index
    std::size_t m_fallback = 0;
};

} // namespace gaetwae::engine::balancing

#pragma once

#include "engine/balancing/balancer.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gaetwae::engine::balancing {

// A fast 64-bit hash with good avalanche (FNV-1a mixed by the splitmix64 finalizer). Stable across
// processes and restarts, which consistent hashing and sticky cookies rely on.
std::uint64_t hash64(std::string_view data, std::uint64_t seed = 0);
std::uint64_t mix64(std::uint64_t x);

// The value a pool hashes for this request (client IP, a header, a cookie, a query parameter or
// the path), or nullopt when the request does not carry it.
std::optional<std::string_view> hashKey(const model::HashOnConfig& hashOn, const RequestKey& key);

// Cookie and query parameter lookups on raw header/query text.
std::optional<std::string_view> findCookie(std::string_view cookieHeader, std::string_view name);
std::optional<std::string_view> findQueryParameter(std::string_view query, std::string_view name);

// Weighted rendezvous (highest random weight) hashing over the candidates: each key prefers the
// instance maximizing weight / -ln(u(key, instance)). Removing an instance only moves its keys.
std::size_t rendezvous(std::uint64_t keyHash, const PoolSnapshot& pool, const struct CandidateSet& candidates);

} // namespace gaetwae::engine::balancing

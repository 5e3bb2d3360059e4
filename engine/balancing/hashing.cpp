#include "engine/balancing/hashing.hpp"

#include "engine/balancing/candidates.hpp"

#include <cmath>

namespace gaetwae::engine::balancing {

std::uint64_t mix64(std::uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

std::uint64_t hash64(std::string_view data, std::uint64_t seed) {
    std::uint64_t h = 14695981039346656037ULL ^ mix64(seed + 0x9e3779b97f4a7c15ULL);
    for (const char c : data) {
        h ^= static_cast<unsigned char>(c);
        h *= 1099511628211ULL;
    }
    return mix64(h);
}

std::optional<std::string_view> findCookie(std::string_view cookieHeader, std::string_view name) {
    // "a=1; b=2" (RFC 6265 cookie-string)
    while (!cookieHeader.empty()) {
        const auto semicolon = cookieHeader.find(';');
        std::string_view pair = cookieHeader.substr(0, semicolon);
        while (!pair.empty() && pair.front() == ' ') {
            pair.remove_prefix(1);
        }
        const auto equals = pair.find('=');
        if (equals != std::string_view::npos && pair.substr(0, equals) == name) {
            std::string_view value = pair.substr(equals + 1);
            while (!value.empty() && value.back() == ' ') {
                value.remove_suffix(1);
            }
            if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
                value = value.substr(1, value.size() - 2);
            }
            return value;
        }
        if (semicolon == std::string_view::npos) {
            break;
        }
        cookieHeader.remove_prefix(semicolon + 1);
    }
    return std::nullopt;
}

std::optional<std::string_view> findQueryParameter(std::string_view query, std::string_view name) {
    while (!query.empty()) {
        const auto amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        const auto equals = pair.find('=');
        if (pair.substr(0, equals) == name) {
            return equals == std::string_view::npos ? std::string_view() : pair.substr(equals + 1);
        }
        if (amp == std::string_view::npos) {
            break;
        }
        query.remove_prefix(amp + 1);
    }
    return std::nullopt;
}

std::optional<std::string_view> hashKey(const model::HashOnConfig& hashOn, const RequestKey& key) {
    switch (hashOn.source) {
    case model::HashSource::ClientIp:
        return key.clientIp;
    case model::HashSource::Path:
        return key.path;
    case model::HashSource::Query:
        return findQueryParameter(key.query, hashOn.name);
    case model::HashSource::Header:
        return key.headers != nullptr ? key.headers->header(hashOn.name) : std::nullopt;
    case model::HashSource::Cookie:
        if (key.headers != nullptr) {
            if (const auto cookies = key.headers->header("Cookie")) {
                return findCookie(*cookies, hashOn.name);
            }
        }
        return std::nullopt;
    }
    return std::nullopt;
}

std::size_t rendezvous(std::uint64_t keyHash, const PoolSnapshot& pool, const CandidateSet& candidates) {
    std::size_t best = candidates.items.front().index;
    double bestScore = -1;
    for (const auto& c : candidates.items) {
        const std::uint64_t h = mix64(keyHash ^ hash64(pool.instances[c.index].id));
        // u in (0, 1): never 0, so -ln(u) > 0.
        const double u = (static_cast<double>(h >> 11) + 0.5) * 0x1.0p-53;
        const double score = c.weight / -std::log(u);
        if (score > bestScore) {
            bestScore = score;
            best = c.index;
        }
    }
    return best;
}

} // namespace gaetwae::engine::balancing

#pragma once

#include "shared/model/config.hpp"

#include <optional>
#include <string>
#include <string_view>

// The text forms of a route's rate limit fields, shared by the YAML/JSON codec, the validator
// and the console: "100/s" rates and "header:X-API-Key" keys.
namespace gaetwae::model {

inline constexpr std::uint32_t kMaxRateCount = 1'000'000; // tokens per period
inline constexpr std::uint32_t kMaxRateBurst = 1'000'000;

struct Rate {
    std::uint32_t count = 0;
    Duration period{};

    bool operator==(const Rate&) const = default;
};

// "100/s", "60/m", "1000/h" (also "/sec", "/min", "/hour"): a whole count of 1..kMaxRateCount
// per one second, minute or hour. nullopt on anything else ("100/x", "0/s", "1.5/s", "100").
std::optional<Rate> parseRate(std::string_view text);
// The canonical spelling: {100, 1s} -> "100/s".
std::string formatRate(std::uint32_t count, Duration period);

struct RateLimitKey {
    RateLimitKeyKind kind = RateLimitKeyKind::ClientIp;
    std::string name; // header or query parameter name (Header, Query only)
};

// "client_ip", "header:<name>", "query:<name>", "consumer", "route" or "global". nullopt on an unknown kind
// or a header/query kind without a name; `error` then says what is expected.
std::optional<RateLimitKey> parseRateLimitKey(std::string_view text, std::string* error = nullptr);
std::string formatRateLimitKey(RateLimitKeyKind kind, std::string_view name);

} // namespace gaetwae::model

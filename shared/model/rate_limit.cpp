#include "shared/model/rate_limit.hpp"

#include <array>
#include <charconv>
#include <utility>

namespace gaetwae::model {

namespace {

constexpr std::array<std::pair<std::string_view, Duration>, 6> kPeriods{{
    {"s", std::chrono::seconds(1)},
    {"sec", std::chrono::seconds(1)},
    {"m", std::chrono::minutes(1)},
    {"min", std::chrono::minutes(1)},
    {"h", std::chrono::hours(1)},
    {"hour", std::chrono::hours(1)},
}};

constexpr std::string_view kKeyKinds = "client_ip, header:<name>, query:<name>, consumer, route or global";

} // namespace

std::optional<Rate> parseRate(std::string_view text) {
    const auto slash = text.find('/');
    if (slash == std::string_view::npos || slash == 0) {
        return std::nullopt;
    }
    const std::string_view number = text.substr(0, slash);
    const std::string_view unit = text.substr(slash + 1);
    std::uint64_t count = 0;
    const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), count);
    if (ec != std::errc{} || end != number.data() + number.size() || count == 0 || count > kMaxRateCount) {
        return std::nullopt;
    }
    for (const auto& [name, period] : kPeriods) {
        if (name == unit) {
            return Rate{static_cast<std::uint32_t>(count), period};
        }
    }
    return std::nullopt;
}

std::string formatRate(std::uint32_t count, Duration period) {
    std::string_view unit = "s";
    if (period == std::chrono::minutes(1)) {
        unit = "m";
    } else if (period == std::chrono::hours(1)) {
        unit = "h";
    }
    return std::to_string(count) + "/" + std::string(unit);
}

std::optional<RateLimitKey> parseRateLimitKey(std::string_view text, std::string* error) {
    auto fail = [&](std::string message) -> std::optional<RateLimitKey> {
        if (error != nullptr) {
            *error = std::move(message);
        }
        return std::nullopt;
    };
    if (text == "client_ip") {
        return RateLimitKey{RateLimitKeyKind::ClientIp, {}};
    }
    if (text == "route") {
        return RateLimitKey{RateLimitKeyKind::Route, {}};
    }
    if (text == "global") {
        return RateLimitKey{RateLimitKeyKind::Global, {}};
    }
    if (text == "consumer") {
        return RateLimitKey{RateLimitKeyKind::Consumer, {}};
    }
    const auto colon = text.find(':');
    const std::string_view kind = text.substr(0, colon);
    if (colon != std::string_view::npos && (kind == "header" || kind == "query")) {
        const std::string_view name = text.substr(colon + 1);
        if (name.empty()) {
            return fail("'" + std::string(text) + "' names no " + std::string(kind) + ", e.g. " +
                        (kind == "header" ? "header:X-API-Key" : "query:api_key"));
        }
        return RateLimitKey{kind == "header" ? RateLimitKeyKind::Header : RateLimitKeyKind::Query,
                            std::string(name)};
    }
    return fail("unknown key kind '" + std::string(text) + "', expected " + std::string(kKeyKinds));
}

std::string formatRateLimitKey(RateLimitKeyKind kind, std::string_view name) {
    switch (kind) {
    case RateLimitKeyKind::ClientIp:
        return "client_ip";
    case RateLimitKeyKind::Header:
        return "header:" + std::string(name);
    case RateLimitKeyKind::Query:
        return "query:" + std::string(name);
    case RateLimitKeyKind::Route:
        return "route";
    case RateLimitKeyKind::Global:
        return "global";
    case RateLimitKeyKind::Consumer:
        return "consumer";
    }
    return "client_ip";
}

} // namespace gaetwae::model

#pragma once

#include "shared/model/config.hpp"
#include "shared/model/diagnostics.hpp"
#include "shared/model/json_reader.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <string>
#include <string_view>
#include <utility>

// The config of limits shared through Redis and of long-term quotas: the `redis:` section, the
// `backend`/`on_error` fields of a rate limit and a route's `quota:` list. Decoded, encoded and
// validated here so config_codec and config_validation only call in.
namespace gaetwae::model {

inline constexpr std::uint64_t kMaxQuotaLimit = 1'000'000'000'000;

inline constexpr std::array<std::pair<std::string_view, LimitBackend>, 2> kLimitBackendNames{{
    {"local", LimitBackend::Local},
    {"redis", LimitBackend::Redis},
}};
inline constexpr std::array<std::pair<std::string_view, LimitOnError>, 3> kLimitOnErrorNames{{
    {"allow", LimitOnError::Allow},
    {"deny", LimitOnError::Deny},
    {"local", LimitOnError::Local},
}};
inline constexpr std::array<std::pair<std::string_view, QuotaPeriod>, 2> kQuotaPeriodNames{{
    {"day", QuotaPeriod::Day},
    {"month", QuotaPeriod::Month},
}};

std::string_view toString(LimitBackend backend);
std::string_view toString(LimitOnError onError);
std::string_view toString(QuotaPeriod period);

// `backend` and `on_error` of a rate limit (read into / written from `limit`).
void decodeLimitBackend(ObjectReader& r, LimitBackend& backend, LimitOnError& onError);
void encodeLimitBackend(LimitBackend backend, LimitOnError onError, nlohmann::json& out);

QuotaConfig decodeQuota(const nlohmann::json& value, const std::string& pointer, Diagnostics& diagnostics,
                        UnknownKeys unknownKeys);
nlohmann::json encodeQuota(const QuotaConfig& quota);

void decodeRedis(ObjectReader& parent, std::optional<RedisConfig>& redis);
nlohmann::json encodeRedis(const RedisConfig& redis);

// Cross-field rules: a redis backend needs a `redis:` section, its address must parse, quota keys
// must be usable, and a named quota is defined alike on every route that lists it.
void validateDistributedLimits(const GatewayConfig& config, Diagnostics& d);

} // namespace gaetwae::model

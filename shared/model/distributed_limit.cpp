#include "shared/model/distributed_limit.hpp"

#include "shared/model/address.hpp"
#include "shared/model/config_validation.hpp"
#include "shared/model/http_token.hpp"
#include "shared/model/json_reader.hpp"
#include "shared/model/rate_limit.hpp"

#include <map>
#include <set>

namespace gaetwae::model {

namespace {

// The same key rules as rate limits: a header name must be a token, a query name plain.
void validateKey(RateLimitKeyKind kind, const std::string& name, const std::string& pointer, Diagnostics& d) {
    if (kind == RateLimitKeyKind::Header && !isToken(name)) {
        d.error(pointer + "/key", "'" + name + "' is not a valid header name");
    }
    if (kind == RateLimitKeyKind::Query && name.find_first_of("&=#? ") != std::string::npos) {
        d.error(pointer + "/key", "'" + name + "' is not a query parameter name");
    }
}

void requireRedis(const GatewayConfig& config, LimitBackend backend, const std::string& pointer,
                  Diagnostics& d) {
    if (backend == LimitBackend::Redis && !config.redis) {
        d.error(pointer + "/backend",
                "backend: redis needs a top-level redis: section (address of the shared server)");
    }
}

} // namespace

std::string_view toString(LimitBackend backend) {
    return nameOf(backend, kLimitBackendNames);
}

std::string_view toString(LimitOnError onError) {
    return nameOf(onError, kLimitOnErrorNames);
}

std::string_view toString(QuotaPeriod period) {
    return nameOf(period, kQuotaPeriodNames);
}

void decodeLimitBackend(ObjectReader& r, LimitBackend& backend, LimitOnError& onError) {
    r.readEnum<LimitBackend>("backend", backend, kLimitBackendNames);
    r.readEnum<LimitOnError>("on_error", onError, kLimitOnErrorNames);
}

void encodeLimitBackend(LimitBackend backend, LimitOnError onError, nlohmann::json& out) {
    // Defaults are left out, so routes without distributed limits encode as they always did.
    if (backend != LimitBackend::Local) {
        out["backend"] = toString(backend);
    }
    if (onError != LimitOnError::Local) {
        out["on_error"] = toString(onError);
    }
}

QuotaConfig decodeQuota(const nlohmann::json& value, const std::string& pointer, Diagnostics& diagnostics,
                        UnknownKeys unknownKeys) {
    QuotaConfig quota;
    ObjectReader r(value, pointer, diagnostics, unknownKeys);
    if (!r.valid()) {
        return quota;
    }
    r.readString("name", quota.name);
    std::string text;
    if (r.readString("key", text, true)) {
        std::string error;
        if (const auto key = parseRateLimitKey(text, &error)) {
            quota.key = key->kind;
            quota.keyName = key->name;
        } else {
            diagnostics.error(r.pointerOf("key"), error);
        }
    }
    r.readUnsigned<std::uint64_t>("limit", quota.limit, 1, kMaxQuotaLimit, true);
    if (!r.has("period")) {
        diagnostics.error(r.pointerOf("period"), "missing required field (day or month)");
    }
    r.readEnum<QuotaPeriod>("period", quota.period, kQuotaPeriodNames);
    decodeLimitBackend(r, quota.backend, quota.onError);
    r.finish();
    return quota;
}

nlohmann::json encodeQuota(const QuotaConfig& quota) {
    nlohmann::json out = nlohmann::json::object();
    if (!quota.name.empty()) {
        out["name"] = quota.name;
    }
    out["key"] = formatRateLimitKey(quota.key, quota.keyName);
    out["limit"] = quota.limit;
    out["period"] = toString(quota.period);
    encodeLimitBackend(quota.backend, quota.onError, out);
    return out;
}

void decodeRedis(ObjectReader& parent, std::optional<RedisConfig>& redis) {
    RedisConfig decoded;
    const bool present = parent.readObject("redis", [&](ObjectReader& r) {
        r.readString("address", decoded.address);
        r.readString("password_file", decoded.passwordFile);
        r.readUnsigned<std::uint32_t>("db", decoded.db, 0, 1'000'000);
        r.readDuration("connect_timeout", decoded.connectTimeout, std::chrono::milliseconds(1),
                       std::chrono::minutes(1));
        r.readDuration("command_timeout", decoded.commandTimeout, std::chrono::milliseconds(1),
                       std::chrono::minutes(1));
        r.readString("key_prefix", decoded.keyPrefix);
    });
    if (present) {
        redis = std::move(decoded);
    }
}

nlohmann::json encodeRedis(const RedisConfig& redis) {
    nlohmann::json out = nlohmann::json::object();
    out["address"] = redis.address;
    out["password_file"] = redis.passwordFile;
    out["db"] = redis.db;
    out["connect_timeout"] = formatDuration(redis.connectTimeout);
    out["command_timeout"] = formatDuration(redis.commandTimeout);
    out["key_prefix"] = redis.keyPrefix;
    return out;
}

void validateDistributedLimits(const GatewayConfig& config, Diagnostics& d) {
    if (config.redis) {
        std::string error;
        const auto address = parseHostPort(config.redis->address, &error);
        if (!address) {
            d.error("/redis/address", error);
        } else if (address->port == 0) {
            d.error("/redis/address", "the Redis port must not be 0");
        }
        if (config.redis->keyPrefix.size() > 64) {
            d.error("/redis/key_prefix", "must be at most 64 characters");
        }
    }
    std::map<std::string, std::pair<const QuotaConfig*, std::string>>
        named; // name -> first definition, route
    for (std::size_t r = 0; r < config.routes.size(); ++r) {
        const auto& route = config.routes[r];
        const auto routePointer = childPointer("/routes", r);
        for (std::size_t i = 0; i < route.rateLimits.size(); ++i) {
            requireRedis(config, route.rateLimits[i].backend,
                         childPointer(childPointer(routePointer, "rate_limit"), i), d);
        }
        std::set<std::string> namesOnRoute;
        for (std::size_t i = 0; i < route.quotas.size(); ++i) {
            const auto& quota = route.quotas[i];
            const auto pointer = childPointer(childPointer(routePointer, "quota"), i);
            requireRedis(config, quota.backend, pointer, d);
            validateKey(quota.key, quota.keyName, pointer, d);
            if (quota.name.empty()) {
                continue;
            }
            if (!isValidName(quota.name)) {
                d.error(pointer + "/name",
                        "quota name '" + quota.name + "' must be 1-64 characters of A-Z a-z 0-9 . _ -");
                continue;
            }
            if (!namesOnRoute.insert(quota.name).second) {
                d.error(pointer + "/name", "the route lists quota '" + quota.name + "' twice");
                continue;
            }
            const auto [it, inserted] = named.try_emplace(quota.name, &quota, route.name);
            if (!inserted && !(*it->second.first == quota)) {
                d.error(pointer, "quota '" + quota.name + "' is defined differently on route '" +
                                     it->second.second +
                                     "': routes sharing a named quota must define it identically");
            }
        }
    }
}

} // namespace gaetwae::model

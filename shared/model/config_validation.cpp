#include "shared/model/config_validation.hpp"

#include "shared/model/address.hpp"
#include "shared/model/auth_codec.hpp"
#include "shared/model/distributed_limit.hpp"
#include "shared/model/http_token.hpp"
#include "shared/model/transform_codec.hpp"
#include "shared/model/route_rules_codec.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <string>

namespace gaetwae::model {

namespace {

// HTTP/2 over cleartext: a different protocol on the same connection, never tunnelled.
bool isH2c(std::string_view protocol) {
    return std::ranges::equal(protocol, std::string_view("h2c"),
                              [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; });
}

// A host name, or a wildcard as a whole first or last label: "*.example.com", "api.*".
bool isValidHostPattern(std::string_view host) {
    if (host.starts_with("*.")) {
        host.remove_prefix(2);
    } else if (host.ends_with(".*")) {
        host.remove_suffix(2);
    }
    if (host.empty() || host.size() > 253) {
        return false;
    }
    for (const char c : host) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                        c == '.' || c == '_';
        if (!ok) {
            return false;
        }
    }
    return true;
}

void validateListeners(const GatewayConfig& config, Diagnostics& d) {
    if (config.listeners.empty()) {
        d.error("", "at least one listener is required, e.g. listeners: [{address: \"127.0.0.1:8080\"}]");
    }
    std::set<std::string> names;
    std::set<std::pair<std::string, std::uint16_t>> addresses;
    for (std::size_t i = 0; i < config.listeners.size(); ++i) {
        const auto& listener = config.listeners[i];
        const auto pointer = childPointer("/listeners", i);
        std::string error;
        const auto parsed = parseHostPort(listener.address, &error);
        if (!parsed) {
            d.error(pointer + "/address", error);
        } else if (!addresses.insert({parsed->host, parsed->port}).second) {
            d.error(pointer + "/address", "address " + listener.address + " is used by another listener");
        }
        if (!names.insert(listener.name).second) {
            d.error(pointer + "/name", "duplicate listener name '" + listener.name + "'");
        }
        if (listener.tls.enabled()) {
            validateListenerTls(listener.tls, pointer + "/tls", d);
        }
    }
}

void validatePools(const GatewayConfig& config, Diagnostics& d) {
    std::set<std::string> poolNames;
    for (std::size_t p = 0; p < config.pools.size(); ++p) {
        const auto& pool = config.pools[p];
        const auto pointer = childPointer("/pools", p);
        if (!isValidName(pool.name)) {
            d.error(pointer + "/name", "pool name '" + pool.name + "' must be 1-64 characters of A-Z a-z 0-9 . _ -");
        } else if (!poolNames.insert(pool.name).second) {
            d.error(pointer + "/name", "duplicate pool name '" + pool.name + "'");
        }
        validatePoolTls(pool.tls, pointer + "/tls", d);
        std::set<std::string> ids;
        for (std::size_t i = 0; i < pool.instances.size(); ++i) {
            const auto& instance = pool.instances[i];
            const auto instancePointer = childPointer(pointer + "/instances", i);
            if (!isValidName(instance.id)) {
                d.error(instancePointer + "/id",
                        "instance id '" + instance.id + "' must be 1-64 characters of A-Z a-z 0-9 . _ -");
            } else if (!ids.insert(instance.id).second) {
                d.error(instancePointer + "/id",
                        "duplicate instance id '" + instance.id + "' in pool '" + pool.name + "'");
            }
            std::string error;
            const auto address = parseHostPort(instance.address, &error);
            if (!address) {
                d.error(instancePointer + "/address", error);
            } else if (address->port == 0) {
                d.error(instancePointer + "/address", "instance port must not be 0");
            }
            if (instance.weight > kMaxWeight) {
                d.error(instancePointer + "/weight", "must be between 0 and " + std::to_string(kMaxWeight));
            }
        }
    }
}

void validateRoutes(const GatewayConfig& config, Diagnostics& d) {
    std::set<std::string> names;
    for (std::size_t r = 0; r < config.routes.size(); ++r) {
        const auto& route = config.routes[r];
        const auto pointer = childPointer("/routes", r);
        if (!isValidName(route.name)) {
            d.error(pointer + "/name", "route name '" + route.name + "' must be 1-64 characters of A-Z a-z 0-9 . _ -");
        } else if (!names.insert(route.name).second) {
            d.error(pointer + "/name", "duplicate route name '" + route.name + "'");
        }
        if (route.match.pathPrefix.empty() || route.match.pathPrefix.front() != '/') {
            d.error(pointer + "/match/path_prefix", "path prefix must start with '/'");
        }
        for (std::size_t h = 0; h < route.match.hosts.size(); ++h) {
            if (!isValidHostPattern(route.match.hosts[h])) {
                d.error(childPointer(pointer + "/match/hosts", h),
                        "'" + route.match.hosts[h] + "' is not a host name or a wildcard like *.example.com or api.* (no port, scheme or path)");
            }
        }
        for (std::size_t m = 0; m < route.match.methods.size(); ++m) {
            const auto& method = route.match.methods[m];
            bool ok = !method.empty();
            for (const char c : method) {
                ok = ok && isTokenChar(c) && !(c >= 'a' && c <= 'z');
            }
            if (!ok) {
                d.error(childPointer(pointer + "/match/methods", m),
                        "'" + method + "' is not an HTTP method (methods are upper case, e.g. GET)");
            }
        }
        if (!route.redirect && config.findPool(route.pool) == nullptr) {
            d.error(pointer + "/pool", "route refers to unknown pool '" + route.pool + "'");
        }
        if (!route.rewritePrefix.empty() && route.rewritePrefix.front() != '/') {
            d.error(pointer + "/rewrite_prefix", "rewrite prefix must start with '/'");
        }
        if (route.stripPrefix && !route.rewritePrefix.empty()) {
            d.error(pointer + "/rewrite_prefix", "use either strip_prefix or rewrite_prefix, not both");
        }
        for (std::size_t u = 0; u < route.upgrade.size(); ++u) {
            const auto& protocol = route.upgrade[u];
            if (!isToken(protocol)) {
                d.error(childPointer(pointer + "/upgrade", u), "'" + protocol + "' is not an upgrade protocol name");
            } else if (isH2c(protocol)) {
                d.error(childPointer(pointer + "/upgrade", u),
                        "h2c is never tunnelled (the gateway speaks HTTP/1.1 to instances)");
            }
        }
        validateRouteRules(route, pointer, d);
    }
}

// Per limit: key names that can occur in a request; named limiters defined alike everywhere
// (one limiter, one definition) and listed at most once per route (else a request pays twice).
void validateRateLimits(const GatewayConfig& config, Diagnostics& d) {
    std::map<std::string, std::pair<const RateLimitConfig*, std::string>> named; // name -> first definition, route
    for (std::size_t r = 0; r < config.routes.size(); ++r) {
        const auto& route = config.routes[r];
        std::set<std::string> namesOnRoute;
        for (std::size_t i = 0; i < route.rateLimits.size(); ++i) {
            const auto& limit = route.rateLimits[i];
            const auto pointer = childPointer(childPointer(childPointer("/routes", r), "rate_limit"), i);
            if (limit.key == RateLimitKeyKind::Header) {
                if (!isToken(limit.keyName)) {
                    d.error(pointer + "/key", "'" + limit.keyName + "' is not a valid header name");
                }
            }
            if (limit.key == RateLimitKeyKind::Query &&
                limit.keyName.find_first_of("&=#? ") != std::string::npos) {
                d.error(pointer + "/key", "'" + limit.keyName + "' is not a query parameter name");
            }
            if (limit.name.empty()) {
                continue;
            }
            if (!isValidName(limit.name)) {
                d.error(pointer + "/name", "limiter name '" + limit.name + "' must be 1-64 characters of A-Z a-z 0-9 . _ -");
                continue;
            }
            if (!namesOnRoute.insert(limit.name).second) {
                d.error(pointer + "/name", "the route lists limiter '" + limit.name + "' twice");
                continue;
            }
            const auto [it, inserted] = named.try_emplace(limit.name, &limit, route.name);
            if (!inserted && !(*it->second.first == limit)) {
                d.error(pointer, "limiter '" + limit.name + "' is defined differently on route '" + it->second.second +
                                     "': routes sharing a named limiter must define it identically");
            }
        }
    }
}

void validateAdmin(const GatewayConfig& config, Diagnostics& d) {
    const auto& admin = config.admin;
    if (!admin.enabled) {
        return;
    }
    std::string error;
    const auto address = parseHostPort(admin.address, &error);
    if (!address) {
        d.error("/admin/address", error);
    } else if (!isLoopbackHost(address->host) && !admin.allowRemote) {
        d.error("/admin/address", "the admin API binds to loopback only unless allow_remote: true is set "
                                  "(anyone who can reach it and holds the token controls the gateway)");
    } else {
        for (std::size_t i = 0; i < config.listeners.size(); ++i) {
            const auto listener = parseHostPort(config.listeners[i].address);
            if (listener && listener->port != 0 && listener->port == address->port &&
                (listener->host == address->host || listener->host == "0.0.0.0" || listener->host == "::")) {
                d.error("/admin/address", "the admin API cannot share a port with listener " +
                                              config.listeners[i].address);
            }
        }
    }
    for (std::size_t i = 0; i < admin.publicPaths.size(); ++i) {
        const auto& path = admin.publicPaths[i];
        if (path != "/metrics" && path != "/health" && path != "/ready") {
            d.error(childPointer("/admin/public_paths", i), "'" + path + "' is not one of /metrics, /health, /ready");
        }
    }
}

void validateHeaders(const GatewayConfig& config, Diagnostics& d) {
    const auto& name = config.headers.requestIdHeader;
    if (!isToken(name)) {
        d.error("/headers/request_id_header", "'" + name + "' is not a valid header name");
    }
    for (const char c : config.headers.via) {
        if (c < 0x21 || c > 0x7e) {
            d.error("/headers/via", "via pseudonym must be a single token without spaces");
            break;
        }
    }
}

} // namespace

bool isValidName(std::string_view name) {
    if (name.empty() || name.size() > 64) {
        return false;
    }
    for (const char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                        c == '_' || c == '.';
        if (!ok) {
            return false;
        }
    }
    return true;
}

void validateGatewayConfig(const GatewayConfig& config, Diagnostics& diagnostics) {
    validateListeners(config, diagnostics);
    validatePools(config, diagnostics);
    validateRoutes(config, diagnostics);
    validateRateLimits(config, diagnostics);
    validateDistributedLimits(config, diagnostics);
    validateAuth(config, diagnostics);
    validateTransforms(config, diagnostics);
    validateHeaders(config, diagnostics);
    validateAdmin(config, diagnostics);
    if (config.limits.maxUriBytes > config.limits.maxHeaderBytes) {
        diagnostics.error("/limits/max_uri_bytes", "must not exceed max_header_bytes");
    }
}

} // namespace gaetwae::model

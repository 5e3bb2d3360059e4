#include "shared/model/transform_codec.hpp"

#include "shared/model/header_template.hpp"
#include "shared/model/http_token.hpp"

#include <set>

namespace gaetwae::model {

namespace {

// {Name: value, ...}: each value must be a string.
void readHeaderMap(ObjectReader& r, std::string_view key, std::vector<std::pair<std::string, std::string>>& out) {
    r.readStringMap(key, out, "a mapping of header names to values");
}

void decodeHeaderEdits(ObjectReader& parent, std::string_view key, HeaderEditConfig& out) {
    parent.readObject(key, [&](ObjectReader& r) {
        readHeaderMap(r, "set", out.set);
        readHeaderMap(r, "add", out.add);
        r.readStringList("remove", out.remove);
    });
}

nlohmann::json encodeHeaderEdits(const HeaderEditConfig& edits) {
    nlohmann::json out = nlohmann::json::object();
    auto map = [](const std::vector<std::pair<std::string, std::string>>& fields) {
        nlohmann::json object = nlohmann::json::object();
        for (const auto& [name, value] : fields) {
            object[name] = value;
        }
        return object;
    };
    if (!edits.set.empty()) {
        out["set"] = map(edits.set);
    }
    if (!edits.add.empty()) {
        out["add"] = map(edits.add);
    }
    if (!edits.remove.empty()) {
        out["remove"] = edits.remove;
    }
    return out;
}

void validateHeaderName(const std::string& name, const std::string& pointer, std::string_view requestIdHeader,
                        Diagnostics& d) {
    if (!isToken(name)) {
        d.error(pointer, "'" + name + "' is not a valid header name");
    } else if (isGatewayOwnedHeader(name, requestIdHeader)) {
        d.error(pointer, "'" + name +
                             "' is written by the gateway itself (framing, hop-by-hop, Host, Via, "
                             "X-Forwarded-*, the request id) and cannot be changed by a route");
    }
}

void validateHeaderEdits(const HeaderEditConfig& edits, const std::string& pointer,
                         std::string_view requestIdHeader, Diagnostics& d) {
    for (const auto* fields : {&edits.set, &edits.add}) {
        const std::string listPointer = pointer + (fields == &edits.set ? "/set" : "/add");
        for (const auto& [name, value] : *fields) {
            const auto fieldPointer = childPointer(listPointer, name);
            validateHeaderName(name, fieldPointer, requestIdHeader, d);
            std::string error;
            if (!parseHeaderTemplate(value, &error)) {
                d.error(fieldPointer, error);
            }
        }
    }
    for (std::size_t i = 0; i < edits.remove.size(); ++i) {
        const auto& name = edits.remove[i];
        const auto itemPointer = childPointer(pointer + "/remove", i);
        validateHeaderName(name, itemPointer, requestIdHeader, d);
        for (const auto& [setName, value] : edits.set) {
            if (sameFieldName(setName, name)) {
                d.error(itemPointer, "'" + name + "' is both set and removed");
            }
        }
    }
}

// "scheme://host[:port]" with a host of letters, digits, '-', '.', or "scheme://*.host".
bool isValidOriginPattern(std::string_view origin) {
    const auto schemeEnd = origin.find("://");
    if (schemeEnd == std::string_view::npos || schemeEnd == 0) {
        return false;
    }
    for (const char c : origin.substr(0, schemeEnd)) {
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.')) {
            return false;
        }
    }
    std::string_view authority = origin.substr(schemeEnd + 3);
    if (authority.starts_with("*.")) {
        authority.remove_prefix(2);
    }
    if (authority.empty()) {
        return false;
    }
    for (const char c : authority) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
                        c == ':' || c == '[' || c == ']';
        if (!ok) {
            return false; // upper case, a path, a trailing slash, a second wildcard
        }
    }
    return true;
}

void validateCors(const CorsConfig& cors, const std::string& pointer, Diagnostics& d) {
    if (cors.allowOrigins.empty()) {
        d.error(pointer + "/allow_origins",
                "list the allowed origins, e.g. [\"https://app.example.com\"] or [\"*\"]");
    }
    for (std::size_t i = 0; i < cors.allowOrigins.size(); ++i) {
        const auto& origin = cors.allowOrigins[i];
        const auto itemPointer = childPointer(pointer + "/allow_origins", i);
        if (origin == "*") {
            if (cors.allowCredentials) {
                d.error(itemPointer,
                        "'*' cannot be combined with allow_credentials: true (browsers refuse it); "
                        "list the origins instead");
            }
        } else if (!isValidOriginPattern(origin)) {
            d.error(itemPointer, "'" + origin +
                                     "' is not an origin: expected lower-case scheme://host[:port] without "
                                     "a path, optionally scheme://*.domain");
        }
    }
    for (std::size_t i = 0; i < cors.allowMethods.size(); ++i) {
        if (!isToken(cors.allowMethods[i])) {
            d.error(childPointer(pointer + "/allow_methods", i),
                    "'" + cors.allowMethods[i] + "' is not an HTTP method");
        }
    }
    for (const auto* list : {&cors.allowHeaders, &cors.exposeHeaders}) {
        const std::string listPointer =
            pointer + (list == &cors.allowHeaders ? "/allow_headers" : "/expose_headers");
        for (std::size_t i = 0; i < list->size(); ++i) {
            const auto& name = (*list)[i];
            if (name == "*" && cors.allowCredentials) {
                d.error(childPointer(listPointer, i),
                        "'*' is not a wildcard when credentials are allowed; list the names");
            } else if (!isToken(name)) {
                d.error(childPointer(listPointer, i), "'" + name + "' is not a valid header name");
            }
        }
    }
}

void validateCompression(const CompressionConfig& compression, const std::string& pointer, Diagnostics& d) {
    if (compression.enabled && compression.algorithms.empty()) {
        d.error(pointer + "/algorithms", "list at least one of br, gzip (or set enabled: false)");
    }
    std::set<CompressionAlgorithm> seen;
    for (std::size_t i = 0; i < compression.algorithms.size(); ++i) {
        if (!seen.insert(compression.algorithms[i]).second) {
            d.error(childPointer(pointer + "/algorithms", i), "listed twice");
        }
    }
    for (std::size_t i = 0; i < compression.types.size(); ++i) {
        const auto& type = compression.types[i];
        const auto slash = type.find('/');
        const bool ok = slash != std::string::npos && isToken(std::string_view(type).substr(0, slash)) &&
                        isToken(std::string_view(type).substr(slash + 1)) && type.substr(0, slash) != "*";
        if (!ok) {
            d.error(childPointer(pointer + "/types", i), "'" + type +
                                                             "' is not a media type: expected type/subtype "
                                                             "or type/*, e.g. text/* or application/json");
        }
    }
}

} // namespace

std::string_view toString(CompressionAlgorithm algorithm) {
    return nameOf(algorithm, kCompressionAlgorithmNames);
}

bool decodeCompression(ObjectReader& parent, std::optional<CompressionConfig>& out) {
    CompressionConfig compression;
    const bool present = parent.readObject("compression", [&](ObjectReader& r) {
        r.readBool("enabled", compression.enabled);
        std::vector<std::string> names;
        if (r.readStringList("algorithms", names)) {
            compression.algorithms.clear();
            for (std::size_t i = 0; i < names.size(); ++i) {
                bool known = false;
                for (const auto& [name, value] : kCompressionAlgorithmNames) {
                    if (name == names[i]) {
                        compression.algorithms.push_back(value);
                        known = true;
                    }
                }
                if (!known) {
                    r.diagnostics().error(childPointer(r.pointerOf("algorithms"), i),
                                          "unknown algorithm '" + names[i] + "', expected br or gzip");
                }
            }
        }
        r.readSize("min_size", compression.minSize, 0, std::uint64_t{1} << 40);
        r.readStringList("types", compression.types);
        r.readUnsigned<std::uint32_t>("level", compression.level, 1, 9);
    });
    if (present) {
        out = std::move(compression);
    }
    return present;
}

nlohmann::json encodeCompression(const CompressionConfig& compression) {
    nlohmann::json algorithms = nlohmann::json::array();
    for (const auto algorithm : compression.algorithms) {
        algorithms.push_back(toString(algorithm));
    }
    nlohmann::json out = nlohmann::json::object();
    out["enabled"] = compression.enabled;
    out["algorithms"] = algorithms;
    out["min_size"] = formatSize(compression.minSize);
    out["types"] = compression.types;
    out["level"] = compression.level;
    return out;
}

void decodeRouteTransforms(ObjectReader& r, RouteConfig& route) {
    decodeHeaderEdits(r, "request_headers", route.requestHeaders);
    decodeHeaderEdits(r, "response_headers", route.responseHeaders);
    r.readStringList("hide_headers", route.hideHeaders);
    CorsConfig cors;
    if (r.readObject("cors", [&](ObjectReader& c) {
            c.readStringList("allow_origins", cors.allowOrigins);
            c.readStringList("allow_methods", cors.allowMethods);
            c.readStringList("allow_headers", cors.allowHeaders);
            c.readStringList("expose_headers", cors.exposeHeaders);
            c.readBool("allow_credentials", cors.allowCredentials);
            c.readDuration("max_age", cors.maxAge, Duration{0}, std::chrono::hours(24));
        })) {
        route.cors = std::move(cors);
    }
    decodeCompression(r, route.compression);
}

void encodeRouteTransforms(const RouteConfig& route, nlohmann::json& out) {
    if (!route.requestHeaders.empty()) {
        out["request_headers"] = encodeHeaderEdits(route.requestHeaders);
    }
    if (!route.responseHeaders.empty()) {
        out["response_headers"] = encodeHeaderEdits(route.responseHeaders);
    }
    if (!route.hideHeaders.empty()) {
        out["hide_headers"] = route.hideHeaders;
    }
    if (route.cors) {
        const CorsConfig& c = *route.cors;
        nlohmann::json cors = nlohmann::json::object();
        cors["allow_origins"] = c.allowOrigins;
        cors["allow_methods"] = c.allowMethods;
        cors["allow_headers"] = c.allowHeaders;
        cors["expose_headers"] = c.exposeHeaders;
        cors["allow_credentials"] = c.allowCredentials;
        cors["max_age"] = formatDuration(c.maxAge);
        out["cors"] = cors;
    }
    if (route.compression) {
        out["compression"] = encodeCompression(*route.compression);
    }
}

void validateTransforms(const GatewayConfig& config, Diagnostics& d) {
    const std::string_view requestId = config.headers.requestIdHeader;
    for (std::size_t r = 0; r < config.routes.size(); ++r) {
        const auto& route = config.routes[r];
        const auto pointer = childPointer("/routes", r);
        validateHeaderEdits(route.requestHeaders, pointer + "/request_headers", requestId, d);
        validateHeaderEdits(route.responseHeaders, pointer + "/response_headers", requestId, d);
        for (std::size_t i = 0; i < route.hideHeaders.size(); ++i) {
            validateHeaderName(route.hideHeaders[i], childPointer(pointer + "/hide_headers", i), requestId,
                               d);
        }
        if (route.cors) {
            validateCors(*route.cors, pointer + "/cors", d);
        }
        if (route.compression) {
            validateCompression(*route.compression, pointer + "/compression", d);
        }
    }
    if (config.compression) {
        validateCompression(*config.compression, "/compression", d);
    }
}

} // namespace gaetwae::model

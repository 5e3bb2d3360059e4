#include "engine/routing/route_table.hpp"

#include <algorithm>

namespace gaetwae::engine::routing {

namespace {

char lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

} // namespace

Route RouteTable::makeRoute(const model::RouteConfig& config, std::size_t poolIndex) {
    Route route;
    route.name = config.name;
    for (const auto& host : config.match.hosts) {
        std::string normalized;
        normalizeHost(host, normalized);
        route.hosts.push_back(std::move(normalized));
    }
    route.pathPrefix = config.match.pathPrefix;
    route.methods = config.match.methods;
    route.poolIndex = poolIndex;
    route.stripPrefix = config.stripPrefix;
    route.rewritePrefix = config.rewritePrefix;
    route.hasRetry = config.hasRetry;
    route.retry = config.retry;
    return route;
}

const Route* RouteTable::match(std::string_view host, std::string_view path, std::string_view method) const {
    for (const Route& route : m_routes) {
        if (!path.starts_with(route.pathPrefix)) {
            continue;
        }
        if (!route.hosts.empty() && std::find(route.hosts.begin(), route.hosts.end(), host) == route.hosts.end()) {
            continue;
        }
        if (!route.methods.empty() &&
            std::find(route.methods.begin(), route.methods.end(), method) == route.methods.end()) {
            continue;
        }
        return &route;
    }
    return nullptr;
}

void normalizeHost(std::string_view raw, std::string& out) {
    out.clear();
    if (!raw.empty() && raw.front() == '[') {
        const auto close = raw.find(']');
        raw = raw.substr(1, close == std::string_view::npos ? std::string_view::npos : close - 1);
    } else if (const auto colon = raw.rfind(':'); colon != std::string_view::npos) {
        raw = raw.substr(0, colon);
    }
    while (!raw.empty() && raw.back() == '.') {
        raw.remove_suffix(1);
    }
    out.reserve(raw.size());
    for (const char c : raw) {
        out.push_back(lower(c));
    }
}

void rewriteTarget(const Route& route, std::string_view path, std::string_view query, std::string& out) {
    out.clear();
    const std::string_view rest = path.substr(std::min(route.pathPrefix.size(), path.size()));
    if (route.stripPrefix) {
        // The remainder stays an absolute path: "/api/users" and "/api" on prefix "/api" become
        // "/users" and "/".
        if (rest.empty() || rest.front() != '/') {
            out.push_back('/');
        }
        out.append(rest);
    } else if (!route.rewritePrefix.empty()) {
        // Literal replacement of the matched prefix, as Envoy's prefix_rewrite and nginx's proxy_pass.
        out.append(route.rewritePrefix);
        out.append(rest);
    } else {
        out.append(path);
    }
    if (!query.empty()) {
        out.push_back('?');
        out.append(query);
    }
}

} // namespace gaetwae::engine::routing

#pragma once

#include "shared/model/config.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace gaetwae::engine::routing {

struct Route {
    std::string name;
    std::vector<std::string> hosts; // lower case; empty matches any host
    std::string pathPrefix;
    std::vector<std::string> methods; // empty matches any method
    std::size_t poolIndex = 0;
    bool stripPrefix = false;
    std::string rewritePrefix;
    bool hasRetry = false; // overrides the pool's retry policy
    model::RetryConfig retry;
};

// Ordered routes: the first route whose host, path prefix and method all match wins, so specific
// routes go before catch-alls (documented in resources/config/example.yaml).
class RouteTable {
public:
    RouteTable() = default;
    // `poolIndexOf(name)` maps a pool name to its index; names were validated already.
    template <class PoolIndexOf>
    RouteTable(const std::vector<model::RouteConfig>& routes, PoolIndexOf&& poolIndexOf) {
        m_routes.reserve(routes.size());
        for (const auto& config : routes) {
            m_routes.push_back(makeRoute(config, poolIndexOf(config.pool)));
        }
    }

    // `host` must already be normalized (normalizeHost). Returns nullptr when nothing matches.
    const Route* match(std::string_view host, std::string_view path, std::string_view method) const;

    const std::vector<Route>& routes() const { return m_routes; }

private:
    static Route makeRoute(const model::RouteConfig& config, std::size_t poolIndex);

    std::vector<Route> m_routes;
};

// Host header or authority -> lower case, without port and trailing dot ("API.Example.com.:80" ->
// "api.example.com"); bracketed IPv6 literals keep their brackets stripped.
void normalizeHost(std::string_view raw, std::string& out);

// Applies the route's strip/rewrite to `path` and appends `query` ("?..." included when non-empty).
void rewriteTarget(const Route& route, std::string_view path, std::string_view query, std::string& out);

} // namespace gaetwae::engine::routing

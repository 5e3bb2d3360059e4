#pragma once

#include "shared/model/config.hpp"
#include "shared/model/regex.hpp"
#include "shared/model/route_rules_codec.hpp"

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gaetwae::engine::balancing {
class HeaderLookup;
} // namespace gaetwae::engine::balancing

namespace gaetwae::engine::routing {

// A Host condition: exact, any subdomain ("*.example.com": a.example.com and a.b.example.com,
// never example.com itself) or any last labels ("api.*": api.example.com, api.example.org).
struct HostPattern {
    enum class Kind : std::uint8_t { Exact, AnySubdomain, AnySuffix };
    Kind kind = Kind::Exact;
    std::string text; // lower case: "example.com", ".example.com" or "api."

    bool matches(std::string_view host) const;
};

// A header or query condition with its pattern compiled.
struct ValueMatcher {
    std::string name;
    model::ValueMatchKind kind = model::ValueMatchKind::Exact;
    std::string value;
    std::shared_ptr<const model::Regex> regex;
};

enum class PathKind : std::uint8_t { Prefix, Exact, Regex };

struct Route {
    PathKind pathKind = PathKind::Prefix;
    std::string pathPrefix;            // the prefix, or the whole path for PathKind::Exact
    std::vector<HostPattern> hosts;    // empty matches any host
    std::vector<std::string> methods;  // empty matches any method
    std::vector<ValueMatcher> headers; // all must hold; empty: no condition
    std::vector<ValueMatcher> query;
    std::shared_ptr<const model::Regex> pathRegex;
    std::string name;
    std::size_t poolIndex = 0; // meaningless for a redirect
    bool stripPrefix = false;
    std::string rewritePrefix;
    bool hasRewrite = false; // regex rewrite; rewriteRegex null: match.path_regex's groups
    std::shared_ptr<const model::Regex> rewriteRegex;
    std::vector<model::TemplatePiece> rewriteTo;
    bool hasRedirect = false; // answered by the gateway, no pool
    std::uint16_t redirectStatus = 302;
    bool redirectKeepQuery = true;
    std::vector<model::TemplatePiece> redirectTo;
    bool hasRetry = false; // overrides the pool's retry policy
    model::RetryConfig retry;
    // Replace the global timeouts.upstream_* and limits.max_body_bytes when set.
    std::optional<std::chrono::milliseconds> upstreamConnectTimeout;
    std::optional<std::chrono::milliseconds> upstreamResponseTimeout;
    std::optional<std::uint64_t> maxBodyBytes;
};

// The parts of a request routes look at. `host` must already be normalized (normalizeHost).
struct RequestView {
    std::string_view host;
    std::string_view path;
    std::string_view method;
    std::string_view query;                           // without '?'
    const balancing::HeaderLookup* headers = nullptr; // nullptr: no headers
};

// Routes tried by priority (higher first), ties in config order; the first whose every condition
// holds wins (documented in resources/config/example.yaml). Routes keep their config index in
// routes(), which stats and rate limits are indexed by.
class RouteTable {
public:
    RouteTable() = default;
    // `poolIndexOf(name)` maps a pool name to its index; names were validated already (a redirect
    // route has no pool). Patterns were validated too; one that fails to compile anyway makes
    // its route never match.
    template <class PoolIndexOf>
    RouteTable(const std::vector<model::RouteConfig>& routes, PoolIndexOf&& poolIndexOf) {
        m_routes.reserve(routes.size());
        m_paths.reserve(routes.size());
        for (const auto& config : routes) {
            m_routes.push_back(makeRoute(config, config.redirect ? 0 : poolIndexOf(config.pool)));
            m_paths.push_back(PathKey{m_routes.back().pathPrefix, m_routes.back().pathKind});
        }
        const auto order = model::routeEvaluationOrder(routes);
        if (!std::is_sorted(order.begin(), order.end())) {
            m_order.assign(order.begin(), order.end());
        }
    }

    // Returns nullptr when nothing matches. `groups` receives match.path_regex's capture groups
    // of the winning route (count 0 for other routes); `scratch` is the caller's, per thread.
    const Route* match(const RequestView& request, model::RegexScratch& scratch,
                       model::Captures& groups) const;
    // Host, path and method only (tests and tools).
    const Route* match(std::string_view host, std::string_view path, std::string_view method) const;

    const std::vector<Route>& routes() const { return m_routes; }

private:
    static Route makeRoute(const model::RouteConfig& config, std::size_t poolIndex);
    // The first condition of every route, the only one most routes get to: kept apart from the
    // (large) routes so a table of many prefix routes is scanned in few cache lines.
    struct PathKey {
        std::string text; // prefix or exact path; empty for a regex
        PathKind kind = PathKind::Prefix;
    };

    // Path prefix or exact path; a regex path is checked last, by matchesRest.
    static bool pathPasses(const PathKey& key, std::string_view path) {
        return key.kind == PathKind::Prefix ? path.starts_with(key.text)
                                            : key.kind == PathKind::Regex || path == key.text;
    }
    // Every condition after the path prefix or exact path.
    static bool matchesRest(const Route& route, const RequestView& request, model::RegexScratch& scratch,
                            model::Captures& groups);

    std::vector<Route> m_routes;
    std::vector<PathKey> m_paths; // parallel to m_routes
    // Indexes into m_routes in evaluation order; empty when that is config order (no priorities).
    std::vector<std::uint32_t> m_order;
};

// Host header or authority -> lower case, without port and trailing dot ("API.Example.com.:80" ->
// "api.example.com"); bracketed IPv6 literals keep their brackets stripped.
void normalizeHost(std::string_view raw, std::string& out);

// What rewrite and redirect templates can name: $host, $path, $query and $0..$9.
struct TemplateInputs {
    std::string_view host; // normalized
    std::string_view path;
    std::string_view query;                  // without '?'
    const model::Captures* groups = nullptr; // match.path_regex's groups, when it has some
};

// Expands a parsed template; groups that did not participate expand to nothing.
void expandTemplate(const std::vector<model::TemplatePiece>& pieces, const TemplateInputs& inputs,
                    std::string& out);

// The upstream target: the route's regex rewrite, strip_prefix or rewrite_prefix applied to the
// path, then the query ("?..." when non-empty).
void rewriteTarget(const Route& route, const TemplateInputs& inputs, model::RegexScratch& scratch,
                   std::string& out);

// The Location of a redirect route, with the query appended when redirect.keep_query holds.
void redirectLocation(const Route& route, const TemplateInputs& inputs, std::string& out);

} // namespace gaetwae::engine::routing

#pragma once

#include "shared/model/config.hpp"
#include "shared/model/diagnostics.hpp"
#include "shared/model/json_reader.hpp"

#include <nlohmann/json.hpp>

#include <string>

// YAML/JSON form and validation of the routing extensions (route_rules.hpp). config_codec.cpp
// and config_validation.cpp call these, so the file, the admin API and the console agree.
namespace gaetwae::model {

// match.path_exact, path_regex, headers, query (path_prefix and the others stay in config_codec).
void decodeRouteMatchRules(ObjectReader& match, RouteMatch& out);
// priority, rewrite, redirect, timeouts, limits.
void decodeRouteRules(ObjectReader& route, RouteConfig& out);
void encodeRouteMatchRules(const RouteMatch& match, nlohmann::json& out);
void encodeRouteRules(const RouteConfig& route, nlohmann::json& out);

// Patterns compile, templates name existing groups, a route has a pool or a redirect.
void validateRouteRules(const RouteConfig& route, const std::string& pointer, Diagnostics& diagnostics);

// Routes in the order the engine tries them: by priority, higher first; equal priorities keep
// their order in the file. Returns indexes into `routes`.
std::vector<std::size_t> routeEvaluationOrder(const std::vector<RouteConfig>& routes);

// Warnings, not errors: routes that can never match because an earlier route (in evaluation
// order) matches every request they could (a catch-all: path_prefix "/" and no other condition,
// or the very same conditions). Pointers name the shadowed route.
void findShadowedRoutes(const std::vector<RouteConfig>& routes, Diagnostics& warnings);

// Where a new route goes so that it can match: the last position at which no route tried
// before it shadows it (as above), keeping every existing route's precedence over it where
// possible. routes.size() (the end) when no position helps (a higher-priority catch-all).
std::size_t reachableInsertIndex(const std::vector<RouteConfig>& routes, const RouteConfig& route);

} // namespace gaetwae::model

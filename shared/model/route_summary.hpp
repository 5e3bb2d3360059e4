#pragma once

#include "shared/model/config.hpp"

#include <string>

namespace gaetwae::model {

// One-line descriptions of a route for lists (gaetwaed ctl routes, the console's routes table).

// The path condition in nginx notation: "=/exact", "~regex", or the prefix itself.
std::string describePath(const RouteMatch& match);

// Where the route sends requests: its pool, or "redirect 301 https://$host$path" for a route
// the gateway answers itself.
std::string describeDestination(const RouteConfig& route);

} // namespace gaetwae::model

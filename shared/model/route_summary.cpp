#include "shared/model/route_summary.hpp"

namespace gaetwae::model {

std::string describePath(const RouteMatch& match) {
    if (!match.pathExact.empty()) {
        return "=" + match.pathExact;
    }
    if (!match.pathRegex.empty()) {
        return "~" + match.pathRegex;
    }
    return match.pathPrefix;
}

std::string describeDestination(const RouteConfig& route) {
    if (route.redirect) {
        return "redirect " + std::to_string(route.redirect->status) + " " + route.redirect->to;
    }
    return route.pool;
}

} // namespace gaetwae::model

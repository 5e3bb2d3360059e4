#pragma once

#include "engine/policy/compression.hpp"
#include "engine/policy/cors.hpp"
#include "engine/policy/header_transform.hpp"
#include "shared/model/config.hpp"

#include <memory>
#include <optional>
#include <vector>

namespace gaetwae::engine::policy {

// Everything a route does to the messages it carries, compiled once per config snapshot.
struct RouteTransforms {
    HeaderEdits request;  // request_headers
    HeaderEdits response; // response_headers and hide_headers
    std::optional<CorsPolicy> cors;
    std::optional<CompressionPolicy> compression; // the route's, else the document's default; enabled only
};

// By route index; nullptr for a route that transforms nothing, so its requests pay one check.
std::vector<std::shared_ptr<const RouteTransforms>>
compileRouteTransforms(const model::GatewayConfig& config);

} // namespace gaetwae::engine::policy

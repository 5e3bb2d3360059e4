#include "engine/policy/route_transforms.hpp"

namespace gaetwae::engine::policy {

std::vector<std::shared_ptr<const RouteTransforms>>
compileRouteTransforms(const model::GatewayConfig& config) {
    std::vector<std::shared_ptr<const RouteTransforms>> compiled;
    compiled.reserve(config.routes.size());
    for (const auto& route : config.routes) {
        const auto& compression = route.compression ? route.compression : config.compression;
        const bool compresses = compression && compression->enabled;
        if (route.requestHeaders.empty() && route.responseHeaders.empty() && route.hideHeaders.empty() &&
            !route.cors && !compresses) {
            compiled.push_back(nullptr);
            continue;
        }
        auto transforms = std::make_shared<RouteTransforms>();
        transforms->request = HeaderEdits(route.requestHeaders, {});
        transforms->response = HeaderEdits(route.responseHeaders, route.hideHeaders);
        if (route.cors) {
            transforms->cors.emplace(*route.cors);
        }
        if (compresses) {
            transforms->compression.emplace(*compression);
        }
        compiled.push_back(std::move(transforms));
    }
    return compiled;
}

} // namespace gaetwae::engine::policy

#pragma once

#include "shared/model/config.hpp"
#include "shared/model/diagnostics.hpp"
#include "shared/model/json_reader.hpp"

#include <nlohmann/json.hpp>

// The text forms of a route's transformations (transform_config.hpp), called by config_codec.cpp
// and config_validation.cpp, so the YAML file, the admin API's route JSON and the console share them.
namespace gaetwae::model {

// Reads request_headers, response_headers, hide_headers, cors and compression of one route.
void decodeRouteTransforms(ObjectReader& route, RouteConfig& out);
// Writes the same members into a route's JSON object (only those that are set).
void encodeRouteTransforms(const RouteConfig& route, nlohmann::json& out);

// A `compression` member (a route's or the document's default); false when absent.
bool decodeCompression(ObjectReader& parent, std::optional<CompressionConfig>& out);
nlohmann::json encodeCompression(const CompressionConfig& compression);

// Header names, templates, gateway-owned fields, CORS origins and credentials, compression types.
void validateTransforms(const GatewayConfig& config, Diagnostics& diagnostics);

std::string_view toString(CompressionAlgorithm algorithm);

} // namespace gaetwae::model

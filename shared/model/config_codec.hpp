#pragma once

#include "shared/model/config.hpp"
#include "shared/model/diagnostics.hpp"
#include "shared/model/json_reader.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace gaetwae::model {

// JSON <-> GatewayConfig. The YAML loader converts YAML to JSON first, so files and the admin API
// share one decoder and one set of messages. Decoding never throws: it records every problem in
// `diagnostics` (with JSON pointers) and returns what it could read, defaults elsewhere. Call
// validateGatewayConfig() (config_validation.hpp) for the cross-field rules; decodeGatewayConfig
// does so itself.
GatewayConfig decodeGatewayConfig(const nlohmann::json& document, Diagnostics& diagnostics,
                                  UnknownKeys unknownKeys = UnknownKeys::Reject);
PoolConfig decodePool(const nlohmann::json& value, const std::string& pointer, Diagnostics& diagnostics,
                      UnknownKeys unknownKeys);
InstanceConfig decodeInstance(const nlohmann::json& value, const std::string& pointer, Diagnostics& diagnostics,
                              UnknownKeys unknownKeys);
RouteConfig decodeRoute(const nlohmann::json& value, const std::string& pointer, Diagnostics& diagnostics,
                        UnknownKeys unknownKeys);

// Retry policies appear on pools and (as overrides) on routes.
void decodeRetry(ObjectReader& reader, RetryConfig& retry);
nlohmann::json encodeRetry(const RetryConfig& retry);

// Encodes every field explicitly (defaults included) so a saved file documents the live values;
// `extra` members are merged back in.
nlohmann::json encodeGatewayConfig(const GatewayConfig& config);
nlohmann::json encodePool(const PoolConfig& pool);
nlohmann::json encodeInstance(const InstanceConfig& instance);
nlohmann::json encodeRoute(const RouteConfig& route);

} // namespace gaetwae::model

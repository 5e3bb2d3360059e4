#pragma once

#include "shared/model/config.hpp"
#include "shared/model/diagnostics.hpp"

#include <string_view>

namespace gaetwae::model {

inline constexpr std::uint32_t kMaxWeight = 10'000;
inline constexpr std::int64_t kMaxWorkers = 256;

// Cross-field rules over a decoded config: unique names and ids, references that resolve,
// well-formed addresses, paths and methods. Diagnostics point at the offending field with the
// same JSON pointers the decoder uses, so callers can map them to file lines or dialog fields.
void validateGatewayConfig(const GatewayConfig& config, Diagnostics& diagnostics);

// Names and ids appear in metrics labels, URLs of the admin API and logs: keep them tame.
bool isValidName(std::string_view name);

} // namespace gaetwae::model

#pragma once

#include <string_view>

namespace gaetwae::engine::core {

inline constexpr std::string_view kEngineVersion = "0.2.0";

} // namespace gaetwae::engine::core

#pragma once

#include <string_view>

namespace gaetwae::engine::config {

// resources/config/demo.yaml, compiled in, so `gaetwaed --demo` works from any directory.
std::string_view builtinDemoConfig();
inline constexpr std::string_view kBuiltinDemoConfigName = "<built-in demo.yaml>";

} // namespace gaetwae::engine::config

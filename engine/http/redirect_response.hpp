#pragma once

#include "engine/http/header_rules.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace gaetwae::engine::http {

// The head of a redirect the gateway answers itself (routes[].redirect): status line, Location,
// an empty body, the request id and `extraLines` (X-RateLimit-*), "Connection: close" when `close`.
void writeRedirectResponse(std::uint16_t status, std::string_view location, std::string_view requestId,
                           const HeaderPolicy& policy, bool close, std::string_view extraLines,
                           std::string& out);

} // namespace gaetwae::engine::http

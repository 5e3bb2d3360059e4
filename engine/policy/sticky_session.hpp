#pragma once

#include "shared/model/pool_config.hpp"

#include <string>
#include <string_view>

namespace gaetwae::engine::policy {

// The cookie value naming an instance: a stable hash of pool and instance id, so it reveals no
// address, means the same on every engine, and survives restarts and reloads.
std::string stickyCookieValue(std::string_view pool, std::string_view instanceId);

// "Set-Cookie: <name>=<value>; Path=/; Max-Age=..; Secure; HttpOnly; SameSite=Lax\r\n"
std::string stickySetCookieLine(const model::StickyConfig& config, std::string_view value);

} // namespace gaetwae::engine::policy

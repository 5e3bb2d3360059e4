#include "engine/policy/sticky_session.hpp"

#include "engine/balancing/hashing.hpp"

#include <cstdio>

namespace gaetwae::engine::policy {

std::string stickyCookieValue(std::string_view pool, std::string_view instanceId) {
    std::string key(pool);
    key.push_back('\0');
    key.append(instanceId);
    char out[17];
    std::snprintf(out, sizeof out, "%016llx",
                  static_cast<unsigned long long>(balancing::hash64(key, 0x5717c4c0)));
    return out;
}

std::string stickySetCookieLine(const model::StickyConfig& config, std::string_view value) {
    std::string line = "Set-Cookie: " + config.cookieName + "=" + std::string(value) + "; Path=" + config.cookiePath;
    if (config.cookieTtl.count() > 0) {
        line += "; Max-Age=" + std::to_string(std::max<std::int64_t>(1, config.cookieTtl.count() / 1000));
    }
    if (config.secure) {
        line += "; Secure";
    }
    if (config.httpOnly) {
        line += "; HttpOnly";
    }
    if (!config.sameSite.empty()) {
        line += "; SameSite=" + config.sameSite;
    }
    line += "\r\n";
    return line;
}

} // namespace gaetwae::engine::policy

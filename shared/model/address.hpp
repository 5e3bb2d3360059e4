#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gaetwae::model {

// "host:port" as written in the config: an IPv4 literal, a bracketed IPv6 literal or a DNS name.
struct HostPort {
    std::string host; // without brackets
    std::uint16_t port = 0;

    bool operator==(const HostPort&) const = default;
};

// Parses "127.0.0.1:8080", "[::1]:8080" or "backend.local:80". On failure returns nullopt and,
// when `error` is given, says what is wrong in words a config author understands.
std::optional<HostPort> parseHostPort(std::string_view text, std::string* error = nullptr);

// Formats back, bracketing IPv6 literals.
std::string formatHostPort(const HostPort& address);

// True for 127.0.0.0/8, ::1 and "localhost".
bool isLoopbackHost(std::string_view host);

} // namespace gaetwae::model

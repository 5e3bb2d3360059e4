#include "shared/model/address.hpp"

#include <charconv>

namespace gaetwae::model {

namespace {

bool isHostnameChar(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_';
}

bool fail(std::string* error, std::string message) {
    if (error != nullptr) {
        *error = std::move(message);
    }
    return false;
}

bool parsePort(std::string_view text, std::uint16_t& port, std::string* error) {
    if (text.empty()) {
        return fail(error, "missing port after ':'");
    }
    unsigned value = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || ptr != text.data() + text.size()) {
        return fail(error, "port '" + std::string(text) + "' is not a number");
    }
    if (value > 65535) {
        return fail(error, "port " + std::string(text) + " is out of range (0-65535)");
    }
    port = static_cast<std::uint16_t>(value);
    return true;
}

} // namespace

std::optional<HostPort> parseHostPort(std::string_view text, std::string* error) {
    HostPort result;
    if (text.empty()) {
        fail(error, "address is empty, expected host:port");
        return std::nullopt;
    }
    if (text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string_view::npos) {
            fail(error, "IPv6 address is missing ']'");
            return std::nullopt;
        }
        result.host = std::string(text.substr(1, close - 1));
        if (result.host.empty() || result.host.find_first_not_of("0123456789abcdefABCDEF:.") != std::string::npos) {
            fail(error, "'" + result.host + "' is not an IPv6 address");
            return std::nullopt;
        }
        if (close + 1 >= text.size() || text[close + 1] != ':') {
            fail(error, "expected ':port' after the IPv6 address");
            return std::nullopt;
        }
        if (!parsePort(text.substr(close + 2), result.port, error)) {
            return std::nullopt;
        }
        return result;
    }
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
        fail(error, "'" + std::string(text) + "' has no port, expected host:port");
        return std::nullopt;
    }
    if (text.substr(0, colon).find(':') != std::string_view::npos) {
        fail(error, "IPv6 addresses must be bracketed, e.g. [::1]:8080");
        return std::nullopt;
    }
    result.host = std::string(text.substr(0, colon));
    if (result.host.empty()) {
        fail(error, "missing host before ':'");
        return std::nullopt;
    }
    for (const char c : result.host) {
        if (!isHostnameChar(c)) {
            fail(error, "host '" + result.host + "' contains an invalid character");
            return std::nullopt;
        }
    }
    if (!parsePort(text.substr(colon + 1), result.port, error)) {
        return std::nullopt;
    }
    return result;
}

std::string formatHostPort(const HostPort& address) {
    if (address.host.find(':') != std::string::npos) {
        return "[" + address.host + "]:" + std::to_string(address.port);
    }
    return address.host + ":" + std::to_string(address.port);
}

bool isLoopbackHost(std::string_view host) {
    return host == "localhost" || host == "::1" || host.starts_with("127.");
}

} // namespace gaetwae::model

#pragma once

#include <algorithm>
#include <string_view>

namespace gaetwae::model {

// RFC 9110 5.6.2 tchar: what methods and header field names are made of.
constexpr bool isTokenChar(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// A method or header field name: one or more token characters.
constexpr bool isToken(std::string_view text) {
    return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return isTokenChar(c); });
}

// `text` without leading and trailing spaces and tabs (RFC 9110 5.6.3 OWS).
constexpr std::string_view trimOws(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
        text.remove_prefix(1);
    }
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
        text.remove_suffix(1);
    }
    return text;
}

} // namespace gaetwae::model

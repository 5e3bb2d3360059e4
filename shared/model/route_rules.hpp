#pragma once

#include "shared/model/units.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// The routing extensions of a route: header and query matchers, regex rewrites, redirects and
// per-route timeouts and limits (config.hpp holds them in RouteMatch and RouteConfig).
namespace gaetwae::model {

enum class ValueMatchKind {
    Exact,   // the value equals `value` (case-sensitive)
    Regex,   // `value` is a PCRE2 pattern found in the value
    Present, // the header or parameter occurs, any value
    Absent,  // it does not occur
};

// One condition on a request header (name compared case-insensitively) or query parameter.
struct ValueMatch {
    std::string name;
    ValueMatchKind kind = ValueMatchKind::Exact;
    std::string value;

    bool operator==(const ValueMatch&) const = default;
};

// Regex rewrite of the upstream path; the query is kept. An empty `regex` reuses the captures
// of match.path_regex. A path the regex does not match goes upstream unchanged.
struct RewriteConfig {
    std::string regex;
    std::string replacement; // "/v$1/$2": $0..$9 groups, $host, $path, $query, $$ a dollar

    bool operator==(const RewriteConfig&) const = default;
};

// Answered by the gateway itself, without a pool.
struct RedirectConfig {
    std::string to;             // Location template, same variables as RewriteConfig::replacement
    std::uint16_t status = 302; // 301, 302, 303, 307 or 308
    bool keepQuery = true;      // append the request's query (with '&' when `to` has one already)

    bool operator==(const RedirectConfig&) const = default;
};

inline constexpr std::int32_t kMaxRoutePriority = 1'000'000;

// A piece of a rewrite or redirect template.
struct TemplatePiece {
    enum class Kind { Literal, Group, Host, Path, Query };
    Kind kind = Kind::Literal;
    std::string literal;
    std::uint32_t group = 0;

    bool operator==(const TemplatePiece&) const = default;
};

// Splits "https://$host/v$1$path" into pieces; false with an explanation on a '$' that names
// nothing ("$x", a lone trailing '$'). `highestGroup` receives the largest $N used (or -1).
bool parseTemplate(std::string_view text, std::vector<TemplatePiece>& pieces, int& highestGroup,
                   std::string& error);

} // namespace gaetwae::model

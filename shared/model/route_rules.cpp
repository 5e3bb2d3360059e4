#include "shared/model/route_rules.hpp"
#include "shared/model/route_rules_codec.hpp"

#include "shared/model/http_token.hpp"
#include "shared/model/regex.hpp"

#include <algorithm>
#include <array>
#include <numeric>

namespace gaetwae::model {

namespace {

constexpr Duration kMaxRouteTimeout = std::chrono::hours(24);
constexpr std::array<std::uint16_t, 5> kRedirectStatuses{301, 302, 303, 307, 308};

// "2" and 2 alike: YAML turns an unquoted `X-API-Version: 2` into a number.
std::optional<std::string> scalarText(const nlohmann::json& value) {
    if (value.is_string()) {
        return value.get<std::string>();
    }
    if (value.is_number_integer() || value.is_boolean()) {
        return value.dump();
    }
    return std::nullopt;
}

// headers: {Name: "exact", Other: {regex: "..."}, Flag: {present: true}}; query alike.
void decodeValueMatches(ObjectReader& parent, std::string_view key, std::vector<ValueMatch>& out) {
    const nlohmann::json* value = parent.member(key);
    if (value == nullptr) {
        return;
    }
    ObjectReader items(*value, parent.pointerOf(key), parent.diagnostics());
    if (!items.valid()) {
        return;
    }
    out.clear();
    for (const auto& [name, item] : value->items()) {
        ValueMatch match;
        match.name = name;
        if (const auto text = scalarText(item)) {
            items.member(name);
            match.value = *text;
            out.push_back(std::move(match));
            continue;
        }
        if (!item.is_object()) {
            items.member(name);
            items.diagnostics().error(
                items.pointerOf(name),
                "expected a value, or one of {exact: ...}, {regex: ...}, {present: true|false}");
            continue;
        }
        items.readObject(name, [&](ObjectReader& m) {
            int kinds = 0;
            if (const nlohmann::json* exact = m.member("exact")) {
                ++kinds;
                if (const auto text = scalarText(*exact)) {
                    match.value = *text;
                } else {
                    m.diagnostics().error(m.pointerOf("exact"), "expected a string");
                }
            }
            if (m.has("regex")) {
                ++kinds;
                match.kind = ValueMatchKind::Regex;
                m.readString("regex", match.value);
            }
            if (m.has("present")) {
                ++kinds;
                bool present = true;
                m.readBool("present", present);
                match.kind = present ? ValueMatchKind::Present : ValueMatchKind::Absent;
            }
            if (kinds != 1) {
                m.diagnostics().error(m.pointer(), "give exactly one of exact, regex, present");
            }
        });
        out.push_back(std::move(match));
    }
    items.finish();
}

nlohmann::json encodeValueMatches(const std::vector<ValueMatch>& matches) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& match : matches) {
        switch (match.kind) {
        case ValueMatchKind::Exact:
            out[match.name] = match.value;
            break;
        case ValueMatchKind::Regex:
            out[match.name] = nlohmann::json{{"regex", match.value}};
            break;
        case ValueMatchKind::Present:
            out[match.name] = nlohmann::json{{"present", true}};
            break;
        case ValueMatchKind::Absent:
            out[match.name] = nlohmann::json{{"present", false}};
            break;
        }
    }
    return out;
}

// Compiles `pattern` for validation; its group count, or nullopt after reporting the problem.
std::optional<std::uint32_t> checkPattern(const std::string& pattern, const std::string& pointer,
                                          Diagnostics& d) {
    std::string error;
    const auto regex = Regex::compile(pattern, error);
    if (!regex) {
        d.error(pointer, "invalid regular expression '" + pattern + "': " + error);
        return std::nullopt;
    }
    return regex->captureCount();
}

void checkValueMatches(const std::vector<ValueMatch>& matches, bool headers, const std::string& pointer,
                       Diagnostics& d) {
    for (const auto& match : matches) {
        const auto itemPointer = childPointer(pointer, match.name);
        if (headers && !isToken(match.name)) {
            d.error(itemPointer, "'" + match.name + "' is not a valid header name", true);
        }
        if (!headers && (match.name.empty() || match.name.find_first_of("&=#? ") != std::string::npos)) {
            d.error(itemPointer, "'" + match.name + "' is not a query parameter name", true);
        }
        if (match.kind == ValueMatchKind::Regex) {
            checkPattern(match.value, itemPointer + "/regex", d);
        }
    }
}

// A template's $N must exist in the regex it takes its groups from (`groups`: nullopt when none).
void checkTemplate(const std::string& text, std::optional<std::uint32_t> groups, std::string_view groupSource,
                   const std::string& pointer, Diagnostics& d) {
    std::vector<TemplatePiece> pieces;
    int highest = -1;
    std::string error;
    if (!parseTemplate(text, pieces, highest, error)) {
        d.error(pointer, error);
        return;
    }
    for (const char c : text) {
        if (static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) > 0x7e) {
            d.error(pointer, "must not contain spaces or control characters");
            return;
        }
    }
    if (highest > 0 && !groups) {
        d.error(pointer, "$" + std::to_string(highest) + " needs a regex with capture groups (" +
                             std::string(groupSource) + ")");
    } else if (highest > 0 && static_cast<std::uint32_t>(highest) > *groups) {
        d.error(pointer, "$" + std::to_string(highest) + " refers to a capture group that " +
                             std::string(groupSource) + " does not have (it has " + std::to_string(*groups) +
                             ")");
    }
}

bool isCatchAll(const RouteMatch& match) {
    return match.pathPrefix == "/" && match.pathExact.empty() && match.pathRegex.empty() &&
           match.hosts.empty() && match.methods.empty() && match.headers.empty() && match.query.empty();
}

} // namespace

bool parseTemplate(std::string_view text, std::vector<TemplatePiece>& pieces, int& highestGroup,
                   std::string& error) {
    pieces.clear();
    highestGroup = -1;
    auto literal = [&pieces](std::string_view chars) {
        if (pieces.empty() || pieces.back().kind != TemplatePiece::Kind::Literal) {
            pieces.push_back({});
        }
        pieces.back().literal.append(chars);
    };
    for (std::size_t i = 0; i < text.size();) {
        const auto dollar = text.find('$', i);
        if (dollar != i) {
            literal(text.substr(i, dollar == std::string_view::npos ? std::string_view::npos : dollar - i));
            if (dollar == std::string_view::npos) {
                break;
            }
        }
        i = dollar + 1;
        if (i < text.size() && text[i] == '$') {
            literal("$");
            ++i;
            continue;
        }
        // "$1", "$host", or braced: "${1}", "${host}" (to be followed directly by letters or digits).
        const bool braced = i < text.size() && text[i] == '{';
        std::string_view name;
        if (braced) {
            const auto close = text.find('}', i);
            if (close == std::string_view::npos) {
                error = "'${' without a closing '}'";
                return false;
            }
            name = text.substr(i + 1, close - i - 1);
            i = close + 1;
        } else if (i < text.size() && text[i] >= '0' && text[i] <= '9') {
            name = text.substr(i, 1);
            ++i;
        } else {
            std::size_t end = i;
            while (end < text.size() && ((text[end] >= 'a' && text[end] <= 'z') || text[end] == '_')) {
                ++end;
            }
            name = text.substr(i, end - i);
            i = end;
        }
        TemplatePiece piece;
        if (name.size() == 1 && name[0] >= '0' && name[0] <= '9') {
            piece.kind = TemplatePiece::Kind::Group;
            piece.group = static_cast<std::uint32_t>(name[0] - '0');
            highestGroup = std::max(highestGroup, static_cast<int>(piece.group));
        } else if (name == "host") {
            piece.kind = TemplatePiece::Kind::Host;
        } else if (name == "path") {
            piece.kind = TemplatePiece::Kind::Path;
        } else if (name == "query") {
            piece.kind = TemplatePiece::Kind::Query;
        } else {
            error = "unknown variable '$" + std::string(name) +
                    "': use $0..$9, $host, $path, $query, or $$ for a dollar";
            return false;
        }
        pieces.push_back(std::move(piece));
    }
    return true;
}

void decodeRouteMatchRules(ObjectReader& m, RouteMatch& out) {
    m.readString("path_exact", out.pathExact);
    m.readString("path_regex", out.pathRegex);
    const int pathKinds = static_cast<int>(m.has("path_prefix")) + static_cast<int>(m.has("path_exact")) +
                          static_cast<int>(m.has("path_regex"));
    if (pathKinds > 1) {
        m.diagnostics().error(m.pointer(), "use one of path_prefix, path_exact and path_regex");
    }
    decodeValueMatches(m, "headers", out.headers);
    decodeValueMatches(m, "query", out.query);
}

void decodeRouteRules(ObjectReader& r, RouteConfig& out) {
    std::int64_t priority = out.priority;
    if (r.readInteger("priority", priority, -kMaxRoutePriority, kMaxRoutePriority)) {
        out.priority = static_cast<std::int32_t>(priority);
    }
    r.readObject("rewrite", [&](ObjectReader& w) {
        RewriteConfig rewrite;
        w.readString("regex", rewrite.regex);
        w.readString("replacement", rewrite.replacement, true);
        out.rewrite = std::move(rewrite);
    });
    r.readObject("redirect", [&](ObjectReader& w) {
        RedirectConfig redirect;
        w.readString("to", redirect.to, true);
        if (w.readUnsigned<std::uint16_t>("status", redirect.status, 300, 399) &&
            std::find(kRedirectStatuses.begin(), kRedirectStatuses.end(), redirect.status) ==
                kRedirectStatuses.end()) {
            w.diagnostics().error(w.pointerOf("status"), "redirect status must be 301, 302, 303, 307 or 308");
        }
        w.readBool("keep_query", redirect.keepQuery);
        out.redirect = std::move(redirect);
    });
    r.readObject("timeouts", [&](ObjectReader& t) {
        Duration value{};
        if (t.readDuration("upstream_connect", value, Duration(1), kMaxRouteTimeout)) {
            out.upstreamConnectTimeout = value;
        }
        if (t.readDuration("upstream_response", value, Duration(1), kMaxRouteTimeout)) {
            out.upstreamResponseTimeout = value;
        }
    });
    r.readObject("limits", [&](ObjectReader& l) {
        std::uint64_t value = 0;
        if (l.readSize("max_body_bytes", value, 0, std::uint64_t{1} << 50)) {
            out.maxBodyBytes = value;
        }
    });
}

void encodeRouteMatchRules(const RouteMatch& match, nlohmann::json& out) {
    if (!match.pathExact.empty()) {
        out.erase("path_prefix");
        out["path_exact"] = match.pathExact;
    } else if (!match.pathRegex.empty()) {
        out.erase("path_prefix");
        out["path_regex"] = match.pathRegex;
    }
    if (!match.headers.empty()) {
        out["headers"] = encodeValueMatches(match.headers);
    }
    if (!match.query.empty()) {
        out["query"] = encodeValueMatches(match.query);
    }
}

void encodeRouteRules(const RouteConfig& route, nlohmann::json& out) {
    if (route.priority != 0) {
        out["priority"] = route.priority;
    }
    if (route.rewrite) {
        nlohmann::json rewrite = nlohmann::json::object();
        if (!route.rewrite->regex.empty()) {
            rewrite["regex"] = route.rewrite->regex;
        }
        rewrite["replacement"] = route.rewrite->replacement;
        out["rewrite"] = std::move(rewrite);
    }
    if (route.redirect) {
        out.erase("pool");
        nlohmann::json redirect = nlohmann::json::object();
        redirect["to"] = route.redirect->to;
        redirect["status"] = route.redirect->status;
        redirect["keep_query"] = route.redirect->keepQuery;
        out["redirect"] = std::move(redirect);
    }
    if (route.upstreamConnectTimeout || route.upstreamResponseTimeout) {
        nlohmann::json timeouts = nlohmann::json::object();
        if (route.upstreamConnectTimeout) {
            timeouts["upstream_connect"] = formatDuration(*route.upstreamConnectTimeout);
        }
        if (route.upstreamResponseTimeout) {
            timeouts["upstream_response"] = formatDuration(*route.upstreamResponseTimeout);
        }
        out["timeouts"] = std::move(timeouts);
    }
    if (route.maxBodyBytes) {
        nlohmann::json limits = nlohmann::json::object();
        limits["max_body_bytes"] = formatSize(*route.maxBodyBytes);
        out["limits"] = std::move(limits);
    }
}

void validateRouteRules(const RouteConfig& route, const std::string& pointer, Diagnostics& d) {
    const auto& match = route.match;
    const auto matchPointer = pointer + "/match";
    if (!match.pathExact.empty() && match.pathExact.front() != '/') {
        d.error(matchPointer + "/path_exact", "path must start with '/'");
    }
    std::optional<std::uint32_t> pathGroups;
    if (!match.pathRegex.empty()) {
        pathGroups = checkPattern(match.pathRegex, matchPointer + "/path_regex", d);
    }
    if (!match.pathRegex.empty() && (route.stripPrefix || !route.rewritePrefix.empty())) {
        d.error(matchPointer + "/path_regex",
                "strip_prefix and rewrite_prefix need a path_prefix; use rewrite");
    }
    checkValueMatches(match.headers, true, matchPointer + "/headers", d);
    checkValueMatches(match.query, false, matchPointer + "/query", d);

    if (route.rewrite) {
        const auto rewritePointer = pointer + "/rewrite";
        std::optional<std::uint32_t> groups = pathGroups;
        std::string_view source = "match.path_regex";
        if (!route.rewrite->regex.empty()) {
            groups = checkPattern(route.rewrite->regex, rewritePointer + "/regex", d);
            source = "rewrite.regex";
        } else if (match.pathRegex.empty()) {
            d.error(rewritePointer + "/regex",
                    "a rewrite needs a regex, or match.path_regex to take its capture groups from");
        }
        if (route.rewrite->replacement.empty() ||
            (route.rewrite->replacement.front() != '/' && route.rewrite->replacement.front() != '$')) {
            d.error(rewritePointer + "/replacement",
                    "the replacement must be a path (start with '/' or a $variable)");
        } else {
            checkTemplate(route.rewrite->replacement, groups, source, rewritePointer + "/replacement", d);
        }
        if (route.stripPrefix || !route.rewritePrefix.empty()) {
            d.error(rewritePointer, "use either rewrite or strip_prefix / rewrite_prefix, not both");
        }
    }
    if (route.redirect) {
        const auto redirectPointer = pointer + "/redirect";
        if (route.redirect->to.empty()) {
            d.error(redirectPointer + "/to", "the redirect target must not be empty");
        } else {
            checkTemplate(route.redirect->to, pathGroups, "match.path_regex", redirectPointer + "/to", d);
        }
        if (!route.pool.empty()) {
            d.error(pointer + "/pool", "a route has either a pool or a redirect, not both");
        }
        if (route.rewrite || route.stripPrefix || !route.rewritePrefix.empty()) {
            d.error(redirectPointer,
                    "a redirect is answered by the gateway: rewrite, strip_prefix and rewrite_prefix "
                    "do not apply");
        }
    }
}

std::vector<std::size_t> routeEvaluationOrder(const std::vector<RouteConfig>& routes) {
    std::vector<std::size_t> order(routes.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return routes[a].priority > routes[b].priority; });
    return order;
}

void findShadowedRoutes(const std::vector<RouteConfig>& routes, Diagnostics& warnings) {
    const auto order = routeEvaluationOrder(routes);
    for (std::size_t i = 1; i < order.size(); ++i) {
        const RouteConfig& route = routes[order[i]];
        for (std::size_t j = 0; j < i; ++j) {
            const RouteConfig& earlier = routes[order[j]];
            if (isCatchAll(earlier.match) || earlier.match == route.match) {
                warnings.error(childPointer("/routes", order[i]),
                               "route '" + route.name + "' can never match: route '" + earlier.name +
                                   "' is tried before it and matches every request it would");
                break;
            }
        }
    }
}

std::size_t reachableInsertIndex(const std::vector<RouteConfig>& routes, const RouteConfig& route) {
    std::vector<RouteConfig> candidate = routes;
    candidate.push_back(route);
    for (std::size_t at = routes.size() + 1; at-- > 0;) {
        if (at < routes.size()) {
            std::swap(candidate[at], candidate[at + 1]); // move the new route one place forward
        }
        Diagnostics warnings;
        findShadowedRoutes(candidate, warnings);
        const std::string pointer = childPointer("/routes", at);
        const bool shadowed = std::any_of(warnings.items().begin(), warnings.items().end(),
                                          [&](const Diagnostic& d) { return d.pointer == pointer; });
        if (!shadowed) {
            return at;
        }
    }
    return routes.size();
}

} // namespace gaetwae::model

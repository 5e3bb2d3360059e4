#include "engine/routing/route_table.hpp"

#include "engine/balancing/balancer.hpp"
#include "engine/balancing/hashing.hpp"

#include <algorithm>

namespace gaetwae::engine::routing {

namespace {

char lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

HostPattern makeHostPattern(std::string_view text) {
    HostPattern pattern;
    if (text.starts_with("*.")) {
        pattern.kind = HostPattern::Kind::AnySubdomain;
        normalizeHost(text.substr(1), pattern.text); // keeps the leading dot: ".example.com"
    } else if (text.ends_with(".*")) {
        pattern.kind = HostPattern::Kind::AnySuffix;
        normalizeHost(text.substr(0, text.size() - 1), pattern.text); // "api." (trailing dot stripped)
        pattern.text.push_back('.');
    } else {
        normalizeHost(text, pattern.text);
    }
    return pattern;
}

std::shared_ptr<const model::Regex> compile(const std::string& pattern) {
    std::string error;
    return model::Regex::compile(pattern, error);
}

std::vector<ValueMatcher> makeMatchers(const std::vector<model::ValueMatch>& matches) {
    std::vector<ValueMatcher> out;
    for (const auto& match : matches) {
        ValueMatcher matcher{match.name, match.kind, match.value, nullptr};
        if (match.kind == model::ValueMatchKind::Regex) {
            matcher.regex = compile(match.value);
        }
        out.push_back(std::move(matcher));
    }
    return out;
}

std::vector<model::TemplatePiece> makeTemplate(const std::string& text) {
    std::vector<model::TemplatePiece> pieces;
    int highest = -1;
    std::string error;
    model::parseTemplate(text, pieces, highest, error); // validated: cannot fail
    return pieces;
}

// One header or query condition on a value that is present (`value`) or not (nullopt).
bool holds(const ValueMatcher& matcher, std::optional<std::string_view> value, model::RegexScratch& scratch) {
    switch (matcher.kind) {
    case model::ValueMatchKind::Exact:
        return value && *value == matcher.value;
    case model::ValueMatchKind::Regex:
        return value && matcher.regex && matcher.regex->search(*value, scratch);
    case model::ValueMatchKind::Present:
        return value.has_value();
    case model::ValueMatchKind::Absent:
        return !value.has_value();
    }
    return false;
}

} // namespace

bool HostPattern::matches(std::string_view host) const {
    switch (kind) {
    case Kind::Exact:
        return host == text;
    case Kind::AnySubdomain:
        return host.size() > text.size() && host.ends_with(text);
    case Kind::AnySuffix:
        return host.size() > text.size() && host.starts_with(text);
    }
    return false;
}

Route RouteTable::makeRoute(const model::RouteConfig& config, std::size_t poolIndex) {
    Route route;
    route.name = config.name;
    for (const auto& host : config.match.hosts) {
        route.hosts.push_back(makeHostPattern(host));
    }
    if (!config.match.pathExact.empty()) {
        route.pathKind = PathKind::Exact;
        route.pathPrefix = config.match.pathExact;
    } else if (!config.match.pathRegex.empty()) {
        route.pathKind = PathKind::Regex;
        route.pathRegex = compile(config.match.pathRegex);
    } else {
        route.pathPrefix = config.match.pathPrefix;
    }
    route.methods = config.match.methods;
    route.headers = makeMatchers(config.match.headers);
    route.query = makeMatchers(config.match.query);
    route.poolIndex = poolIndex;
    route.stripPrefix = config.stripPrefix;
    route.rewritePrefix = config.rewritePrefix;
    if (config.rewrite) {
        route.hasRewrite = true;
        if (!config.rewrite->regex.empty()) {
            route.rewriteRegex = compile(config.rewrite->regex);
        }
        route.rewriteTo = makeTemplate(config.rewrite->replacement);
    }
    if (config.redirect) {
        route.hasRedirect = true;
        route.redirectStatus = config.redirect->status;
        route.redirectKeepQuery = config.redirect->keepQuery;
        route.redirectTo = makeTemplate(config.redirect->to);
    }
    route.hasRetry = config.hasRetry;
    route.retry = config.retry;
    route.upstreamConnectTimeout = config.upstreamConnectTimeout;
    route.upstreamResponseTimeout = config.upstreamResponseTimeout;
    route.maxBodyBytes = config.maxBodyBytes;
    return route;
}

const Route* RouteTable::match(const RequestView& request, model::RegexScratch& scratch,
                               model::Captures& groups) const {
    groups.count = 0;
    if (m_order.empty()) {
        for (std::size_t i = 0; i < m_routes.size(); ++i) {
            if (pathPasses(m_paths[i], request.path) && matchesRest(m_routes[i], request, scratch, groups)) {
                return &m_routes[i];
            }
        }
        return nullptr;
    }
    for (const std::uint32_t i : m_order) {
        if (pathPasses(m_paths[i], request.path) && matchesRest(m_routes[i], request, scratch, groups)) {
            return &m_routes[i];
        }
    }
    return nullptr;
}

bool RouteTable::matchesRest(const Route& route, const RequestView& request, model::RegexScratch& scratch,
                             model::Captures& groups) {
    // Cheap conditions first; a path regex runs only once everything else holds.
    if (!route.hosts.empty() &&
        std::none_of(route.hosts.begin(), route.hosts.end(),
                     [&](const HostPattern& pattern) { return pattern.matches(request.host); })) {
        return false;
    }
    if (!route.methods.empty() &&
        std::find(route.methods.begin(), route.methods.end(), request.method) == route.methods.end()) {
        return false;
    }
    if (!route.headers.empty() &&
        !std::all_of(route.headers.begin(), route.headers.end(), [&](const ValueMatcher& matcher) {
            const auto value =
                request.headers != nullptr ? request.headers->header(matcher.name) : std::nullopt;
            return holds(matcher, value, scratch);
        })) {
        return false;
    }
    if (!route.query.empty() &&
        !std::all_of(route.query.begin(), route.query.end(), [&](const ValueMatcher& matcher) {
            return holds(matcher, balancing::findQueryParameter(request.query, matcher.name), scratch);
        })) {
        return false;
    }
    if (route.pathKind == PathKind::Regex &&
        (!route.pathRegex || !route.pathRegex->search(request.path, scratch, &groups))) {
        groups.count = 0;
        return false;
    }
    return true;
}

const Route* RouteTable::match(std::string_view host, std::string_view path, std::string_view method) const {
    model::RegexScratch scratch;
    model::Captures groups;
    return match(RequestView{host, path, method, {}, nullptr}, scratch, groups);
}

void normalizeHost(std::string_view raw, std::string& out) {
    out.clear();
    if (!raw.empty() && raw.front() == '[') {
        const auto close = raw.find(']');
        raw = raw.substr(1, close == std::string_view::npos ? std::string_view::npos : close - 1);
    } else if (const auto colon = raw.rfind(':'); colon != std::string_view::npos) {
        raw = raw.substr(0, colon);
    }
    while (!raw.empty() && raw.back() == '.') {
        raw.remove_suffix(1);
    }
    out.reserve(raw.size());
    for (const char c : raw) {
        out.push_back(lower(c));
    }
}

void expandTemplate(const std::vector<model::TemplatePiece>& pieces, const TemplateInputs& inputs,
                    std::string& out) {
    using Kind = model::TemplatePiece::Kind;
    for (const auto& piece : pieces) {
        switch (piece.kind) {
        case Kind::Literal:
            out.append(piece.literal);
            break;
        case Kind::Group:
            if (inputs.groups != nullptr) {
                out.append(inputs.groups->group(piece.group));
            }
            break;
        case Kind::Host:
            out.append(inputs.host);
            break;
        case Kind::Path:
            out.append(inputs.path);
            break;
        case Kind::Query:
            out.append(inputs.query);
            break;
        }
    }
}

void rewriteTarget(const Route& route, const TemplateInputs& inputs, model::RegexScratch& scratch,
                   std::string& out) {
    out.clear();
    const std::string_view path = inputs.path;
    if (route.hasRewrite) {
        // With its own regex, the rewrite takes that regex's groups; a path it does not match goes
        // upstream unchanged (nginx's rewrite without a match).
        model::Captures own;
        TemplateInputs expanded = inputs;
        bool matched = true;
        if (route.rewriteRegex) {
            matched = route.rewriteRegex->search(path, scratch, &own);
            expanded.groups = &own;
        }
        if (matched) {
            expandTemplate(route.rewriteTo, expanded, out);
            if (out.empty() || out.front() != '/') {
                out.insert(out.begin(), '/'); // a group that starts the replacement may be empty
            }
        } else {
            out.append(path);
        }
    } else if (route.stripPrefix) {
        // The remainder stays an absolute path: "/api/users" and "/api" on prefix "/api" become
        // "/users" and "/".
        const std::string_view rest = path.substr(std::min(route.pathPrefix.size(), path.size()));
        if (rest.empty() || rest.front() != '/') {
            out.push_back('/');
        }
        out.append(rest);
    } else if (!route.rewritePrefix.empty()) {
        // Literal replacement of the matched prefix, as Envoy's prefix_rewrite and nginx's proxy_pass.
        out.append(route.rewritePrefix);
        out.append(path.substr(std::min(route.pathPrefix.size(), path.size())));
    } else {
        out.append(path);
    }
    if (!inputs.query.empty()) {
        out.push_back('?');
        out.append(inputs.query);
    }
}

void redirectLocation(const Route& route, const TemplateInputs& inputs, std::string& out) {
    out.clear();
    expandTemplate(route.redirectTo, inputs, out);
    if (route.redirectKeepQuery && !inputs.query.empty()) {
        out.push_back(out.find('?') == std::string::npos ? '?' : '&');
        out.append(inputs.query);
    }
}

} // namespace gaetwae::engine::routing

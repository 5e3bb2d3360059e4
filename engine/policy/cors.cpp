#include "engine/policy/cors.hpp"

#include <array>

namespace gaetwae::engine::policy {

using http::equalsIgnoreCase;

namespace {

constexpr std::string_view kVaryOrigin = "Vary: Origin\r\n";
constexpr std::string_view kVaryPreflight =
    "Vary: Origin, Access-Control-Request-Method, Access-Control-Request-Headers\r\n";

std::string joined(std::string_view name, const std::vector<std::string>& values) {
    if (values.empty()) {
        return {};
    }
    std::string line(name);
    line += ": ";
    for (std::size_t i = 0; i < values.size(); ++i) {
        line += i == 0 ? "" : ", ";
        line += values[i];
    }
    line += "\r\n";
    return line;
}

} // namespace

CorsPolicy::CorsPolicy(const model::CorsConfig& config)
    : m_credentials(config.allowCredentials)
    , m_methods(config.allowMethods)
    , m_headers(config.allowHeaders)
    , m_methodsLine(joined("Access-Control-Allow-Methods", config.allowMethods))
    , m_exposeLine(joined("Access-Control-Expose-Headers", config.exposeHeaders)) {
    for (const auto& origin : config.allowOrigins) {
        const auto wildcard = origin.find("://*.");
        if (origin == "*") {
            m_any = true;
        } else if (wildcard != std::string::npos) {
            m_wildcards.push_back({origin.substr(0, wildcard + 3), origin.substr(wildcard + 4)});
        } else {
            m_exact.push_back(origin);
        }
    }
    for (const auto& header : config.allowHeaders) {
        m_anyHeader = m_anyHeader || header == "*";
    }
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(config.maxAge).count();
    if (seconds > 0) {
        m_maxAgeLine = "Access-Control-Max-Age: " + std::to_string(seconds) + "\r\n";
    }
}

bool CorsPolicy::allows(std::string_view origin) const {
    if (origin.empty() || origin == "null") {
        return m_any;
    }
    if (m_any) {
        return true;
    }
    for (const auto& exact : m_exact) {
        if (equalsIgnoreCase(exact, origin)) {
            return true;
        }
    }
    for (const auto& [scheme, suffix] : m_wildcards) {
        // At least one label before the suffix: "https://a.example.com", not "https://.example.com".
        if (origin.size() > scheme.size() + suffix.size() &&
            equalsIgnoreCase(origin.substr(0, scheme.size()), scheme) &&
            equalsIgnoreCase(origin.substr(origin.size() - suffix.size()), suffix) &&
            origin[scheme.size()] != '.') {
            const std::string_view label =
                origin.substr(scheme.size(), origin.size() - scheme.size() - suffix.size());
            if (label.find_first_of("/:@") == std::string_view::npos) {
                return true;
            }
        }
    }
    return false;
}

bool CorsPolicy::isPreflight(const http::HeaderBlock& headers) {
    return headers.get(http::bhttp::field::origin).has_value() &&
           headers.get(http::bhttp::field::access_control_request_method).has_value();
}

std::string_view CorsPolicy::allowOriginValue(std::string_view origin) const {
    // "*" only where it means the same thing: any origin, no credentials. A listed origin is
    // echoed so a cache keyed by Vary: Origin stores one answer per origin.
    return m_any && !m_credentials ? std::string_view("*") : origin;
}

bool CorsPolicy::allowsMethod(std::string_view method) const {
    if (method == "GET" || method == "HEAD" || method == "POST") {
        return true; // CORS-safelisted methods need no permission
    }
    for (const auto& allowed : m_methods) {
        if (allowed == method) {
            return true;
        }
    }
    return false;
}

bool CorsPolicy::allowsHeader(std::string_view name) const {
    static constexpr std::array<std::string_view, 4> kSafelisted{"accept", "accept-language",
                                                                 "content-language", "content-type"};
    if (m_anyHeader) {
        return true;
    }
    for (const auto safe : kSafelisted) {
        if (equalsIgnoreCase(safe, name)) {
            return true;
        }
    }
    for (const auto& allowed : m_headers) {
        if (equalsIgnoreCase(allowed, name)) {
            return true;
        }
    }
    return false;
}

std::string_view CorsPolicy::preflight(const http::HeaderBlock& headers, std::string& lines) const {
    const std::string_view origin = headers.get(http::bhttp::field::origin).value_or(std::string_view());
    if (!allows(origin)) {
        return "the origin is not allowed to use this route";
    }
    const std::string_view method =
        headers.get(http::bhttp::field::access_control_request_method).value_or(std::string_view());
    if (!allowsMethod(method)) {
        return "the requested method is not allowed for cross-origin requests";
    }
    const std::string_view requested =
        headers.get(http::bhttp::field::access_control_request_headers).value_or(std::string_view());
    bool headersAllowed = true;
    http::forEachToken(requested,
                       [&](std::string_view name) { headersAllowed = headersAllowed && allowsHeader(name); });
    if (!headersAllowed) {
        return "a requested header is not allowed for cross-origin requests";
    }
    lines.append("Access-Control-Allow-Origin: ");
    lines.append(allowOriginValue(origin));
    lines.append("\r\n");
    if (m_credentials) {
        lines.append("Access-Control-Allow-Credentials: true\r\n");
    }
    lines.append(m_methodsLine);
    if (!requested.empty()) {
        // Every requested name was checked above: answering with the request's own list covers
        // "*" and lists alike, and also works with credentials (where "*" is literal).
        lines.append("Access-Control-Allow-Headers: ");
        lines.append(requested);
        lines.append("\r\n");
    }
    lines.append(m_maxAgeLine);
    lines.append(kVaryPreflight);
    return {};
}

void CorsPolicy::appendResponseLines(std::optional<std::string_view> origin, std::string& lines) const {
    const bool dependsOnOrigin = !m_any || m_credentials;
    if (origin && allows(*origin)) {
        lines.append("Access-Control-Allow-Origin: ");
        lines.append(allowOriginValue(*origin));
        lines.append("\r\n");
        if (m_credentials) {
            lines.append("Access-Control-Allow-Credentials: true\r\n");
        }
        lines.append(m_exposeLine);
    }
    if (dependsOnOrigin) {
        lines.append(kVaryOrigin);
    }
}

} // namespace gaetwae::engine::policy

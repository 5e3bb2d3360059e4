#pragma once

#include "engine/http/header_block.hpp"
#include "shared/model/transform_config.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gaetwae::engine::policy {

// A route's CORS rules (Fetch standard, "CORS protocol"), precompiled. Pure: the session asks
// it for the lines to write and writes them.
class CorsPolicy {
public:
    explicit CorsPolicy(const model::CorsConfig& config);

    // Origin is listed, matches a "scheme://*.domain" pattern, or "*" is allowed.
    bool allows(std::string_view origin) const;

    // A CORS preflight: OPTIONS with Origin and Access-Control-Request-Method.
    static bool isPreflight(const http::HeaderBlock& headers);

    // Appends the preflight answer's Access-Control-* and Vary lines and returns empty, or
    // returns why the preflight is refused (then nothing is appended; the answer is 403).
    std::string_view preflight(const http::HeaderBlock& headers, std::string& lines) const;

    // Lines for the response to an actual request: Access-Control-Allow-Origin (echoing the
    // origin unless "*" answers), credentials and exposed headers for an allowed Origin; for
    // any other request only Vary: Origin when the answer depends on the origin.
    void appendResponseLines(std::optional<std::string_view> origin, std::string& lines) const;

private:
    // Access-Control-Allow-Origin value: "*" (any origin, no credentials) or the origin itself.
    std::string_view allowOriginValue(std::string_view origin) const;
    bool allowsMethod(std::string_view method) const;
    bool allowsHeader(std::string_view name) const;

    struct Wildcard {
        std::string scheme; // "https://"
        std::string suffix; // ".example.com"
    };
    std::vector<std::string> m_exact; // whole origins
    std::vector<Wildcard> m_wildcards;
    bool m_any = false;
    bool m_credentials = false;
    bool m_anyHeader = false;
    std::vector<std::string> m_methods;
    std::vector<std::string> m_headers;
    std::string m_methodsLine; // "Access-Control-Allow-Methods: GET, POST\r\n"
    std::string m_exposeLine;  // empty when nothing is exposed
    std::string m_maxAgeLine;  // empty without max_age
};

} // namespace gaetwae::engine::policy

#pragma once

#include "shared/model/units.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// What a route does to the messages it carries besides routing them: header edits with
// variables, hidden backend headers, CORS answered at the gateway and response compression.
// Plain values, part of RouteConfig (config.hpp); the text forms live in transform_codec.hpp.
namespace gaetwae::model {

// Edits of one direction's header fields. Values are templates ("${client_ip}", see
// header_template.hpp), checked at config time.
struct HeaderEditConfig {
    std::vector<std::pair<std::string, std::string>> set; // replaces every field of that name
    std::vector<std::pair<std::string, std::string>> add; // appended; fields of that name stay
    std::vector<std::string> remove;                      // every field of that name dropped

    bool empty() const { return set.empty() && add.empty() && remove.empty(); }
    bool operator==(const HeaderEditConfig&) const = default;
};

// Cross-origin resource sharing as the Fetch standard defines it; the gateway answers
// preflights itself and owns the Access-Control-* response fields of the route.
struct CorsConfig {
    // "https://app.example.com" (exact), "https://*.example.com" (any subdomain) or "*".
    std::vector<std::string> allowOrigins;
    std::vector<std::string> allowMethods{"GET", "HEAD", "POST"};
    std::vector<std::string> allowHeaders; // "*": whatever the preflight asks for
    std::vector<std::string> exposeHeaders;
    bool allowCredentials = false; // browsers refuse "*" with credentials, so does validation
    Duration maxAge{0};            // how long a browser may cache a preflight; 0: no header

    bool operator==(const CorsConfig&) const = default;
};

enum class CompressionAlgorithm { Brotli, Gzip };
inline constexpr std::array<std::pair<std::string_view, CompressionAlgorithm>, 2> kCompressionAlgorithmNames{{
    {"br", CompressionAlgorithm::Brotli},
    {"gzip", CompressionAlgorithm::Gzip},
}};

// Response compression negotiated by Accept-Encoding.
struct CompressionConfig {
    bool enabled = true;
    std::vector<CompressionAlgorithm> algorithms{CompressionAlgorithm::Brotli, CompressionAlgorithm::Gzip};
    std::uint64_t minSize = 1024; // bodies known (Content-Length) to be smaller stay as they are
    std::vector<std::string> types{"text/*", "application/json", "application/javascript", "application/xml",
                                   "image/svg+xml"}; // "type/subtype" or "type/*", parameters ignored
    std::uint32_t level = 5; // 1 (fast) .. 9 (small): the gzip level and the brotli quality

    bool operator==(const CompressionConfig&) const = default;
};

} // namespace gaetwae::model

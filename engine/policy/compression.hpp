#pragma once

#include "engine/http/header_block.hpp"
#include "shared/model/transform_config.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gaetwae::engine::policy {

// The coding Accept-Encoding prefers among `algorithms` (RFC 9110 12.5.3): the highest q-value
// wins, ties go to the earlier algorithm; a coding not listed takes the q of "*" when present,
// q=0 refuses. Without any Accept-Encoding field nothing is chosen (many clients that omit it
// cannot decode). `headers` may carry several Accept-Encoding fields: they form one list.
std::optional<model::CompressionAlgorithm>
negotiateEncoding(const http::HeaderBlock& headers,
                  const std::vector<model::CompressionAlgorithm>& algorithms);

// A route's compression rules, precompiled.
class CompressionPolicy {
public:
    explicit CompressionPolicy(const model::CompressionConfig& config);

    struct Decision {
        bool varies = false; // the representation depends on Accept-Encoding: add Vary
        std::optional<model::CompressionAlgorithm> algorithm;
    };

    // Whether this response is encoded and with what. Never for a bodiless response (HEAD,
    // 204, 304), 206 or Content-Range, an already encoded body, Cache-Control: no-transform, a
    // type not listed or a Content-Length below min_size.
    Decision decide(const http::HeaderBlock& request, int status, const http::HeaderBlock& response,
                    bool bodiless, std::optional<std::uint64_t> contentLength) const;

    int level() const { return m_level; }

private:
    bool typeListed(std::string_view contentType) const;

    std::vector<model::CompressionAlgorithm> m_algorithms;
    std::uint64_t m_minSize;
    std::vector<std::string> m_types; // "text/" for "text/*", whole types otherwise
    int m_level;
};

} // namespace gaetwae::engine::policy

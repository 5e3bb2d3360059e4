#include "engine/policy/compression.hpp"

#include "shared/model/http_token.hpp"

#include <charconv>

namespace gaetwae::engine::policy {

using http::equalsIgnoreCase;
using http::bhttp::field;

namespace {

// "gzip;q=0.5" -> ("gzip", 500); q-values in thousandths, 1000 when absent, -1 when malformed.
std::pair<std::string_view, int> parseCoding(std::string_view item) {
    const auto semicolon = item.find(';');
    const std::string_view coding = model::trimOws(item.substr(0, semicolon));
    if (semicolon == std::string_view::npos) {
        return {coding, 1000};
    }
    std::string_view params = item.substr(semicolon + 1);
    int q = 1000;
    while (!params.empty()) {
        const auto next = params.find(';');
        const std::string_view param = model::trimOws(params.substr(0, next));
        if (param.size() >= 2 && (param[0] == 'q' || param[0] == 'Q') && param[1] == '=') {
            // qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
            const std::string_view value = param.substr(2);
            if (value.empty() || (value[0] != '0' && value[0] != '1') ||
                (value.size() > 1 && value[1] != '.') || value.size() > 5) {
                return {coding, -1};
            }
            q = (value[0] - '0') * 1000;
            int scale = 100;
            for (std::size_t i = 2; i < value.size(); ++i, scale /= 10) {
                if (value[i] < '0' || value[i] > '9') {
                    return {coding, -1};
                }
                q += (value[i] - '0') * scale;
            }
            if (q > 1000) {
                return {coding, -1};
            }
        }
        params = next == std::string_view::npos ? std::string_view() : params.substr(next + 1);
    }
    return {coding, q};
}

bool namesAlgorithm(std::string_view coding, model::CompressionAlgorithm algorithm) {
    switch (algorithm) {
    case model::CompressionAlgorithm::Brotli:
        return equalsIgnoreCase(coding, "br");
    case model::CompressionAlgorithm::Gzip:
        return equalsIgnoreCase(coding, "gzip") || equalsIgnoreCase(coding, "x-gzip");
    }
    return false;
}

} // namespace

std::optional<model::CompressionAlgorithm>
negotiateEncoding(const http::HeaderBlock& headers,
                  const std::vector<model::CompressionAlgorithm>& algorithms) {
    std::optional<model::CompressionAlgorithm> best;
    int bestQ = 0;
    for (const auto algorithm : algorithms) {
        int explicitQ = -1;
        int anyQ = -1;
        for (std::size_t i = 0; i < headers.size(); ++i) {
            const auto header = headers[i];
            if (header.id != field::accept_encoding) {
                continue;
            }
            http::forEachToken(header.value, [&](std::string_view item) {
                const auto [coding, q] = parseCoding(item);
                if (q < 0) {
                    return; // a malformed element is ignored, not taken as a preference
                }
                if (namesAlgorithm(coding, algorithm)) {
                    explicitQ = std::max(explicitQ, q);
                } else if (coding == "*") {
                    anyQ = std::max(anyQ, q);
                }
            });
        }
        const int q = explicitQ >= 0 ? explicitQ : std::max(anyQ, 0);
        if (q > bestQ) {
            best = algorithm;
            bestQ = q;
        }
    }
    return best;
}

CompressionPolicy::CompressionPolicy(const model::CompressionConfig& config)
    : m_algorithms(config.algorithms)
    , m_minSize(config.minSize)
    , m_level(static_cast<int>(config.level)) {
    for (const auto& type : config.types) {
        m_types.push_back(type.ends_with("/*") ? type.substr(0, type.size() - 1) : type);
    }
}

bool CompressionPolicy::typeListed(std::string_view contentType) const {
    const std::string_view type = model::trimOws(contentType.substr(0, contentType.find(';')));
    for (const auto& listed : m_types) {
        const bool prefix = listed.back() == '/';
        if (prefix ? type.size() > listed.size() && equalsIgnoreCase(type.substr(0, listed.size()), listed)
                   : equalsIgnoreCase(type, listed)) {
            return true;
        }
    }
    return false;
}

CompressionPolicy::Decision CompressionPolicy::decide(const http::HeaderBlock& request, int status,
                                                      const http::HeaderBlock& response, bool bodiless,
                                                      std::optional<std::uint64_t> contentLength) const {
    Decision decision;
    if (bodiless || status < 200 || status == 206 || response.get(field::content_range)) {
        return decision;
    }
    if (const auto encoding = response.get(field::content_encoding);
        encoding && !equalsIgnoreCase(model::trimOws(*encoding), "identity")) {
        return decision; // never twice
    }
    bool noTransform = false;
    for (std::size_t i = 0; i < response.size(); ++i) {
        const auto header = response[i];
        if (header.id == field::cache_control) {
            http::forEachToken(header.value, [&](std::string_view directive) {
                noTransform = noTransform || equalsIgnoreCase(directive, "no-transform");
            });
        }
    }
    const auto contentType = response.get(field::content_type);
    if (noTransform || !contentType || !typeListed(*contentType) ||
        (contentLength && *contentLength < m_minSize)) {
        return decision;
    }
    decision.varies = true;
    decision.algorithm = negotiateEncoding(request, m_algorithms);
    return decision;
}

} // namespace gaetwae::engine::policy

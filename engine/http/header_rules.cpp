#include "engine/http/header_rules.hpp"

#include "engine/policy/header_transform.hpp"

#include <charconv>

namespace gaetwae::engine::http {

namespace {

constexpr std::string_view kForwardedFor = "X-Forwarded-For";
constexpr std::string_view kForwardedProto = "X-Forwarded-Proto";
constexpr std::string_view kForwardedHost = "X-Forwarded-Host";
constexpr std::string_view kPoweredBy = "X-Powered-By";

bool isHopByHop(bhttp::field id) {
    switch (id) {
    case bhttp::field::connection:
    case bhttp::field::keep_alive:
    case bhttp::field::proxy_connection:
    case bhttp::field::te:
    case bhttp::field::trailer:
    case bhttp::field::transfer_encoding:
    case bhttp::field::upgrade:
    case bhttp::field::content_length: // re-declared from the framing we actually send
        return true;
    default:
        return false;
    }
}

// Header names listed in the Connection field(s) are hop-by-hop too (RFC 9110 7.6.1).
class ConnectionOptions {
public:
    explicit ConnectionOptions(const HeaderBlock& headers) {
        for (std::size_t i = 0; i < headers.size() && m_count < m_names.size(); ++i) {
            const auto field = headers[i];
            if (field.id != bhttp::field::connection) {
                continue;
            }
            forEachToken(field.value, [this](std::string_view token) {
                if (m_count < m_names.size() && !equalsIgnoreCase(token, "close") &&
                    !equalsIgnoreCase(token, "keep-alive")) {
                    m_names[m_count++] = token;
                }
            });
        }
    }
    bool lists(std::string_view name) const {
        for (std::size_t i = 0; i < m_count; ++i) {
            if (equalsIgnoreCase(m_names[i], name)) {
                return true;
            }
        }
        return false;
    }

private:
    std::array<std::string_view, 16> m_names{};
    std::size_t m_count = 0;
};

void appendField(std::string& out, std::string_view name, std::string_view value) {
    out.append(name);
    out.append(": ");
    out.append(value);
    out.append("\r\n");
}

void appendNumber(std::string& out, std::uint64_t value) {
    char digits[24];
    const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
    out.append(digits, end);
}

void appendFraming(std::string& out, BodyFraming framing, std::uint64_t contentLength) {
    switch (framing) {
    case BodyFraming::ContentLength:
        out.append("Content-Length: ");
        appendNumber(out, contentLength);
        out.append("\r\n");
        break;
    case BodyFraming::Chunked:
        out.append("Transfer-Encoding: chunked\r\n");
        break;
    case BodyFraming::None:
    case BodyFraming::UntilClose:
        break;
    }
}

// One Via field: the values received, in order, then this hop (RFC 9110 7.6.3).
void appendVia(std::string& out, const HeaderBlock& headers, bool received, const std::string& ownVia) {
    if (!received && ownVia.empty()) {
        return;
    }
    out.append("Via: ");
    bool first = true;
    for (std::size_t i = 0; i < headers.size() && received; ++i) {
        const auto field = headers[i];
        if (field.id == bhttp::field::via) {
            out.append(first ? "" : ", ");
            out.append(field.value);
            first = false;
        }
    }
    if (!ownVia.empty()) {
        out.append(first ? "" : ", ");
        out.append(ownVia);
    }
    out.append("\r\n");
}

} // namespace

HeaderPolicy HeaderPolicy::fromConfig(const model::HeadersConfig& config) {
    HeaderPolicy policy;
    if (!config.via.empty()) {
        policy.via11 = "1.1 " + config.via;
        policy.via10 = "1.0 " + config.via;
    }
    policy.requestIdHeader = config.requestIdHeader;
    policy.trustRequestId = config.trustRequestId;
    policy.echoRequestId = config.echoRequestId;
    policy.trustForwarded = config.trustForwarded;
    policy.hideServer = config.hideServer;
    policy.hidePoweredBy = config.hidePoweredBy;
    return policy;
}

void writeUpstreamRequestHead(const RequestHead& request, const UpstreamRequestContext& context,
                              const HeaderPolicy& policy, std::string& out) {
    out.clear();
    out.append(request.methodText());
    out.push_back(' ');
    out.append(context.target);
    out.append(" HTTP/1.1\r\nHost: ");
    out.append(context.host);
    out.append("\r\n");

    const ConnectionOptions connectionOptions(request.headers);
    const HeaderBlock& headers = request.headers;
    std::size_t forwardedFor = 0;
    std::size_t via = 0;
    for (std::size_t i = 0; i < headers.size(); ++i) {
        const auto field = headers[i];
        if (field.id == bhttp::field::host || field.id == bhttp::field::expect || isHopByHop(field.id)) {
            continue;
        }
        if (field.id == bhttp::field::via) {
            ++via;
            continue; // merged below
        }
        if (field.id == bhttp::field::unknown) {
            if (equalsIgnoreCase(field.name, kForwardedFor)) {
                ++forwardedFor;
                continue; // merged below
            }
            if (!policy.trustForwarded &&
                (equalsIgnoreCase(field.name, kForwardedProto) || equalsIgnoreCase(field.name, kForwardedHost))) {
                continue;
            }
            if (equalsIgnoreCase(field.name, policy.requestIdHeader)) {
                continue;
            }
            if (!context.clientSubjectHeader.empty() && equalsIgnoreCase(field.name, context.clientSubjectHeader)) {
                continue; // only the gateway vouches for a client certificate
            }
        }
        if (connectionOptions.lists(field.name) || (context.edits != nullptr && context.edits->drops(field.name))) {
            continue;
        }
        appendField(out, field.name, field.value);
    }
    if (context.edits != nullptr) {
        context.edits->append(out);
    }

    // X-Forwarded-For: earlier hops first, this client last.
    out.append(kForwardedFor);
    out.append(": ");
    if (forwardedFor > 0) {
        for (std::size_t i = 0; i < headers.size(); ++i) {
            const auto field = headers[i];
            if (field.id == bhttp::field::unknown && equalsIgnoreCase(field.name, kForwardedFor)) {
                out.append(field.value);
                out.append(", ");
            }
        }
    }
    out.append(context.clientIp);
    out.append("\r\n");

    if (!policy.trustForwarded || !headers.get(kForwardedProto)) {
        appendField(out, kForwardedProto, context.scheme);
    }
    if (!policy.trustForwarded || !headers.get(kForwardedHost)) {
        appendField(out, kForwardedHost, context.host);
    }

    appendVia(out, headers, via > 0, request.version >= 11 ? policy.via11 : policy.via10);

    appendField(out, policy.requestIdHeader, context.requestId);
    if (!context.clientSubjectHeader.empty() && !context.clientSubject.empty()) {
        appendField(out, context.clientSubjectHeader, context.clientSubject);
    }
    out.append(context.extraLines);
    appendFraming(out, context.framing, context.contentLength);
    if (!context.upgrade.empty()) {
        out.append("Connection: upgrade\r\n");
        appendField(out, "Upgrade", context.upgrade);
    }
    out.append("\r\n");
}

void writeDownstreamResponseHead(const ResponseHead& response, const DownstreamResponseContext& context,
                                 const HeaderPolicy& policy, std::string& out) {
    out.clear();
    appendStatusLine(out, static_cast<std::uint64_t>(response.status), response.reason());

    const ConnectionOptions connectionOptions(response.headers);
    const HeaderBlock& headers = response.headers;
    std::size_t via = 0;
    for (std::size_t i = 0; i < headers.size(); ++i) {
        const auto field = headers[i];
        if (field.id == bhttp::field::content_length && context.passContentLength) {
            appendField(out, field.name, field.value);
            continue;
        }
        if (isHopByHop(field.id)) {
            continue;
        }
        if (field.id == bhttp::field::via) {
            ++via;
            continue;
        }
        if (field.id == bhttp::field::server && policy.hideServer) {
            continue;
        }
        if (field.id == bhttp::field::unknown) {
            if (policy.hidePoweredBy && equalsIgnoreCase(field.name, kPoweredBy)) {
                continue;
            }
            if (policy.echoRequestId && equalsIgnoreCase(field.name, policy.requestIdHeader)) {
                continue; // replaced by ours below
            }
        }
        if (connectionOptions.lists(field.name) || (context.edits != nullptr && context.edits->drops(field.name))) {
            continue;
        }
        appendField(out, field.name, field.value);
    }
    if (context.edits != nullptr) {
        context.edits->append(out);
    }

    appendVia(out, headers, via > 0, response.version >= 11 ? policy.via11 : policy.via10);
    if (policy.echoRequestId) {
        appendField(out, policy.requestIdHeader, context.requestId);
    }
    out.append(context.extraLines);
    appendFraming(out, context.framing, context.contentLength);
    if (!context.upgrade.empty()) {
        out.append("Connection: upgrade\r\n");
        appendField(out, "Upgrade", context.upgrade);
    } else if (!context.keepAlive) {
        out.append("Connection: close\r\n");
    } else if (context.clientVersion < 11) {
        out.append("Connection: keep-alive\r\n");
    }
    out.append("\r\n");
}

void appendStatusLine(std::string& out, std::uint64_t status, std::string_view reason) {
    out.append("HTTP/1.1 ");
    appendNumber(out, status);
    out.push_back(' ');
    out.append(reason);
    out.append("\r\n");
}

void appendGatewayHeadEnd(std::string& out, const HeaderPolicy& policy, std::string_view requestId,
                          std::string_view extraLines, bool close) {
    if (!requestId.empty()) {
        appendField(out, policy.requestIdHeader, requestId);
    }
    out.append(extraLines);
    if (close) {
        out.append("Connection: close\r\n");
    }
    out.append("\r\n");
}

bool isAcceptableRequestId(std::string_view id) {
    if (id.empty() || id.size() > 128) {
        return false;
    }
    for (const char c : id) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                        std::string_view("-_.:+/=@").find(c) != std::string_view::npos;
        if (!ok) {
            return false;
        }
    }
    return true;
}

bool isIdempotent(bhttp::verb method) {
    switch (method) {
    case bhttp::verb::get:
    case bhttp::verb::head:
    case bhttp::verb::options:
    case bhttp::verb::trace:
    case bhttp::verb::put:
    case bhttp::verb::delete_:
        return true;
    default:
        return false;
    }
}

} // namespace gaetwae::engine::http

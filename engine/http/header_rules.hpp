#pragma once

#include "engine/http/message_parser.hpp"
#include "shared/model/config.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace gaetwae::engine::policy {
struct HeaderEditPass;
} // namespace gaetwae::engine::policy

namespace gaetwae::engine::http {

// How a message body is delimited on the wire.
enum class BodyFraming {
    None,          // no body (GET without body, HEAD responses, 204, 304)
    ContentLength, // exactly contentLength bytes
    Chunked,       // chunked transfer coding
    UntilClose,    // response delimited by closing the connection (HTTP/1.0 style)
};

// The header rules of one config, precompiled for the hot path.
struct HeaderPolicy {
    std::string via11; // "1.1 gaetwae", empty when Via is disabled
    std::string via10;
    std::string requestIdHeader;
    bool trustRequestId = true;
    bool echoRequestId = true;
    bool trustForwarded = false;
    bool hideServer = false;
    bool hidePoweredBy = false;

    static HeaderPolicy fromConfig(const model::HeadersConfig& config);
};

struct UpstreamRequestContext {
    std::string_view target;    // origin-form target after rewrites
    std::string_view host;      // Host to send upstream
    std::string_view clientIp;  // appended to X-Forwarded-For
    std::string_view requestId; // the id this request carries from now on
    std::string_view scheme = "http";
    BodyFraming framing = BodyFraming::None;
    std::uint64_t contentLength = 0;
    // mTLS listeners: the client certificate subject header (incoming copies are dropped) and
    // the verified subject (empty: no certificate, the header is not sent).
    std::string_view clientSubjectHeader{};
    std::string_view clientSubject{};
    std::string_view extraLines{}; // complete header lines added by the gateway (identity headers)
    const policy::HeaderEditPass* edits = nullptr; // the route's request_headers, if any
    std::string_view upgrade{}; // protocols to switch to (engine/http/upgrade.hpp), empty for none
};

// Writes the request line and header for the upstream into `out` (cleared first):
// hop-by-hop fields and those named in Connection are removed, framing is re-declared,
// X-Forwarded-For/Proto/Host, Via and the request id are added. Always HTTP/1.1 keep-alive,
// unless the context carries an upgrade: then Connection: upgrade with that Upgrade value.
void writeUpstreamRequestHead(const RequestHead& request, const UpstreamRequestContext& context,
                              const HeaderPolicy& policy, std::string& out);

struct DownstreamResponseContext {
    std::string_view requestId;
    int clientVersion = 11;
    BodyFraming framing = BodyFraming::None;
    std::uint64_t contentLength = 0;
    bool keepAlive = true; // false adds Connection: close
    bool passContentLength = false; // bodiless response to HEAD/304: keep the backend's length
    std::string_view extraLines;    // complete header lines added by the gateway (Set-Cookie ...)
    const policy::HeaderEditPass* edits = nullptr; // the route's response edits, if any
    std::string_view upgrade{};     // a 101's Upgrade value: Connection: upgrade instead of keep-alive
};

// Writes the status line and header for the client into `out` (cleared first), applying the same
// hop-by-hop rules plus Server/X-Powered-By hiding.
void writeDownstreamResponseHead(const ResponseHead& response, const DownstreamResponseContext& context,
                                 const HeaderPolicy& policy, std::string& out);

// "HTTP/1.1 <status> <reason>\r\n", appended to `out`.
void appendStatusLine(std::string& out, std::uint64_t status, std::string_view reason);

// The end of a head the gateway answers itself (errors, redirects, CORS preflights), appended to
// `out`: the request id field (unless `requestId` is empty), `extraLines` (complete header lines),
// "Connection: close" when `close`, and the blank line.
void appendGatewayHeadEnd(std::string& out, const HeaderPolicy& policy, std::string_view requestId,
                          std::string_view extraLines, bool close);

// True when an incoming request id may be passed through: 1-128 visible ASCII characters that
// cannot break a header or a log line.
bool isAcceptableRequestId(std::string_view id);

// True for methods that RFC 9110 defines as idempotent (safe to retry).
bool isIdempotent(bhttp::verb method);

} // namespace gaetwae::engine::http

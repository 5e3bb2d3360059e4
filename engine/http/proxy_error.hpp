#pragma once

#include "engine/http/header_rules.hpp"
#include "engine/http/message_parser.hpp"

#include <boost/system/error_code.hpp>

#include <string>
#include <string_view>

namespace gaetwae::engine::http {

// Every way the gateway itself can answer a request instead of the backend. This file is the only
// place that maps them to status codes, error codes and messages (DESIGN.md, "Errors the client sees").
enum class ProxyError {
    BadRequest,             // 400 malformed request
    UriTooLong,             // 414
    HeadersTooLarge,        // 431
    BodyTooLarge,           // 413
    HeaderTimeout,          // 408
    BodyTimeout,            // 408
    ExpectationFailed,      // 417
    MethodNotAllowed,       // 405 (CONNECT on a reverse proxy)
    NoRoute,                // 404
    NoInstance,             // 503 pool has no instance that can take traffic
    CircuitOpen,            // 503 every available instance has its circuit breaker open
    PoolOverloaded,         // 503 a pool limit (active or pending requests) is reached
    UpstreamConnectFailed,  // 502 refused / unreachable
    UpstreamConnectTimeout, // 504
    UpstreamReset,          // 502 closed or reset before a complete response head
    UpstreamProtocolError,  // 502 response head could not be parsed
    UpstreamTimeout,        // 504 no response in time
    RateLimited,            // 429 an enforcing rate limit of the route refused (policy/rate_limit_check.hpp)
    UpstreamTlsFailed,      // 502 the TLS handshake with the instance failed (certificate verification ...)
    QuotaExceeded,          // 429 a quota of the route is used up for its day or month (policy/route_limits.hpp)
    RateLimitUnavailable,   // 503 Redis did not answer and a limit says on_error: deny
    Unauthorized,           // 401 missing or invalid credentials on a route with auth (policy/authenticator.hpp)
    Forbidden,              // 403 authenticated, but not allowed on the route
    CorsRejected,           // 403 a CORS preflight from an origin, method or header the route does not allow
    ShuttingDown,           // 503 an upgrade request while draining: a tunnel would outlive the drain
};

struct ErrorInfo {
    int status;
    std::string_view reason; // status line reason phrase
    std::string_view code;   // machine-readable "error" member of the JSON body
    std::string_view message;
};

const ErrorInfo& describe(ProxyError error);

// Maps a failed request parse to the client error it deserves.
ProxyError classifyRequestParseError(ParseFailure failure, const boost::system::error_code& ec);
// A client-safe sentence saying what was wrong (static text), or empty for the generic message.
std::string_view describeRequestParseError(ParseFailure failure, const boost::system::error_code& ec);

// Writes a complete response: status line, JSON body {"error","message","requestId"}, framing,
// `extraLines` (complete header lines ending in CRLF, e.g. X-RateLimit-*) and Connection: close
// when `close`.
void writeErrorResponse(ProxyError error, std::string_view requestId, std::string_view detail,
                        const HeaderPolicy& policy, bool close, std::string& out,
                        std::string_view extraLines = {});

} // namespace gaetwae::engine::http

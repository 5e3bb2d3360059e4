#include "engine/http/proxy_error.hpp"

#include <boost/beast/http/error.hpp>
#include <nlohmann/json.hpp>

#include <array>

namespace gaetwae::engine::http {

namespace {

// Indexed by ProxyError.
constexpr std::array<ErrorInfo, 25> kErrors{{
    {400, "Bad Request", "bad_request", "the request is malformed"},
    {414, "URI Too Long", "uri_too_long", "the request target exceeds the configured limit"},
    {431, "Request Header Fields Too Large", "headers_too_large", "the request header exceeds the configured limits"},
    {413, "Content Too Large", "body_too_large", "the request body exceeds the configured limit"},
    {408, "Request Timeout", "header_timeout", "the request header did not arrive in time"},
    {408, "Request Timeout", "body_timeout", "the request body stalled"},
    {417, "Expectation Failed", "expectation_failed", "only 'Expect: 100-continue' is supported"},
    {405, "Method Not Allowed", "method_not_allowed", "CONNECT is not supported by this gateway"},
    {404, "Not Found", "no_route", "no route matches this request"},
    {503, "Service Unavailable", "no_healthy_instance", "no instance of the pool can take traffic"},
    {503, "Service Unavailable", "circuit_open", "the circuit breakers of the pool's instances are open"},
    {503, "Service Unavailable", "pool_overloaded", "the pool is at its request limit"},
    {502, "Bad Gateway", "upstream_connect_failed", "the upstream instance refused or could not be reached"},
    {504, "Gateway Timeout", "upstream_connect_timeout", "connecting to the upstream instance timed out"},
    {502, "Bad Gateway", "upstream_reset", "the upstream closed the connection before a complete response"},
    {502, "Bad Gateway", "upstream_protocol_error", "the upstream sent an invalid response"},
    {504, "Gateway Timeout", "upstream_timeout", "the upstream did not respond in time"},
    {429, "Too Many Requests", "rate_limited", "the route's rate limit is reached, see Retry-After"},
    {502, "Bad Gateway", "upstream_tls_failed", "the TLS handshake with the upstream instance failed"},
    {429, "Too Many Requests", "quota_exceeded", "the quota for this period is used up, see Retry-After"},
    {503, "Service Unavailable", "rate_limit_unavailable", "the shared rate limit cannot be checked right now"},
    {401, "Unauthorized", "unauthorized", "valid credentials are required"},
    {403, "Forbidden", "forbidden", "these credentials may not use this route"},
    {403, "Forbidden", "cors_rejected", "the cross-origin request is not allowed by the route's CORS policy"},
    {503, "Service Unavailable", "shutting_down", "the gateway is shutting down and opens no new tunnels"},
}};

} // namespace

const ErrorInfo& describe(ProxyError error) {
    return kErrors[static_cast<std::size_t>(error)];
}

ProxyError classifyRequestParseError(ParseFailure failure, const boost::system::error_code& ec) {
    switch (failure) {
    case ParseFailure::UriTooLong:
        return ProxyError::UriTooLong;
    case ParseFailure::TooManyHeaders:
        return ProxyError::HeadersTooLarge;
    case ParseFailure::UnsupportedExpect:
        return ProxyError::ExpectationFailed;
    case ParseFailure::MissingHost:
    case ParseFailure::DuplicateHost:
    case ParseFailure::BadTransferEncoding:
    case ParseFailure::ContentLengthAndTransferEncoding:
    case ParseFailure::RepeatedContentLength:
    case ParseFailure::BadHost:
    case ParseFailure::ChunkExtensionTooLong:
        return ProxyError::BadRequest;
    case ParseFailure::None:
        break;
    }
    if (ec == bhttp::error::header_limit) {
        return ProxyError::HeadersTooLarge;
    }
    return ProxyError::BadRequest;
}

std::string_view describeRequestParseError(ParseFailure failure, const boost::system::error_code& ec) {
    switch (failure) {
    case ParseFailure::MissingHost:
        return "HTTP/1.1 requests need a Host header";
    case ParseFailure::DuplicateHost:
        return "more than one Host header";
    case ParseFailure::BadTransferEncoding:
        return "Transfer-Encoding must be a single 'chunked' on HTTP/1.1";
    case ParseFailure::ContentLengthAndTransferEncoding:
        return "Content-Length together with Transfer-Encoding";
    case ParseFailure::RepeatedContentLength:
        return "more than one Content-Length";
    case ParseFailure::BadHost:
        return "invalid Host header";
    case ParseFailure::ChunkExtensionTooLong:
        return "chunk extensions too long";
    case ParseFailure::UriTooLong:
    case ParseFailure::TooManyHeaders:
    case ParseFailure::UnsupportedExpect:
    case ParseFailure::None:
        break;
    }
    // Beast's own findings, for the ones a client can act on; the rest get the generic message.
    if (ec == bhttp::error::bad_content_length) {
        return "invalid or conflicting Content-Length";
    }
    if (ec == bhttp::error::bad_transfer_encoding) {
        return "invalid or conflicting Transfer-Encoding";
    }
    if (ec == bhttp::error::bad_chunk || ec == bhttp::error::bad_chunk_extension) {
        return "malformed chunked request body";
    }
    return {};
}

void writeErrorResponse(ProxyError error, std::string_view requestId, std::string_view detail,
                        const HeaderPolicy& policy, bool close, std::string& out,
                        std::string_view extraLines) {
    const ErrorInfo& info = describe(error);
    nlohmann::json body = {{"error", info.code},
                           {"message", detail.empty() ? info.message : detail},
                           {"requestId", requestId}};
    const std::string text = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    out.clear();
    appendStatusLine(out, static_cast<std::uint64_t>(info.status), info.reason);
    out.append("Content-Type: application/json\r\nCache-Control: no-store\r\nContent-Length: ");
    out.append(std::to_string(text.size()));
    out.append("\r\n");
    appendGatewayHeadEnd(out, policy, requestId, extraLines, close);
    out.append(text);
}

} // namespace gaetwae::engine::http

// DownstreamSession's side of a route's transformations: CORS preflights answered at the gateway,
// the response's CORS and compression lines, and the compressing relay of a response body.
#include "engine/http/downstream_session.hpp"

#include "engine/http/body_encoder.hpp"
#include "engine/http/session_detail.hpp"
#include "engine/net/worker.hpp"
#include "engine/policy/route_transforms.hpp"

#include <charconv>

namespace gaetwae::engine::http {

using namespace session_detail;

Task<bool> DownstreamSession::answerPreflight(const policy::CorsPolicy& cors, bool keepAlive,
                                              const net::WorkerRouting& routing, Exchange& x) {
    m_extraLines.clear();
    const std::string_view refusal = cors.preflight(m_request.headers, m_extraLines);
    if (!refusal.empty()) {
        co_return co_await replyError(ProxyError::CorsRejected, refusal, routing, x,
                                      m_unreadInput || !keepAlive);
    }
    if (m_closing || !m_socket.is_open()) {
        co_return false;
    }
    // A preflight's body (there should be none) was not read: close rather than parse it as a request.
    const bool close = m_unreadInput || !keepAlive || m_worker.draining();
    const HeaderPolicy& policy = routing.snapshot->headerPolicy;
    if (!close && m_request.version < 11) {
        m_extraLines.append("Connection: keep-alive\r\n");
    }
    m_responseHead.assign("HTTP/1.1 204 No Content\r\n");
    appendGatewayHeadEnd(m_responseHead, policy, policy.echoRequestId ? x.requestId : std::string_view{},
                         m_extraLines, close);
    x.status = 204;
    error_code ec;
    arm(Phase::ClientSend, routing.snapshot->config.timeouts.clientSend);
    co_await asio::async_write(m_socket, asio::buffer(m_responseHead), noThrow(ec));
    log(routing, x);
    co_return !ec && !close;
}

std::string_view DownstreamSession::errorExtraLines(ProxyError error, const net::WorkerRouting& routing,
                                                    const Exchange& x) {
    // A refused authentication answers before any rate limit is looked at: at most one is set.
    const std::string_view lines = x.authLines.empty() ? x.rateLimitLines : x.authLines;
    if (x.routeIndex < 0 || error == ProxyError::CorsRejected) {
        return lines;
    }
    const auto& transforms = routing.snapshot->transforms[static_cast<std::size_t>(x.routeIndex)];
    if (!transforms || !transforms->cors) {
        return lines;
    }
    m_extraLines.assign(lines);
    transforms->cors->appendResponseLines(m_request.headers.get(bhttp::field::origin), m_extraLines);
    return m_extraLines;
}

std::unique_ptr<BodyEncoder> DownstreamSession::prepareResponse(const policy::RouteTransforms& transforms,
                                                                const policy::TransformVariables& variables,
                                                                bool bodiless,
                                                                std::optional<std::uint64_t> contentLength,
                                                                policy::HeaderEditPass& pass) {
    pass.rules = transforms.response.empty() ? nullptr : &transforms.response;
    pass.variables = &variables;
    if (transforms.cors) {
        pass.replaceCors = true;
        transforms.cors->appendResponseLines(m_request.headers.get(bhttp::field::origin), m_extraLines);
    }
    if (!transforms.compression) {
        return nullptr;
    }
    const auto decision = transforms.compression->decide(m_request.headers, m_response.status,
                                                         m_response.headers, bodiless, contentLength);
    if (decision.varies) {
        m_extraLines.append("Vary: Accept-Encoding\r\n");
    }
    auto encoder = decision.algorithm
                       ? BodyEncoder::create(*decision.algorithm, transforms.compression->level())
                       : nullptr;
    if (!encoder) {
        return nullptr; // not negotiated, or no memory for a coder: the body goes as it is
    }
    pass.replaceEncoding = true;
    m_extraLines.append(*decision.algorithm == model::CompressionAlgorithm::Brotli
                            ? "Content-Encoding: br\r\n"
                            : "Content-Encoding: gzip\r\n");
    if (const auto etag = m_response.headers.get(bhttp::field::etag)) {
        // Other bytes than the backend's: a strong validator would promise byte equality (RFC 9110 8.8.1).
        m_extraLines.append("ETag: ");
        if (!etag->starts_with("W/")) {
            m_extraLines.append("W/");
        }
        m_extraLines.append(*etag);
        m_extraLines.append("\r\n");
    }
    return encoder;
}

Task<DownstreamSession::PumpResult>
DownstreamSession::relayEncoded(ResponseParser& parser, UpstreamConnection& connection, BodyEncoder& encoder,
                                bool chunkOut, milliseconds readTimeout, milliseconds writeTimeout,
                                std::uint64_t& consumed, std::uint64_t& moved) {
    // Like pump(), but each batch of body pieces goes through the encoder (which copies them, so
    // the read buffer is free again at once). The coder is flushed whenever the relay is about to
    // wait for the backend: a streamed response reaches the client as it is produced.
    ByteBuffer& in = connection.buffer;
    error_code ec;
    bool headPending = true;
    bool upstreamEnded = false;
    std::array<char, 24> sizeLine{};
    for (;;) {
        m_sink.reset();
        const std::optional<std::size_t> parsedNow = parseBuffered(parser, in);
        if (!parsedNow) {
            co_return PumpResult::Protocol;
        }
        const std::size_t parsed = *parsedNow;
        consumed += m_sink.bytes;
        m_encoded.clear();
        bool encoded = true;
        for (std::size_t i = 0; i < m_sink.count && encoded; ++i) {
            encoded = encoder.write(m_sink.pieces[i], m_encoded);
        }
        in.consume(parsed);
        const bool done = parser.is_done() || upstreamEnded;
        const bool moreBuffered = !done && parsed > 0 && !in.empty();
        if (encoded && done) {
            encoded = encoder.finish(m_encoded);
        } else if (encoded && !moreBuffered) {
            encoded = encoder.flush(m_encoded);
        }
        if (!encoded) {
            // Only an allocation failure stops a coder: cut the response like a failed write.
            co_return PumpResult::WriteError;
        }
        GatherList out;
        if (headPending) {
            out.push(m_responseHead);
        }
        if (!m_encoded.empty()) {
            if (chunkOut) {
                out.push(chunkSizeLine(sizeLine, m_encoded.size()));
            }
            out.push(m_encoded);
            if (chunkOut) {
                out.push(kCrlf);
            }
        }
        if (done && chunkOut) {
            out.push(kLastChunk);
        }
        if (!out.empty()) {
            arm(Phase::ClientSend, writeTimeout);
            co_await asio::async_write(m_socket, out, noThrow(ec));
            if (ec) {
                co_return expired(Phase::ClientSend) ? PumpResult::WriteTimeout : PumpResult::WriteError;
            }
            moved += m_encoded.size();
            headPending = false;
        }
        if (done) {
            co_return PumpResult::Done;
        }
        if (moreBuffered) {
            continue;
        }
        if (in.full()) {
            co_return PumpResult::Protocol; // a framing line longer than the whole buffer
        }
        arm(Phase::UpstreamBody, readTimeout);
        const std::size_t n = co_await connection.socket.async_read_some(in.prepare(kMinRead), noThrow(ec));
        if (ec == asio::error::eof) {
            parser.put_eof(ec);
            if (ec) {
                co_return PumpResult::ReadEof;
            }
            upstreamEnded = true; // a body delimited by the close: finish the stream
            continue;
        }
        if (ec) {
            co_return expired(Phase::UpstreamBody) ? PumpResult::ReadTimeout : PumpResult::ReadError;
        }
        if (expired(Phase::UpstreamBody)) {
            co_return PumpResult::ReadTimeout;
        }
        in.commit(n);
    }
}

} // namespace gaetwae::engine::http

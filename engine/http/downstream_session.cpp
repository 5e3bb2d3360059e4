#include "engine/http/downstream_session.hpp"

#include "engine/http/session_detail.hpp"

#include "engine/balancing/balancer.hpp"
#include "engine/net/worker.hpp"
#include "engine/policy/authenticator.hpp"
#include "engine/policy/rate_limit_check.hpp"
#include "engine/policy/route_limits.hpp"
#include "engine/policy/route_transforms.hpp"
#include "engine/routing/route_table.hpp"

#include <boost/beast/http/error.hpp>
#include <spdlog/spdlog.h>

#include <charconv>

namespace gaetwae::engine::http {

using namespace session_detail;

namespace {

std::string clientAddress(const net::Stream& socket) {
    error_code ec;
    const auto remote = socket.remote_endpoint(ec);
    if (ec) {
        return "-";
    }
    auto address = remote.address();
    if (address.is_v6() && address.to_v6().is_v4_mapped()) {
        address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
    }
    return address.to_string();
}

// Host and an absolute-form authority name the same origin: equal ignoring case, where an
// omitted port equals the scheme's default port.
bool sameAuthority(std::string_view a, std::string_view b, std::string_view defaultPort) {
    auto withoutDefaultPort = [defaultPort](std::string_view authority) {
        const auto colon = authority.rfind(':');
        if (colon != std::string_view::npos && authority.find(']', colon) == std::string_view::npos &&
            authority.substr(colon + 1) == defaultPort) {
            return authority.substr(0, colon);
        }
        return authority;
    };
    return equalsIgnoreCase(withoutDefaultPort(a), withoutDefaultPort(b));
}

} // namespace

DownstreamSession::DownstreamSession(net::Worker& worker, Socket socket, std::shared_ptr<net::TlsServerContext> tls)
    : m_worker(worker)
    , m_tls(std::move(tls))
    , m_socket(std::move(socket))
    , m_watchdog(m_socket.get_executor(), [this] { onTimeout(); })
    , m_in(kInitialBuffer)
    , m_clientIp(clientAddress(m_socket))
    , m_backoff(m_socket.get_executor()) {
    worker.registerSession(*this);
    error_code ignored;
    m_socket.set_option(tcp::no_delay(true), ignored);
    if (m_tls) {
        m_socket.enableTls(m_tls->context());
    }
}

DownstreamSession::~DownstreamSession() = default;

void DownstreamSession::close() {
    m_closing = true;
    error_code ignored;
    m_socket.close(ignored);
    m_backoff.cancel();
    if (m_upstream) {
        m_upstream->socket.close(ignored);
    }
}

void DownstreamSession::arm(Phase phase, milliseconds timeout) {
    m_phase = phase;
    m_expired = Phase::None;
    m_watchdog.expireAfter(timeout);
    if (phase == Phase::ClientBody && m_bodyRate.enabled()) {
        // The same watchdog also wakes up when a rate window closes (see onTimeout).
        m_silenceDeadline = net::Watchdog::coarseNow() + timeout;
        m_watchdog.expireAt(std::min(m_silenceDeadline, m_bodyRate.beginWait(Clock::now())));
    }
}

bool DownstreamSession::noteBodyBytes(std::size_t bytes) {
    if (!m_bodyRate.enabled() || m_bodyRate.endWait(Clock::now(), bytes)) {
        return true;
    }
    m_bodyTooSlow = true;
    return false;
}

std::string_view DownstreamSession::bodyTimeoutDetail() const {
    return m_bodyTooSlow ? "the request body arrived slower than the minimum rate" : std::string_view();
}

void DownstreamSession::onTimeout() {
    if (m_phase == Phase::Tunnel) {
        // Transfers only record when they happened; the watchdog wakes up once per idle period.
        const auto quietUntil = m_tunnelActive + m_tunnelIdle;
        if (net::Watchdog::Clock::now() < quietUntil) { // precise: the coarse clock may lag the timer
            m_watchdog.expireAt(quietUntil);
            return;
        }
    }
    if (m_phase == Phase::ClientBody && m_bodyRate.enabled()) {
        const auto now = Clock::now();
        if (now < m_silenceDeadline) {
            // A rate window closed while a body read is pending: judge it, and only stop the
            // read when the client was too slow.
            if (m_bodyRate.windowClosed(now)) {
                m_watchdog.expireAt(std::min(m_silenceDeadline, m_bodyRate.beginWait(now)));
                return;
            }
            m_bodyTooSlow = true;
        }
    }
    m_expired = m_phase;
    error_code ignored;
    m_socket.cancel(ignored);
    if (m_upstream) {
        m_upstream->socket.cancel(ignored);
    }
}

Task<void> DownstreamSession::run() {
    // One coroutine frame serves the whole connection; each request adds at most forward()'s.
    try {
        bool keepAlive = true;
        if (m_tls) {
            // The handshake counts against the header deadline like the first request's bytes.
            keepAlive = co_await handshake(m_worker.routing()->snapshot->config.timeouts.clientHeader);
        }
        bool firstRequest = true;
        while (keepAlive && !m_closing) {
            std::shared_ptr<net::WorkerRouting> routing = m_worker.routing();
            const auto& config = routing->snapshot->config;
            RequestParser parser(m_request, m_sink, config.limits.maxUriBytes, config.limits.maxHeaderCount,
                                 headerLimit(config.limits.maxHeaderBytes));

            // ---- read the request head
            // The header deadline is armed once, at the first byte, and never extended: a client
            // trickling its head cannot keep the connection past timeouts.client_header. A fresh
            // connection gets no longer than that for its first byte either (a keep-alive wait is
            // only granted to clients that completed a request), so idle sockets cannot pile up.
            m_scanner.reset();
            m_idle = m_in.empty();
            if (m_idle) {
                arm(Phase::KeepAlive,
                    firstRequest ? std::min(config.timeouts.clientKeepalive, config.timeouts.clientHeader)
                                 : config.timeouts.clientKeepalive);
            } else {
                m_requestStart = Clock::now();
                arm(Phase::ClientHeader, config.timeouts.clientHeader);
            }
            firstRequest = false;
            error_code ec;
            bool headDone = false;
            bool parseFailed = false;
            std::string_view parseProblem;
            while (!headDone) {
                if (!m_in.empty()) {
                    const auto verdict = m_scanner.scan(std::string_view(m_in.data(), m_in.size()));
                    if (verdict == HeadScanner::Verdict::Invalid) {
                        spdlog::debug("invalid request from {}: {}", m_clientIp, m_scanner.problem());
                        parseProblem = m_scanner.problem();
                        parseFailed = true;
                        break;
                    }
                    // Beast takes the complete lines of a partial head and reports them consumed
                    // with need_more; fed the same bytes again it fails. So it gets the head once
                    // whole, or once past the size limit so that it reports the limit.
                    if (verdict == HeadScanner::Verdict::Complete || m_in.size() > config.limits.maxHeaderBytes) {
                        const std::size_t n = parser.put(asio::const_buffer(m_in.data(), m_in.size()), ec);
                        if (!ec) {
                            m_in.consume(n);
                            headDone = true;
                            break;
                        }
                        if (ec != bhttp::error::need_more) {
                            spdlog::debug("invalid request from {}: {}", m_clientIp, ec.message());
                            parseFailed = true;
                            break;
                        }
                        ec = {};
                    }
                    if (m_in.full()) {
                        m_in.reserve(std::min<std::size_t>(m_in.capacity() * 2, config.limits.maxHeaderBytes + 1024));
                    }
                }
                if (m_closing || (m_idle && m_worker.draining())) {
                    break;
                }
                const std::size_t n = co_await m_socket.async_read_some(m_in.prepare(kMinRead), noThrow(ec));
                if (ec) {
                    break;
                }
                m_in.commit(n);
                if (expired(Phase::ClientHeader)) {
                    // The deadline fired while this read's completion was already queued, so the
                    // cancel found nothing to cancel and the watchdog is spent: without this check
                    // the next read would wait with no deadline, and a trickling client could
                    // hold the connection forever.
                    break;
                }
                if (m_idle) {
                    m_idle = false;
                    m_requestStart = Clock::now();
                    arm(Phase::ClientHeader, config.timeouts.clientHeader);
                }
            }
            if (!headDone) {
                Exchange x;
                if (parseFailed) {
                    m_unreadInput = true; // a parse error: answer it, the rest of the input is garbage
                    if (parseProblem.empty()) {
                        parseProblem = describeRequestParseError(parser.failure(), ec);
                    }
                    co_await replyError(classifyRequestParseError(parser.failure(), ec), parseProblem,
                                        *routing, x, true);
                } else if (expired(Phase::ClientHeader) && !m_closing) {
                    co_await replyError(ProxyError::HeaderTimeout, {}, *routing, x, true);
                }
                break; // closed, idle timeout or drained: nothing to answer
            }
            m_idle = false;

            // ---- route and forward; a keep-alive connection may have waited across a reload
            routing = m_worker.routing();
            Exchange x;
            Plan p = plan(parser, *routing, x);
            if (!p.error && m_request.method == bhttp::verb::options) [[unlikely]] {
                // A CORS preflight is the gateway's to answer: it never reaches a backend.
                const auto& transforms = routing->snapshot->transforms[static_cast<std::size_t>(x.routeIndex)];
                if (transforms && transforms->cors && policy::CorsPolicy::isPreflight(m_request.headers)) {
                    keepAlive = co_await answerPreflight(*transforms->cors, parser.keep_alive(), *routing, x);
                    continue;
                }
            }
            const policy::RouteAuth* auth =
                p.error ? nullptr : routing->snapshot->auth[static_cast<std::size_t>(x.routeIndex)].get();
            if (auth != nullptr && !authenticate(*auth, p, x)) {
                auth = nullptr;
            }
            if (!p.error) {
                const auto mode = routing->snapshot->limitModes[static_cast<std::size_t>(x.routeIndex)];
                if (mode != policy::LimitMode::None) {
                    p.error = co_await limit(*routing, p.target, mode, x);
                }
                p.close = p.error && m_unreadInput; // the body was not read: close rather than parse it as a request
            }
            if (auth != nullptr && !p.error) {
                applyAuth(*auth, p.target, x); // after the limits, which may key on the credentials
            }
            if (p.route != nullptr && m_worker.captures().active()) [[unlikely]] {
                capture(parser, *p.route, p.target, x);
            }
            if (p.error) {
                keepAlive = co_await replyError(*p.error, p.detail, *routing, x, p.close);
            } else if (p.route->hasRedirect) {
                keepAlive = co_await replyRedirect(*p.route, p.target, *routing, x, m_unreadInput);
            } else {
                keepAlive = co_await forward(parser, routing, *p.route, p.target, x);
            }
        }
        co_await finish(m_unreadInput);
    } catch (const std::exception& e) {
        spdlog::error("connection from {}: {}", m_clientIp, e.what());
    }
    m_watchdog.disarm();
}

Task<void> DownstreamSession::finish(bool linger) {
    error_code ec;
    if (!m_closing && m_socket.is_open() && m_socket.tls()) {
        co_await shutdownTls();
    } else if (!m_closing && m_socket.is_open()) {
        m_socket.shutdown(Socket::shutdown_send, ec);
        // Closing with unread request bytes makes the kernel send RST, which can destroy the
        // response we just sent before the client reads it. Drain a bounded amount first.
        if (!ec && linger) {
            arm(Phase::Linger, kLingerTime);
            std::size_t drained = 0;
            while (drained < kLingerBytes) {
                m_in.clear();
                const std::size_t n = co_await m_socket.async_read_some(m_in.prepare(kMinRead), noThrow(ec));
                if (ec) {
                    break;
                }
                drained += n;
            }
        }
    }
    m_socket.close(ec);
}

DownstreamSession::Plan DownstreamSession::plan(const RequestParser& parser, const net::WorkerRouting& routing,
                                                Exchange& x) {
    const core::RuntimeSnapshot& snapshot = *routing.snapshot;
    const HeaderPolicy& policy = snapshot.headerPolicy;
    x.parsed = true;
    if (policy.trustRequestId) {
        if (const auto id = m_request.headers.get(policy.requestIdHeader); id && isAcceptableRequestId(*id)) {
            x.requestId = *id;
        }
    }
    if (x.requestId.empty()) {
        x.requestId = m_worker.requestIds().next(m_idBuffer);
    }
    const bool hasBody = parser.chunked() || parser.content_length().value_or(0) > 0;
    m_unreadInput = hasBody; // until the body is relayed, an early answer must close the connection
    m_bodyTooSlow = false;
    m_bodyRate.start(snapshot.config.limits.minBodyRate, snapshot.config.limits.minBodyRateWindow);

    Plan p;
    if (m_request.method == bhttp::verb::connect) {
        p.error = ProxyError::MethodNotAllowed;
        p.close = true;
        return p;
    }

    // Request target: origin-form ("/path?q") or absolute-form ("http://host/path"), RFC 9112 3.2.
    p.target.authority = m_request.headers.get(bhttp::field::host).value_or(std::string_view());
    std::string_view pathAndQuery = m_request.target();
    if (pathAndQuery.empty() || pathAndQuery.front() != '/') {
        const auto schemeEnd = pathAndQuery.find("://");
        const auto scheme = pathAndQuery.substr(0, schemeEnd == std::string_view::npos ? 0 : schemeEnd);
        if (schemeEnd == std::string_view::npos ||
            !(equalsIgnoreCase(scheme, "http") || equalsIgnoreCase(scheme, "https"))) {
            p.error = ProxyError::BadRequest;
            p.detail = "the request target must be a path or an absolute URI";
            p.close = true;
            return p;
        }
        const std::string_view rest = pathAndQuery.substr(schemeEnd + 3);
        const auto authorityEnd = rest.find_first_of("/?");
        p.target.authority = rest.substr(0, authorityEnd);
        if (p.target.authority.empty() || p.target.authority.find('@') != std::string_view::npos) {
            p.error = ProxyError::BadRequest;
            p.detail = "invalid authority in the request target";
            p.close = true;
            return p;
        }
        pathAndQuery = authorityEnd == std::string_view::npos ? std::string_view() : rest.substr(authorityEnd);
        // RFC 9112 3.2.2 lets the target's authority win over Host, but a backend that reads Host
        // would route the same bytes elsewhere: a disagreement is refused, not resolved.
        if (const auto host = m_request.headers.get(bhttp::field::host);
            host &&
            !sameAuthority(*host, p.target.authority, equalsIgnoreCase(scheme, "https") ? "443" : "80")) {
            p.error = ProxyError::BadRequest;
            p.detail = "the Host header does not match the authority of the request target";
            p.close = true;
            return p;
        }
    }
    const auto question = pathAndQuery.find('?');
    p.target.path = pathAndQuery.substr(0, question);
    if (question != std::string_view::npos) {
        p.target.query = pathAndQuery.substr(question + 1);
    }
    if (p.target.path.empty()) {
        p.target.path = "/";
    }

    routing::normalizeHost(p.target.authority, m_host);
    const RequestHeaders headers(m_request.headers);
    p.route = snapshot.routes.match(
        routing::RequestView{m_host, p.target.path, m_request.methodText(), p.target.query, &headers}, m_regexScratch,
        m_pathGroups);
    if (p.route == nullptr) {
        p.error = ProxyError::NoRoute;
        p.close = hasBody;
        return p;
    }
    x.route = p.route->name;
    x.routeIndex = static_cast<int>(p.route - snapshot.routes.routes().data());
    const std::uint64_t maxBody = p.route->maxBodyBytes.value_or(snapshot.config.limits.maxBodyBytes);
    if (maxBody != 0 && parser.content_length().value_or(0) > maxBody) {
        p.error = ProxyError::BodyTooLarge;
        p.close = true;
    }
    return p;
}

void DownstreamSession::capture(const RequestParser& parser, const routing::Route& route,
                                const Target& target, Exchange& x) {
    // Origin form as the client sent it; an absolute-form target is reduced to path and query.
    std::string_view requestTarget = m_request.target();
    std::string rebuilt;
    if (requestTarget.empty() || requestTarget.front() != '/') {
        rebuilt.assign(target.path);
        if (!target.query.empty()) {
            rebuilt += '?';
            rebuilt.append(target.query);
        }
        requestTarget = rebuilt;
    }
    // A chunked body's size is known only once relayed (forward() completes the ticket).
    const std::optional<std::uint64_t> bodyBytes =
        parser.chunked() ? std::nullopt : std::optional<std::uint64_t>(parser.content_length().value_or(0));
    m_worker.captures().offer(
        route.name, m_request.methodText(), requestTarget,
        [this](std::string_view name) { return m_request.headers.get(name); }, bodyBytes, x.capture);
}

template <class Parser>
Task<DownstreamSession::PumpResult> DownstreamSession::pump(Parser& parser, ByteBuffer& in, net::Stream& from,
                                                            net::Stream& to, bool chunkOut, asio::const_buffer prefix,
                                                            Phase readPhase, milliseconds readTimeout, Phase writePhase,
                                                            milliseconds writeTimeout, std::uint64_t limit,
                                                            std::uint64_t& moved) {
    error_code ec;
    bool prefixPending = prefix.size() > 0;
    std::array<char, 24> sizeLine{};
    for (;;) {
        // Parse what is buffered; body pieces are views into `in`, valid until consume().
        m_sink.reset();
        const std::optional<std::size_t> parsedNow = parseBuffered(parser, in);
        if (!parsedNow) {
            co_return PumpResult::Protocol;
        }
        const std::size_t parsed = *parsedNow;
        moved += m_sink.bytes;
        if (limit != 0 && moved > limit) {
            co_return PumpResult::TooLarge;
        }
        const bool done = parser.is_done();
        GatherList out;
        if (prefixPending) {
            out.push(prefix);
        }
        if (m_sink.bytes > 0) {
            if (chunkOut) {
                out.push(chunkSizeLine(sizeLine, m_sink.bytes));
            }
            for (std::size_t i = 0; i < m_sink.count; ++i) {
                out.push(m_sink.pieces[i]);
            }
            if (chunkOut) {
                out.push(kCrlf);
            }
        }
        if (done && chunkOut) {
            out.push(kLastChunk);
        }
        if (!out.empty()) {
            arm(writePhase, writeTimeout);
            co_await asio::async_write(to, out, noThrow(ec));
            if (ec) {
                co_return expired(writePhase) ? PumpResult::WriteTimeout : PumpResult::WriteError;
            }
            prefixPending = false;
        }
        in.consume(parsed);
        if (done) {
            co_return PumpResult::Done;
        }
        if (in.full()) {
            co_return PumpResult::Protocol; // a framing line longer than the whole buffer
        }
        arm(readPhase, readTimeout);
        const std::size_t n = co_await from.async_read_some(in.prepare(kMinRead), noThrow(ec));
        if (ec == asio::error::eof) {
            parser.put_eof(ec);
            if (ec) {
                co_return PumpResult::ReadEof;
            }
            if (chunkOut) {
                arm(writePhase, writeTimeout);
                co_await asio::async_write(to, asio::buffer(kLastChunk), noThrow(ec));
                if (ec) {
                    co_return expired(writePhase) ? PumpResult::WriteTimeout : PumpResult::WriteError;
                }
            }
            co_return PumpResult::Done;
        }
        if (ec) {
            co_return expired(readPhase) ? PumpResult::ReadTimeout : PumpResult::ReadError;
        }
        // A deadline that fired while this completion was queued (nothing left to cancel) still counts.
        if (expired(readPhase) || (readPhase == Phase::ClientBody && !noteBodyBytes(n))) {
            co_return PumpResult::ReadTimeout;
        }
        in.commit(n);
    }
}

template Task<DownstreamSession::PumpResult> DownstreamSession::pump<RequestParser>(
    RequestParser&, ByteBuffer&, net::Stream&, net::Stream&, bool, asio::const_buffer, Phase, milliseconds, Phase, milliseconds,
    std::uint64_t, std::uint64_t&);
template Task<DownstreamSession::PumpResult> DownstreamSession::pump<ResponseParser>(
    ResponseParser&, ByteBuffer&, net::Stream&, net::Stream&, bool, asio::const_buffer, Phase, milliseconds, Phase, milliseconds,
    std::uint64_t, std::uint64_t&);

Task<bool> DownstreamSession::replyError(ProxyError error, std::string_view detail, const net::WorkerRouting& routing,
                                         Exchange& x, bool close) {
    if (m_closing || !m_socket.is_open()) {
        co_return false;
    }
    if (x.requestId.empty()) {
        x.requestId = m_worker.requestIds().next(m_idBuffer);
    }
    close = close || m_worker.draining();
    const ErrorInfo& info = describe(error);
    writeErrorResponse(error, x.requestId, detail, routing.snapshot->headerPolicy, close, m_responseHead,
                       errorExtraLines(error, routing, x));
    x.status = info.status;
    x.error = info.code;
    error_code ec;
    arm(Phase::ClientSend, routing.snapshot->config.timeouts.clientSend);
    co_await asio::async_write(m_socket, asio::buffer(m_responseHead), noThrow(ec));
    log(routing, x);
    co_return !ec && !close;
}

void DownstreamSession::log(const net::WorkerRouting& routing, const Exchange& x) {
    // Metrics first (always), then the access log (when enabled).
    const auto end = x.switchedAt != Clock::time_point{} ? x.switchedAt : Clock::now();
    const auto totalMicros = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(end - m_requestStart).count());
    const auto upstreamMicros = x.upstreamMs >= 0 ? static_cast<std::uint64_t>(x.upstreamMs * 1000.0) : 0;
    const std::size_t statusClass = x.status >= 100 && x.status < 600 ? static_cast<std::size_t>(x.status / 100 - 1) : 4;
    const std::size_t errorIndex = x.error.empty() ? metrics::kErrorCodes.size() : metrics::errorIndex(x.error);
    const std::size_t latencyBucket = protocol::LatencyHistogram::bucketOf(totalMicros);
    const std::size_t upstreamBucket = protocol::LatencyHistogram::bucketOf(upstreamMicros);
    auto count = [&](metrics::StatsBlock& block) {
        block.requests.add();
        block.responses[statusClass].add();
        if (errorIndex < metrics::kErrorCodes.size()) {
            block.errors[errorIndex].add();
        }
        block.retries.add(x.retries);
        block.bytesIn.add(x.bytesIn);
        block.bytesOut.add(x.bytesOut);
        block.latency[latencyBucket].add();
        block.latencySum.add(totalMicros);
        if (x.upstreamMs >= 0) {
            block.upstream[upstreamBucket].add();
            block.upstreamSum.add(upstreamMicros);
        }
    };
    count(m_worker.stats().total());
    if (x.routeIndex >= 0) {
        auto& block = *routing.routeStats[static_cast<std::size_t>(x.routeIndex)];
        count(block);
        if (x.compressedWith >= 0) {
            block.compressed[static_cast<std::size_t>(x.compressedWith)].add();
            block.compressionIn.add(x.compressionIn);
            block.compressionOut.add(x.bytesOut);
        }
    }
    if (x.poolIndex >= 0) {
        count(*routing.poolStats[static_cast<std::size_t>(x.poolIndex)]);
        if (x.instanceIndex >= 0) {
            auto& block = *routing.instanceStats[static_cast<std::size_t>(x.poolIndex)][static_cast<std::size_t>(x.instanceIndex)];
            count(block);
            block.countMethodStatus(metrics::methodIndex(x.parsed ? m_request.methodText() : "OTHER"), x.status);
        }
    }

    const auto& accessLog = routing.snapshot->accessLog;
    if (!accessLog || !accessLog->enabled()) {
        return;
    }
    AccessRecord record;
    record.clientIp = m_clientIp;
    if (x.parsed) {
        record.method = m_request.methodText();
        record.path = m_request.target();
        if (!accessLog->includeQuery()) {
            record.path = record.path.substr(0, record.path.find('?'));
        }
        record.version = m_request.version;
    } else {
        record.method = "-";
        record.path = "-";
    }
    record.status = x.status;
    record.bytesIn = x.bytesIn;
    record.bytesOut = x.bytesOut;
    record.route = x.route;
    record.pool = x.pool;
    record.instance = x.instance;
    record.requestId = x.requestId;
    record.error = x.error;
    record.consumer = x.consumer;
    record.totalMs = millisecondsSince(m_requestStart);
    record.upstreamMs = x.upstreamMs;
    if (m_socket.tls()) {
        record.tls = SSL_get_version(m_socket.tlsHandle()); // a static string
    }
    accessLog->write(record);
}

} // namespace gaetwae::engine::http

#include "engine/http/downstream_session.hpp"

#include "engine/balancing/balancer.hpp"
#include "engine/net/worker.hpp"
#include "engine/routing/route_table.hpp"

#include <boost/beast/http/error.hpp>
#include <spdlog/spdlog.h>

#include <charconv>

namespace gaetwae::engine::http {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::size_t kInitialBuffer = 8 * 1024;
constexpr std::size_t kStreamBuffer = 64 * 1024;
constexpr std::size_t kMinRead = 4 * 1024;
constexpr std::size_t kLingerBytes = 256 * 1024;
constexpr milliseconds kLingerTime{1000};
constexpr std::string_view kCrlf = "\r\n";
constexpr std::string_view kLastChunk = "0\r\n\r\n";
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

// A fixed-capacity gather list Asio accepts as a ConstBufferSequence: one writev per batch.
class GatherList {
public:
    using value_type = asio::const_buffer;
    using const_iterator = const asio::const_buffer*;

    void push(asio::const_buffer buffer) {
        if (buffer.size() > 0) {
            m_items[m_count++] = buffer;
        }
    }
    void push(std::string_view text) { push(asio::const_buffer(text.data(), text.size())); }
    const_iterator begin() const { return m_items.data(); }
    const_iterator end() const { return m_items.data() + m_count; }
    bool empty() const { return m_count == 0; }

private:
    std::array<asio::const_buffer, BodySink::kMaxPieces + 4> m_items{};
    std::size_t m_count = 0;
};

double millisecondsSince(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

std::uint32_t headerLimit(std::uint64_t configured) {
    return static_cast<std::uint32_t>(std::min<std::uint64_t>(configured, 0xffffffffu));
}

std::string clientAddress(const Socket& socket) {
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

} // namespace

struct DownstreamSession::Exchange {
    bool parsed = false; // the request head parsed, so method and target are meaningful
    std::string_view requestId;
    std::string_view route;
    std::string_view pool;
    std::string_view instance;
    std::string_view error;
    int status = 0;
    std::uint64_t bytesIn = 0;
    std::uint64_t bytesOut = 0;
    Clock::time_point upstreamStart{};
    double upstreamMs = -1;
};

DownstreamSession::DownstreamSession(net::Worker& worker, Socket socket)
    : m_worker(worker)
    , m_socket(std::move(socket))
    , m_watchdog(m_socket.get_executor(), [this] { onTimeout(); })
    , m_in(kInitialBuffer)
    , m_clientIp(clientAddress(m_socket)) {
    worker.registerSession(*this);
    error_code ignored;
    m_socket.set_option(tcp::no_delay(true), ignored);
}

DownstreamSession::~DownstreamSession() = default;

void DownstreamSession::close() {
    m_closing = true;
    error_code ignored;
    m_socket.close(ignored);
    if (m_upstream) {
        m_upstream->socket.close(ignored);
    }
}

void DownstreamSession::arm(Phase phase, milliseconds timeout) {
    m_phase = phase;
    m_expired = Phase::None;
    m_watchdog.expireAfter(timeout);
}

void DownstreamSession::onTimeout() {
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
        while (keepAlive && !m_closing) {
            std::shared_ptr<net::WorkerRouting> routing = m_worker.routing();
            const auto& config = routing->snapshot->config;
            RequestParser parser(m_request, m_sink, config.limits.maxUriBytes, config.limits.maxHeaderCount,
                                 headerLimit(config.limits.maxHeaderBytes));

            // ---- read the request head
            m_idle = m_in.empty();
            if (m_idle) {
                arm(Phase::KeepAlive, config.timeouts.clientKeepalive);
            } else {
                m_requestStart = Clock::now();
                arm(Phase::ClientHeader, config.timeouts.clientHeader);
            }
            error_code ec;
            bool headDone = false;
            bool parseFailed = false;
            while (!headDone) {
                if (!m_in.empty()) {
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
                    co_await replyError(classifyRequestParseError(parser.failure(), ec), {}, *routing, x, true);
                } else if (expired(Phase::ClientHeader) && !m_closing) {
                    co_await replyError(ProxyError::HeaderTimeout, {}, *routing, x, true);
                }
                break; // closed, idle timeout or drained: nothing to answer
            }
            m_idle = false;

            // ---- route and forward; a keep-alive connection may have waited across a reload
            routing = m_worker.routing();
            Exchange x;
            const Plan p = plan(parser, *routing, x);
            if (p.error) {
                keepAlive = co_await replyError(*p.error, p.detail, *routing, x, p.close);
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
    if (!m_closing && m_socket.is_open()) {
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
    p.route = snapshot.routes.match(m_host, p.target.path, m_request.methodText());
    if (p.route == nullptr) {
        p.error = ProxyError::NoRoute;
        p.close = hasBody;
        return p;
    }
    x.route = p.route->name;
    const std::uint64_t maxBody = snapshot.config.limits.maxBodyBytes;
    if (maxBody != 0 && parser.content_length().value_or(0) > maxBody) {
        p.error = ProxyError::BodyTooLarge;
        p.close = true;
    }
    return p;
}

Task<bool> DownstreamSession::forward(RequestParser& parser, const std::shared_ptr<net::WorkerRouting>& routingPtr,
                                      const routing::Route& route, const Target& target, Exchange& x) {
    net::WorkerRouting& routing = *routingPtr;
    const core::RuntimeSnapshot& snapshot = *routing.snapshot;
    const auto& limits = snapshot.config.limits;
    const auto& timeouts = snapshot.config.timeouts;
    const core::RuntimePool& pool = snapshot.pools[route.poolIndex];
    balancing::Balancer& balancer = *routing.balancers[route.poolIndex];
    x.pool = pool.snapshot->name;

    const auto contentLength = parser.content_length();
    const std::uint64_t length = contentLength.value_or(0);
    BodyFraming framing = BodyFraming::None;
    if (parser.chunked()) {
        framing = BodyFraming::Chunked;
    } else if (length > 0) {
        framing = BodyFraming::ContentLength;
    }
    // A body already fully in our buffer can be re-sent if a pooled connection turns out dead.
    const bool bodyBuffered = framing == BodyFraming::ContentLength && m_in.size() >= length;
    const bool replayable = framing == BodyFraming::None || bodyBuffered;
    bool clientKeepAlive = parser.keep_alive();

    rewriteTarget(route, target.path, target.query, m_target);
    UpstreamRequestContext context;
    context.target = m_target;
    context.clientIp = m_clientIp;
    context.requestId = x.requestId;
    context.framing = framing;
    context.contentLength = length;

    const balancing::RequestKey key{m_clientIp, m_host, target.path, target.query};
    std::optional<ResponseParser> responseParser;
    health::ActiveRequestGuard active;
    UpstreamConnectionPtr connection;
    bool sentContinue = false;
    error_code ec;

    for (int attempt = 0;; ++attempt) {
        const auto index = balancer.pick(*pool.snapshot, key, {}, nullptr);
        if (!index) {
            co_return co_await replyError(ProxyError::NoInstance, {}, routing, x, framing != BodyFraming::None);
        }
        const balancing::InstanceSnapshot& instance = pool.snapshot->instances[*index];
        const tcp::endpoint& endpoint = pool.endpoints[*index];
        x.instance = instance.id;
        if (x.upstreamStart == Clock::time_point{}) {
            x.upstreamStart = Clock::now();
        }

        // A request that cannot be repeated must not meet a connection the backend just closed.
        connection = attempt == 0 ? m_worker.upstreams().takeIdle(endpoint, !isIdempotent(m_request.method)) : nullptr;
        const bool reused = connection != nullptr;
        if (!connection) {
            connection = std::make_shared<UpstreamConnection>(m_worker.io());
            connection->endpoint = endpoint;
            m_upstream = connection;
            arm(Phase::UpstreamConnect, timeouts.upstreamConnect);
            co_await connection->socket.async_connect(endpoint, noThrow(ec));
            if (!ec) {
                error_code ignored;
                connection->socket.set_option(tcp::no_delay(true), ignored);
            }
            if (ec) {
                m_upstream.reset();
                if (m_closing) {
                    co_return false;
                }
                const bool timedOut = expired(Phase::UpstreamConnect);
                spdlog::debug("connect to {} ({}) failed: {}", instance.id, instance.address, ec.message());
                co_return co_await replyError(timedOut ? ProxyError::UpstreamConnectTimeout
                                                       : ProxyError::UpstreamConnectFailed,
                                              {}, routing, x, framing != BodyFraming::None && !bodyBuffered);
            }
            m_worker.upstreams().countOpened();
        }
        m_upstream = connection;
        active = health::ActiveRequestGuard(*instance.state);
        ++connection->requests;

        if (m_request.expectContinue && framing != BodyFraming::None && m_in.empty() && !sentContinue) {
            arm(Phase::ClientSend, timeouts.clientSend);
            co_await asio::async_write(m_socket, asio::buffer(kContinue), noThrow(ec));
            if (ec) {
                co_return false;
            }
            sentContinue = true;
        }

        context.host = target.authority.empty() ? std::string_view(instance.address) : target.authority;
        writeUpstreamRequestHead(m_request, context, snapshot.headerPolicy, m_upstreamHead);

        // ---- send the request
        bool sendFailed = false;
        if (framing == BodyFraming::None || bodyBuffered) {
            GatherList out;
            out.push(m_upstreamHead);
            if (bodyBuffered) {
                out.push(std::string_view(m_in.data(), length));
            }
            arm(Phase::UpstreamSend, timeouts.upstreamResponse);
            co_await asio::async_write(connection->socket, out, noThrow(ec));
            if (m_closing) {
                co_return false;
            }
            if (ec && expired(Phase::UpstreamSend)) {
                co_return co_await replyError(ProxyError::UpstreamTimeout, {}, routing, x, false);
            }
            sendFailed = static_cast<bool>(ec);
            x.bytesIn = length;
        } else {
            if (length > m_in.capacity() || framing == BodyFraming::Chunked) {
                m_in.reserve(kStreamBuffer);
            }
            const PumpResult sent = co_await pump(parser, m_in, m_socket, connection->socket,
                                                  framing == BodyFraming::Chunked, asio::buffer(m_upstreamHead),
                                                  Phase::ClientBody, timeouts.clientBody, Phase::UpstreamSend,
                                                  timeouts.upstreamResponse, limits.maxBodyBytes, x.bytesIn);
            if (m_closing) {
                co_return false;
            }
            switch (sent) {
            case PumpResult::Done:
                m_unreadInput = false;
                break;
            case PumpResult::TooLarge:
                co_return co_await replyError(ProxyError::BodyTooLarge, {}, routing, x, true);
            case PumpResult::ReadTimeout:
                co_return co_await replyError(ProxyError::BodyTimeout, {}, routing, x, true);
            case PumpResult::Protocol:
                co_return co_await replyError(ProxyError::BadRequest, "malformed chunked request body", routing, x,
                                              true);
            case PumpResult::WriteTimeout:
                co_return co_await replyError(ProxyError::UpstreamTimeout, {}, routing, x, true);
            case PumpResult::WriteError:
                co_return co_await replyError(ProxyError::UpstreamReset, {}, routing, x, true);
            case PumpResult::ReadEof:
            case PumpResult::ReadError:
                co_return false; // the client left in the middle of its own request
            }
        }
        if (sendFailed) {
            m_upstream.reset();
            connection.reset();
            active.release();
            if (reused && replayable && attempt == 0) {
                continue; // a pooled connection died while idle: once more on a fresh one
            }
            co_return co_await replyError(ProxyError::UpstreamReset, {}, routing, x, !replayable);
        }

        // ---- read the response head, skipping interim 1xx responses
        bool received = false;
        bool closedEarly = false;
        std::optional<ProxyError> failure;
        for (bool final = false; !final && !failure && !closedEarly;) {
            responseParser.emplace(m_response, m_sink, limits.maxHeaderCount, headerLimit(limits.maxResponseHeaderBytes));
            if (m_request.method == bhttp::verb::head) {
                responseParser->skip(true);
            }
            for (;;) {
                if (!connection->buffer.empty()) {
                    const std::size_t n = responseParser->put(
                        asio::const_buffer(connection->buffer.data(), connection->buffer.size()), ec);
                    if (!ec) {
                        connection->buffer.consume(n);
                        break;
                    }
                    if (ec != bhttp::error::need_more) {
                        spdlog::debug("invalid response from {}: {}", x.instance, ec.message());
                        failure = ProxyError::UpstreamProtocolError;
                        break;
                    }
                    ec = {};
                    if (connection->buffer.full()) {
                        connection->buffer.reserve(std::min<std::size_t>(connection->buffer.capacity() * 2,
                                                                         limits.maxResponseHeaderBytes + 1024));
                    }
                }
                arm(Phase::UpstreamResponse, timeouts.upstreamResponse);
                const std::size_t n = co_await connection->socket.async_read_some(connection->buffer.prepare(kMinRead),
                                                                                  noThrow(ec));
                if (m_closing) {
                    co_return false;
                }
                if (ec) {
                    if (expired(Phase::UpstreamResponse)) {
                        failure = ProxyError::UpstreamTimeout;
                    } else if (!received) {
                        closedEarly = true;
                    } else {
                        failure = ProxyError::UpstreamReset;
                    }
                    break;
                }
                received = true;
                connection->buffer.commit(n);
            }
            if (!failure && !closedEarly) {
                final = m_response.status >= 200 || m_response.status == 101;
            }
        }
        if (closedEarly && reused && replayable && attempt == 0 && isIdempotent(m_request.method)) {
            m_upstream.reset();
            connection.reset();
            active.release();
            continue; // closed before answering anything: the classic keep-alive race, safe to repeat
        }
        if (closedEarly) {
            failure = ProxyError::UpstreamReset;
        }
        if (!failure && m_response.status == 101) {
            failure = ProxyError::UpstreamProtocolError; // upgrades are not proxied (Upgrade is stripped)
        }
        if (failure) {
            m_upstream.reset();
            connection.reset();
            active.release();
            if (bodyBuffered) {
                m_in.consume(length);
            }
            co_return co_await replyError(*failure, {}, routing, x, m_unreadInput);
        }
        break;
    }
    if (bodyBuffered) {
        m_in.consume(length);
        m_unreadInput = false;
    }

    // ---- relay the response
    const int status = m_response.status;
    const bool bodiless = m_request.method == bhttp::verb::head || status == 204 || status == 304;
    ResponseParser& rp = *responseParser;
    BodyFraming upstreamFraming = BodyFraming::None;
    if (!bodiless) {
        upstreamFraming = rp.chunked()                    ? BodyFraming::Chunked
                          : rp.content_length().has_value() ? BodyFraming::ContentLength
                                                            : BodyFraming::UntilClose;
    }
    DownstreamResponseContext response;
    response.requestId = x.requestId;
    response.clientVersion = m_request.version;
    if (bodiless) {
        response.passContentLength = status != 204;
    } else if (upstreamFraming == BodyFraming::ContentLength) {
        response.framing = BodyFraming::ContentLength;
        response.contentLength = *rp.content_length();
    } else if (m_request.version >= 11) {
        response.framing = BodyFraming::Chunked;
    } else {
        response.framing = BodyFraming::UntilClose;
        clientKeepAlive = false;
    }
    if (m_worker.draining()) {
        clientKeepAlive = false; // finish this one, then let the client reconnect elsewhere
    }
    response.keepAlive = clientKeepAlive;
    writeDownstreamResponseHead(m_response, response, snapshot.headerPolicy, m_responseHead);
    x.status = status;

    if (upstreamFraming != BodyFraming::None && upstreamFraming != BodyFraming::ContentLength) {
        connection->buffer.reserve(kStreamBuffer);
    } else if (response.contentLength > connection->buffer.capacity()) {
        connection->buffer.reserve(kStreamBuffer);
    }
    PumpResult relayed = PumpResult::Done;
    if (upstreamFraming == BodyFraming::None ||
        (upstreamFraming == BodyFraming::ContentLength && connection->buffer.size() >= response.contentLength)) {
        // Fast path, the common case for API responses: the whole body is already buffered.
        // Parse it in place and send head and body with one write, no relay loop.
        m_sink.reset();
        std::size_t parsed = 0;
        while (!rp.is_done() && parsed < connection->buffer.size()) {
            const std::size_t n = rp.put(
                asio::const_buffer(connection->buffer.data() + parsed, connection->buffer.size() - parsed), ec);
            if (ec || n == 0) {
                break;
            }
            parsed += n;
        }
        if (rp.is_done()) {
            GatherList out;
            out.push(m_responseHead);
            for (std::size_t i = 0; i < m_sink.count; ++i) {
                out.push(m_sink.pieces[i]);
            }
            x.bytesOut = m_sink.bytes;
            arm(Phase::ClientSend, timeouts.clientSend);
            co_await asio::async_write(m_socket, out, noThrow(ec));
            connection->buffer.consume(parsed);
            if (ec) {
                relayed = expired(Phase::ClientSend) ? PumpResult::WriteTimeout : PumpResult::WriteError;
            }
        } else {
            relayed = PumpResult::Protocol; // unreachable with a well-formed length; be safe
        }
    } else {
        relayed = co_await pump(rp, connection->buffer, connection->socket, m_socket,
                                response.framing == BodyFraming::Chunked, asio::buffer(m_responseHead),
                                Phase::UpstreamBody, timeouts.upstreamResponse, Phase::ClientSend, timeouts.clientSend,
                                0, x.bytesOut);
    }
    m_upstream.reset();
    active.release();
    x.upstreamMs = millisecondsSince(x.upstreamStart);
    switch (relayed) {
    case PumpResult::Done:
        if (upstreamFraming != BodyFraming::UntilClose && rp.keep_alive()) {
            m_worker.upstreams().release(std::move(connection));
        }
        log(routing, x);
        co_return clientKeepAlive && !m_closing;
    case PumpResult::ReadEof:
    case PumpResult::ReadError:
    case PumpResult::ReadTimeout:
    case PumpResult::Protocol:
    case PumpResult::TooLarge:
        // The head is out already: the only honest signal left is to cut the connection so the
        // client sees a truncated body instead of a complete-looking one.
        x.error = relayed == PumpResult::ReadTimeout ? "upstream_timeout_mid_body" : "upstream_reset_mid_body";
        log(routing, x);
        co_return false;
    case PumpResult::WriteError:
    case PumpResult::WriteTimeout:
        x.error = "client_gone";
        log(routing, x);
        co_return false;
    }
    co_return false;
}

template <class Parser>
Task<DownstreamSession::PumpResult> DownstreamSession::pump(Parser& parser, ByteBuffer& in, Socket& from,
                                                            Socket& to, bool chunkOut, asio::const_buffer prefix,
                                                            Phase readPhase, milliseconds readTimeout, Phase writePhase,
                                                            milliseconds writeTimeout, std::uint64_t limit,
                                                            std::uint64_t& moved) {
    error_code ec;
    bool prefixPending = prefix.size() > 0;
    std::array<char, 24> sizeLine{};
    for (;;) {
        // Parse what is buffered; body pieces are views into `in`, valid until consume().
        m_sink.reset();
        std::size_t parsed = 0;
        while (!parser.is_done() && parsed < in.size()) {
            const std::size_t n = parser.put(asio::const_buffer(in.data() + parsed, in.size() - parsed), ec);
            if (ec == bhttp::error::need_more) {
                ec = {};
                break;
            }
            if (ec) {
                co_return PumpResult::Protocol;
            }
            parsed += n;
            if (n == 0) {
                break; // the sink is full: write first
            }
        }
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
                auto [end, error] = std::to_chars(sizeLine.data(), sizeLine.data() + 16, m_sink.bytes, 16);
                *end++ = '\r';
                *end++ = '\n';
                out.push(asio::const_buffer(sizeLine.data(), static_cast<std::size_t>(end - sizeLine.data())));
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
        in.commit(n);
    }
}

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
    writeErrorResponse(error, x.requestId, detail, routing.snapshot->headerPolicy, close, m_responseHead);
    x.status = info.status;
    x.error = info.code;
    error_code ec;
    arm(Phase::ClientSend, routing.snapshot->config.timeouts.clientSend);
    co_await asio::async_write(m_socket, asio::buffer(m_responseHead), noThrow(ec));
    log(routing, x);
    co_return !ec && !close;
}

void DownstreamSession::log(const net::WorkerRouting& routing, const Exchange& x) {
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
    record.totalMs = millisecondsSince(m_requestStart);
    record.upstreamMs = x.upstreamMs;
    accessLog->write(record);
}

} // namespace gaetwae::engine::http

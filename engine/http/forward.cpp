// DownstreamSession::forward: one request to its pool, with instance choice (balancer, sticky
// sessions, circuit breakers), pool limits, retries and passive health accounting, then the
// response relayed to the client.
#include "engine/http/downstream_session.hpp"

#include "engine/balancing/hashing.hpp"
#include "engine/http/body_encoder.hpp"
#include "engine/http/session_detail.hpp"
#include "engine/http/upgrade.hpp"
#include "engine/net/worker.hpp"
#include "engine/policy/retry_policy.hpp"
#include "engine/policy/route_transforms.hpp"
#include "engine/policy/sticky_session.hpp"
#include "engine/routing/route_table.hpp"

#include <boost/beast/http/error.hpp>
#include <spdlog/spdlog.h>

namespace gaetwae::engine::http {

using namespace session_detail;

namespace {

// Increments a shared counter for its lifetime.
class CounterGuard {
public:
    explicit CounterGuard(std::atomic<std::int64_t>& counter)
        : m_counter(&counter) {
        m_counter->fetch_add(1, std::memory_order_relaxed);
    }
    CounterGuard(const CounterGuard&) = delete;
    CounterGuard& operator=(const CounterGuard&) = delete;
    ~CounterGuard() { m_counter->fetch_sub(1, std::memory_order_relaxed); }

private:
    std::atomic<std::int64_t>* m_counter;
};

nlohmann::json traceJson(const balancing::PoolSnapshot& pool, const balancing::PickTrace& trace, std::size_t chosen) {
    nlohmann::json candidates = nlohmann::json::array();
    for (const auto& c : trace.candidates) {
        candidates.push_back({{"instance", pool.instances[c.index].id}, {"weight", c.weight}, {"score", c.score}});
    }
    nlohmann::json excluded = nlohmann::json::array();
    for (const auto& [index, reason] : trace.excluded) {
        excluded.push_back({{"instance", pool.instances[index].id}, {"reason", reason}});
    }
    return {{"chosen", pool.instances[chosen].id},
            {"strategy", model::toString(pool.config.strategy)},
            {"note", trace.note},
            {"panic", trace.panic},
            {"candidates", candidates},
            {"excluded", excluded}};
}

ProxyError errorFor(DownstreamSession::TryResult result);

} // namespace

std::optional<std::size_t> DownstreamSession::chooseInstance(const net::WorkerRouting& routing, std::size_t poolIndex,
                                                             const balancing::RequestKey& key,
                                                             std::optional<std::size_t> sticky,
                                                             std::span<const std::size_t> tried) {
    const auto& pool = *routing.snapshot->pools[poolIndex].snapshot;
    const auto now = m_worker.clock().now();
    const double sampleRate = routing.snapshot->config.decisionLog.sampleRate;
    std::optional<balancing::PickTrace> trace;
    if (sampleRate > 0 && m_worker.random().uniform() < sampleRate) {
        trace.emplace();
    }
    balancing::PickTrace* tracePtr = trace ? &*trace : nullptr;
    std::optional<std::size_t> chosen;

    const auto& stickyConfig = pool.config.sticky;
    if (sticky && std::find(tried.begin(), tried.end(), *sticky) == tried.end()) {
        // The client's instance, if it may still take new requests (draining moves clients).
        balancing::selectCandidates(pool, now, tried, m_candidates, tracePtr);
        for (const auto& c : m_candidates.items) {
            if (c.index == *sticky) {
                chosen = c.index;
                if (tracePtr != nullptr) {
                    tracePtr->note = "sticky cookie";
                }
            }
        }
    } else if (stickyConfig.mode == model::StickyMode::Hash) {
        if (const auto value = balancing::hashKey(stickyConfig.hashOn, key)) {
            balancing::selectCandidates(pool, now, tried, m_candidates, tracePtr);
            if (!m_candidates.items.empty()) {
                chosen = balancing::rendezvous(balancing::hash64(*value), pool, m_candidates);
                if (tracePtr != nullptr) {
                    tracePtr->note = "sticky hash on " + std::string(model::toString(stickyConfig.hashOn.source));
                }
            }
        }
    }
    if (!chosen) {
        if (tracePtr != nullptr) {
            *tracePtr = {};
        }
        chosen = routing.balancers[poolIndex]->pick(pool, key, tried, tracePtr);
    }
    if (chosen && trace) {
        core::EngineEvent event;
        event.kind = core::EngineEvent::Kind::Decision;
        event.pool = pool.name;
        event.instance = pool.instances[*chosen].id;
        event.detail = trace->note;
        event.data = traceJson(pool, *trace, *chosen);
        m_worker.events().publish(std::move(event));
    }
    return chosen;
}

void DownstreamSession::recordOutcome(const balancing::InstanceSnapshot& instance, const model::PoolConfig& pool,
                                      health::Outcome outcome, double latencyMs) {
    auto& state = *instance.state;
    const auto now = m_worker.clock().now();
    // Fast failures must not look attractive to latency-aware strategies.
    const double penalty = static_cast<double>(pool.latency.failurePenalty.count());
    const double sample = outcome == health::Outcome::Success ? latencyMs : std::max(latencyMs, penalty);
    state.latency.record(sample, now, pool.latency.decay);
    if (outcome != health::Outcome::Success) {
        state.failures.fetch_add(1, std::memory_order_relaxed);
    }
    if (auto reason = state.outlier.record(outcome, pool.outlierDetection)) {
        m_worker.health().ejectionRequested(instance.state, std::move(*reason));
    }
    std::optional<health::BreakerTransition> transition;
    state.breaker.record(!health::isBreakerFailure(outcome), now, m_worker.random().uniform(), transition);
    if (transition) {
        m_worker.health().breakerChanged(state, *transition);
    }
}

bool DownstreamSession::discardResponse(ResponseParser& parser, UpstreamConnection& connection) {
    // Before a retry: keep the connection only if the unwanted body is already here in full.
    if (parser.is_done()) {
        return true;
    }
    const auto remaining = parser.content_length_remaining();
    if (!parser.chunked() && remaining && connection.buffer.size() >= *remaining) {
        connection.buffer.consume(static_cast<std::size_t>(*remaining));
        return true;
    }
    return false;
}

Task<bool> DownstreamSession::readBodyToBuffer(std::uint64_t length, const net::WorkerRouting& routing, Exchange& x,
                                               bool& sentContinue) {
    // Reads a Content-Length body completely into m_in (it fits: the caller checked the size),
    // so it can be sent again on a retry.
    const auto& timeouts = routing.snapshot->config.timeouts;
    if (m_request.expectContinue && m_in.empty() && !sentContinue) {
        error_code ec;
        arm(Phase::ClientSend, timeouts.clientSend);
        co_await asio::async_write(m_socket, asio::buffer(kContinue), noThrow(ec));
        if (ec) {
            co_return false;
        }
        sentContinue = true;
    }
    m_in.reserve(static_cast<std::size_t>(length) + kMinRead);
    while (m_in.size() < length) {
        error_code ec;
        arm(Phase::ClientBody, timeouts.clientBody);
        const std::size_t n = co_await m_socket.async_read_some(m_in.prepare(kMinRead), noThrow(ec));
        if (ec) {
            if (expired(Phase::ClientBody) && !m_closing) {
                co_await replyError(ProxyError::BodyTimeout, bodyTimeoutDetail(), routing, x, true);
            }
            co_return false;
        }
        m_in.commit(n);
        // expired(): the deadline fired while this completion was queued (nothing left to cancel).
        if (expired(Phase::ClientBody) || !noteBodyBytes(n)) {
            co_await replyError(ProxyError::BodyTimeout, bodyTimeoutDetail(), routing, x, true);
            co_return false;
        }
    }
    co_return true;
}

Task<bool> DownstreamSession::forward(RequestParser& parser, const std::shared_ptr<net::WorkerRouting>& routingPtr,
                                      const routing::Route& route, const Target& target, Exchange& x) {
    net::WorkerRouting& routing = *routingPtr;
    const core::RuntimeSnapshot& snapshot = *routing.snapshot;
    const auto& limits = snapshot.config.limits;
    const auto& timeouts = snapshot.config.timeouts;
    // A route may replace the global upstream timeouts and body limit.
    const milliseconds upstreamConnectTimeout = route.upstreamConnectTimeout.value_or(timeouts.upstreamConnect);
    const milliseconds upstreamResponseTimeout = route.upstreamResponseTimeout.value_or(timeouts.upstreamResponse);
    const std::uint64_t maxBodyBytes = route.maxBodyBytes.value_or(limits.maxBodyBytes);
    const core::RuntimePool& runtimePool = snapshot.pools[route.poolIndex];
    const balancing::PoolSnapshot& pool = *runtimePool.snapshot;
    const model::PoolConfig& poolConfig = pool.config;
    const model::RetryConfig& retry = route.hasRetry ? route.retry : poolConfig.retry;
    core::PoolCounters& counters = *runtimePool.counters;
    const core::Clock& clock = m_worker.clock();
    x.pool = pool.name;
    x.poolIndex = static_cast<int>(route.poolIndex);

    // ---- pool limit on requests in flight (Envoy's max_requests)
    if (poolConfig.limits.maxActiveRequests > 0 &&
        counters.activeRequests.load(std::memory_order_relaxed) >= poolConfig.limits.maxActiveRequests) {
        counters.overflows.fetch_add(1, std::memory_order_relaxed);
        co_return co_await replyError(ProxyError::PoolOverloaded, "the pool's max_active_requests limit is reached",
                                      routing, x, m_unreadInput);
    }
    const CounterGuard poolActive(counters.activeRequests);

    // ---- request body: how it is framed and whether a retry could send it again
    const auto contentLength = parser.content_length();
    const std::uint64_t length = contentLength.value_or(0);
    BodyFraming framing = BodyFraming::None;
    if (parser.chunked()) {
        framing = BodyFraming::Chunked;
    } else if (length > 0) {
        framing = BodyFraming::ContentLength;
    }
    bool sentContinue = false;
    bool bodyBuffered = framing == BodyFraming::ContentLength && m_in.size() >= length;
    if (framing == BodyFraming::ContentLength && !bodyBuffered && retry.attempts > 0 &&
        length <= retry.bufferBodyBytes) {
        if (!co_await readBodyToBuffer(length, routing, x, sentContinue)) {
            co_return false;
        }
        bodyBuffered = true;
    }
    const bool replayable = framing == BodyFraming::None || bodyBuffered;
    const bool idempotent = isIdempotent(m_request.method) || m_request.headers.get("Idempotency-Key").has_value();
    bool clientKeepAlive = parser.keep_alive();

    rewriteTarget(route, routing::TemplateInputs{m_host, target.path, target.query, &m_pathGroups}, m_regexScratch,
                  m_target);
    UpstreamRequestContext context;
    context.target = m_target;
    context.clientIp = m_clientIp;
    context.requestId = x.requestId;
    context.framing = framing;
    context.contentLength = length;
    if (m_tls) {
        context.scheme = "https";
        context.clientSubjectHeader = m_tls->subjectHeader();
        context.clientSubject = m_clientSubject;
    }
    // Route transformations: one pointer check for routes without any.
    const policy::RouteTransforms* transforms = snapshot.transforms[static_cast<std::size_t>(x.routeIndex)].get();
    policy::TransformVariables variables;
    policy::HeaderEditPass requestEdits;
    if (transforms != nullptr) {
        variables = {m_clientIp, x.requestId, x.route, x.pool, {}, target.authority, m_request.methodText(),
                     target.path, context.scheme};
        if (!transforms->request.empty()) {
            requestEdits.rules = &transforms->request;
            requestEdits.variables = &variables;
            context.edits = &requestEdits;
        }
    }
    context.extraLines = x.upstreamLines;

    // ---- upgrade (WebSocket ...): a request that does not ask for one pays one flag test
    m_upgrade.clear();
    TunnelCounters* tunnels = nullptr;
    if (parser.upgrade() && m_request.version >= 11) { // HTTP/1.0 has no Upgrade (RFC 9110 7.8)
        tunnels = snapshot.tunnels[static_cast<std::size_t>(x.routeIndex)].get();
        if (tunnels != nullptr) {
            filterUpgradeOffer(m_request, snapshot.config.routes[static_cast<std::size_t>(x.routeIndex)].upgrade,
                               m_upgrade);
        }
        if (!m_upgrade.empty() && m_worker.draining()) {
            co_return co_await replyError(ProxyError::ShuttingDown, {}, routing, x, true);
        }
    }
    const bool upgrading = !m_upgrade.empty();
    context.upgrade = m_upgrade;

    const RequestHeaders headerLookup(m_request.headers);
    const balancing::RequestKey key{m_clientIp, m_host, target.path, target.query, &headerLookup};

    // ---- sticky cookie: the instance this client was sent to before
    std::optional<std::size_t> sticky;
    std::string_view stickyCookie;
    if (poolConfig.sticky.mode == model::StickyMode::Cookie) {
        if (const auto cookies = m_request.headers.get(bhttp::field::cookie)) {
            if (const auto value = balancing::findCookie(*cookies, poolConfig.sticky.cookieName)) {
                stickyCookie = *value;
                for (std::size_t i = 0; i < pool.instances.size(); ++i) {
                    if (pool.instances[i].stickyValue == stickyCookie) {
                        sticky = i;
                    }
                }
            }
        }
    }

    const auto started = clock.now();
    const auto overallDeadline = retry.overallTimeout.count() > 0
                                     ? started + std::chrono::duration_cast<core::Nanoseconds>(retry.overallTimeout)
                                     : core::TimePoint::max();
    // Time left for one phase: the configured timeout, a per-try timeout and the overall deadline.
    auto phaseTimeout = [&](milliseconds configured) {
        milliseconds timeout = configured;
        if (retry.perTryTimeout.count() > 0) {
            timeout = std::min(timeout, retry.perTryTimeout);
        }
        if (overallDeadline != core::TimePoint::max()) {
            timeout = std::min(timeout, std::max(milliseconds(1), std::chrono::duration_cast<milliseconds>(
                                                                      overallDeadline - clock.now())));
        }
        return timeout;
    };

    std::array<std::size_t, 16> tried{};
    std::size_t triedCount = 0;
    std::optional<ResponseParser> responseParser;
    health::ActiveRequestGuard active;
    UpstreamConnectionPtr connection;
    std::optional<CounterGuard> retryGuard;
    std::uint32_t retriesUsed = 0;
    std::size_t chosen = 0;
    TryResult result = TryResult::ConnectFailed;
    error_code ec;

    for (;;) {
        // -------- choose an instance
        const auto index = chooseInstance(routing, route.poolIndex, key, sticky, std::span(tried.data(), triedCount));
        if (!index) {
            bool breakersOpen = false;
            for (const auto& instance : pool.instances) {
                breakersOpen = breakersOpen || (instance.state->enabled() && instance.weight > 0 &&
                                                !instance.state->breaker.wouldAdmit(clock.now()));
            }
            if (triedCount > 0 && result != TryResult::Response) {
                break; // report the last attempt's failure rather than a generic 503
            }
            co_return co_await replyError(breakersOpen ? ProxyError::CircuitOpen : ProxyError::NoInstance, {}, routing,
                                          x, m_unreadInput);
        }
        const balancing::InstanceSnapshot& instance = pool.instances[*index];
        health::InstanceState& state = *instance.state;
        {
            std::optional<health::BreakerTransition> transition;
            const bool admitted = state.breaker.tryAcquire(clock.now(), transition);
            if (transition) {
                m_worker.health().breakerChanged(state, *transition);
            }
            if (!admitted) { // lost the last half-open probe slot to another request
                if (triedCount < tried.size()) {
                    tried[triedCount++] = *index;
                    continue;
                }
                co_return co_await replyError(ProxyError::CircuitOpen, {}, routing, x, m_unreadInput);
            }
        }
        chosen = *index;
        x.instance = instance.id;
        x.instanceIndex = static_cast<int>(*index);
        const tcp::endpoint& endpoint = runtimePool.endpoints[*index];
        if (x.upstreamStart == Clock::time_point{}) {
            x.upstreamStart = Clock::now();
        }
        state.requests.fetch_add(1, std::memory_order_relaxed);
        active = health::ActiveRequestGuard(state);

        // -------- one try: connect (or reuse), send, read the response head
        bool staleRetryUsed = false;
        bool requestSent = false;
        Clock::time_point sentAt{};
        for (;;) {
            // An upgrade gets a fresh connection: it is never sent twice, so it cannot risk the
            // keep-alive race of a pooled one (and the tunnel would consume it anyway).
            connection = staleRetryUsed || upgrading ? nullptr : m_worker.upstreams().takeIdle(endpoint, !idempotent);
            if (connection && connection->tls != runtimePool.tls) [[unlikely]] {
                connection.reset(); // made for another pool's (or an older) TLS setting
            }
            const bool reused = connection != nullptr;
            if (!connection) {
                if (poolConfig.limits.maxPendingRequests > 0 &&
                    counters.pendingRequests.load(std::memory_order_relaxed) >= poolConfig.limits.maxPendingRequests) {
                    counters.overflows.fetch_add(1, std::memory_order_relaxed);
                    state.breaker.release();
                    co_return co_await replyError(ProxyError::PoolOverloaded,
                                                  "the pool's max_pending_requests limit is reached", routing, x,
                                                  m_unreadInput);
                }
                const CounterGuard pending(counters.pendingRequests);
                connection = std::make_shared<UpstreamConnection>(m_worker.io());
                connection->endpoint = endpoint;
                m_upstream = connection;
                arm(Phase::UpstreamConnect, phaseTimeout(upstreamConnectTimeout));
                co_await connection->socket.async_connect(endpoint, noThrow(ec));
                if (m_closing) {
                    co_return false;
                }
                if (ec) {
                    result = expired(Phase::UpstreamConnect) ? TryResult::ConnectTimeout : TryResult::ConnectFailed;
                    spdlog::debug("connect to {} ({}) failed: {}", instance.id, instance.address, ec.message());
                    break;
                }
                error_code ignored;
                connection->socket.set_option(tcp::no_delay(true), ignored);
                m_worker.upstreams().countOpened();
                if (runtimePool.tls) {
                    result = co_await upstreamHandshake(*connection, runtimePool.tls, runtimePool.tlsNames[*index],
                                                        phaseTimeout(timeouts.upstreamConnect));
                    if (result == TryResult::ClientFailed) {
                        co_return false;
                    }
                    if (result != TryResult::Response) {
                        spdlog::debug("TLS to {} ({}) failed: {}", instance.id, instance.address, m_tlsProblem);
                        break;
                    }
                }
            }
            m_upstream = connection;
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
            variables.instance = x.instance;
            writeUpstreamRequestHead(m_request, context, snapshot.headerPolicy, m_upstreamHead);

            // ---- send the request
            bool sendFailed = false;
            sentAt = Clock::now();
            if (framing == BodyFraming::None || bodyBuffered) {
                GatherList out;
                out.push(m_upstreamHead);
                if (bodyBuffered) {
                    out.push(std::string_view(m_in.data(), length));
                }
                arm(Phase::UpstreamSend, phaseTimeout(upstreamResponseTimeout));
                co_await asio::async_write(connection->socket, out, noThrow(ec));
                if (m_closing) {
                    co_return false;
                }
                requestSent = true;
                if (ec && expired(Phase::UpstreamSend)) {
                    result = TryResult::Timeout;
                    break;
                }
                sendFailed = static_cast<bool>(ec);
                x.bytesIn = length;
            } else {
                if (length > m_in.capacity() || framing == BodyFraming::Chunked) {
                    m_in.reserve(kStreamBuffer);
                }
                requestSent = true;
                const PumpResult sent = co_await pump(parser, m_in, m_socket, connection->socket,
                                                      framing == BodyFraming::Chunked, asio::buffer(m_upstreamHead),
                                                      Phase::ClientBody, timeouts.clientBody, Phase::UpstreamSend,
                                                      phaseTimeout(upstreamResponseTimeout), maxBodyBytes,
                                                      x.bytesIn);
                x.capture.complete(x.bytesIn); // the body bytes actually forwarded, however it ended
                if (m_closing) {
                    co_return false;
                }
                switch (sent) {
                case PumpResult::Done:
                    m_unreadInput = false;
                    break;
                case PumpResult::TooLarge:
                    co_await replyError(ProxyError::BodyTooLarge, {}, routing, x, true);
                    result = TryResult::Answered;
                    break;
                case PumpResult::ReadTimeout:
                    co_await replyError(ProxyError::BodyTimeout, bodyTimeoutDetail(), routing, x, true);
                    result = TryResult::Answered;
                    break;
                case PumpResult::Protocol:
                    co_await replyError(ProxyError::BadRequest, "malformed chunked request body", routing, x, true);
                    result = TryResult::Answered;
                    break;
                case PumpResult::WriteTimeout:
                    result = TryResult::Timeout;
                    break;
                case PumpResult::WriteError:
                    result = TryResult::Reset;
                    break;
                case PumpResult::ReadEof:
                case PumpResult::ReadError:
                    result = TryResult::ClientFailed; // the client left in the middle of its own request
                    break;
                }
                if (sent != PumpResult::Done) {
                    break;
                }
            }
            if (sendFailed) {
                if (reused && replayable && !staleRetryUsed) {
                    staleRetryUsed = true; // a pooled connection died while idle: once more on a fresh one
                    continue;
                }
                result = TryResult::Reset;
                break;
            }

            // ---- read the response head, skipping interim 1xx responses
            bool received = false;
            bool closedEarly = false;
            std::optional<TryResult> failure;
            for (bool final = false; !final && !failure && !closedEarly;) {
                responseParser.emplace(m_response, m_sink, limits.maxHeaderCount,
                                       headerLimit(limits.maxResponseHeaderBytes));
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
                            spdlog::debug("invalid response from {}: {}", instance.id, ec.message());
                            failure = TryResult::Protocol;
                            break;
                        }
                        ec = {};
                        // Beast reports the complete lines of a partial head as used; given
                        // them again it would fail.
                        connection->buffer.consume(n);
                        if (connection->buffer.full()) {
                            connection->buffer.reserve(std::min<std::size_t>(connection->buffer.capacity() * 2,
                                                                             limits.maxResponseHeaderBytes + 1024));
                        }
                    }
                    arm(Phase::UpstreamResponse, phaseTimeout(upstreamResponseTimeout));
                    const std::size_t n =
                        co_await connection->socket.async_read_some(connection->buffer.prepare(kMinRead), noThrow(ec));
                    if (m_closing) {
                        co_return false;
                    }
                    if (ec) {
                        if (expired(Phase::UpstreamResponse)) {
                            failure = TryResult::Timeout;
                        } else if (!received) {
                            closedEarly = true;
                        } else {
                            failure = TryResult::Reset;
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
            if (closedEarly && reused && replayable && !staleRetryUsed && idempotent) {
                staleRetryUsed = true; // closed before answering: the keep-alive race, safe to repeat
                continue;
            }
            if (closedEarly) {
                failure = TryResult::Reset;
            }
            if (!failure && m_response.status == 101 && !(upgrading && upgradeAccepted(m_response, m_upgrade))) {
                failure = TryResult::Protocol; // a switch the client did not ask for
            }
            result = failure.value_or(TryResult::Response);
            break;
        }
        if (result == TryResult::ClientFailed || result == TryResult::Answered) {
            m_upstream.reset();
            state.breaker.release();
            co_return false;
        }

        // -------- account the outcome and decide on a retry
        const double latencyMs = std::chrono::duration<double, std::milli>(Clock::now() - sentAt).count();
        health::Outcome outcome = health::Outcome::Success;
        switch (result) {
        case TryResult::Response:
            outcome = health::classifyStatus(m_response.status);
            break;
        case TryResult::ConnectFailed:
        case TryResult::ConnectTimeout:
        case TryResult::TlsFailed:
            outcome = health::Outcome::ConnectFailure;
            break;
        case TryResult::Timeout:
            outcome = health::Outcome::Timeout;
            break;
        case TryResult::Reset:
        case TryResult::Protocol:
            outcome = health::Outcome::Reset;
            break;
        case TryResult::ClientFailed:
        case TryResult::Answered:
            break;
        }
        recordOutcome(instance, poolConfig, outcome, result == TryResult::Response ? latencyMs : 0.0);

        policy::AttemptFacts facts;
        facts.outcome = outcome;
        facts.status = result == TryResult::Response ? m_response.status : 0;
        facts.requestSent = requestSent && result != TryResult::ConnectFailed && result != TryResult::ConnectTimeout;
        facts.idempotent = idempotent;
        facts.replayable = replayable;
        // An upgrade request is not repeated once sent: the instance may have acted on it.
        bool retry_ = retriesUsed < retry.attempts && policy::retryable(retry, facts) &&
                      !(upgrading && facts.requestSent);
        milliseconds wait = policy::backoff(retry, retriesUsed, m_worker.random().uniform());
        if (retry_ && result == TryResult::Response) {
            if (const auto retryAfter = m_response.headers.get(bhttp::field::retry_after)) {
                const auto delay = policy::parseRetryAfter(*retryAfter, std::chrono::system_clock::now());
                if (delay && *delay > retry.maxRetryAfter) {
                    retry_ = false; // the backend asks for longer than we may wait: pass its answer on
                } else if (delay) {
                    wait = std::max(wait, *delay);
                }
            }
        }
        if (retry_ && clock.now() + wait >= overallDeadline) {
            retry_ = false;
        }
        if (retry_ && !policy::budgetAllows(retry, poolConfig.limits.maxConcurrentRetries,
                                            counters.activeRequests.load(std::memory_order_relaxed),
                                            counters.activeRetries.load(std::memory_order_relaxed) - (retryGuard ? 1 : 0))) {
            retry_ = false;
            counters.overflows.fetch_add(1, std::memory_order_relaxed);
        }
        if (!retry_) {
            break;
        }

        // -------- retry: elsewhere if possible, after a backoff
        if (result == TryResult::Response && connection && discardResponse(*responseParser, *connection) &&
            responseParser->keep_alive()) {
            m_worker.upstreams().release(std::move(connection));
        }
        connection.reset();
        m_upstream.reset();
        active.release();
        if (triedCount < tried.size()) {
            tried[triedCount++] = chosen;
        }
        ++retriesUsed;
        x.retries = retriesUsed;
        counters.retries.fetch_add(1, std::memory_order_relaxed);
        if (!retryGuard) {
            retryGuard.emplace(counters.activeRetries);
        }
        if (wait.count() > 0) {
            const CounterGuard pending(counters.pendingRequests);
            m_backoff.expires_after(wait);
            co_await m_backoff.async_wait(noThrow(ec));
            if (m_closing) {
                co_return false;
            }
        }
    }

    if (result != TryResult::Response) {
        m_upstream.reset();
        connection.reset();
        active.release();
        if (bodyBuffered) {
            m_in.consume(static_cast<std::size_t>(length));
            m_unreadInput = false;
        }
        co_return co_await replyError(errorFor(result),
                                      result == TryResult::TlsFailed ? std::string_view(m_tlsProblem) : std::string_view(),
                                      routing, x, m_unreadInput);
    }
    if (bodyBuffered) {
        m_in.consume(static_cast<std::size_t>(length));
        m_unreadInput = false;
    }

    // ---- relay the response
    const int status = m_response.status;
    const bool bodiless = m_request.method == bhttp::verb::head || status == 204 || status == 304 || status == 101;
    ResponseParser& rp = *responseParser;
    BodyFraming upstreamFraming = BodyFraming::None;
    if (!bodiless) {
        upstreamFraming = rp.chunked()                      ? BodyFraming::Chunked
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
    m_extraLines.clear();
    if (poolConfig.sticky.mode == model::StickyMode::Cookie && stickyCookie != pool.instances[chosen].stickyValue) {
        // New client, or its instance went away (unhealthy, draining, removed): bind it to this one.
        m_extraLines = policy::stickySetCookieLine(poolConfig.sticky, pool.instances[chosen].stickyValue);
    }
    m_extraLines.append(x.rateLimitLines);
    std::unique_ptr<BodyEncoder> encoder;
    policy::HeaderEditPass responseEdits;
    if (transforms != nullptr) {
        const auto knownLength = upstreamFraming == BodyFraming::ContentLength
                                     ? std::optional<std::uint64_t>(response.contentLength)
                                     : std::nullopt;
        encoder = prepareResponse(*transforms, variables, bodiless, knownLength, responseEdits);
        response.edits = &responseEdits;
    }
    if (encoder) {
        // The encoded length is unknown until the end: chunked, or delimited by the close for HTTP/1.0.
        response.contentLength = 0;
        response.framing = m_request.version >= 11 ? BodyFraming::Chunked : BodyFraming::UntilClose;
        clientKeepAlive = clientKeepAlive && m_request.version >= 11;
    }
    response.extraLines = m_extraLines;
    response.keepAlive = clientKeepAlive;
    if (status == 101) {
        co_await switchProtocols(*connection, response, *tunnels, routing, x);
        m_upstream.reset();
        active.release();
        co_return false;
    }
    writeDownstreamResponseHead(m_response, response, snapshot.headerPolicy, m_responseHead);
    x.status = status;

    PumpResult relayed = PumpResult::Done;
    if (encoder) {
        connection->buffer.reserve(kStreamBuffer);
        x.compressedWith = static_cast<int>(encoder->algorithm());
        relayed = co_await relayEncoded(rp, *connection, *encoder, response.framing == BodyFraming::Chunked,
                                        timeouts.upstreamResponse, timeouts.clientSend, x.compressionIn, x.bytesOut);
    } else if (upstreamFraming == BodyFraming::None ||
               (upstreamFraming == BodyFraming::ContentLength && connection->buffer.size() >= response.contentLength)) {
        // Fast path, the common case for API responses: the whole body is already buffered.
        // Parse it in place and send head and body with one write, no relay loop.
        m_sink.reset();
        const std::size_t parsed = parseBuffered(rp, connection->buffer).value_or(0);
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
        if (upstreamFraming != BodyFraming::ContentLength || response.contentLength > connection->buffer.capacity()) {
            connection->buffer.reserve(kStreamBuffer);
        }
        relayed = co_await pump(rp, connection->buffer, connection->socket, m_socket,
                                response.framing == BodyFraming::Chunked, asio::buffer(m_responseHead),
                                Phase::UpstreamBody, upstreamResponseTimeout, Phase::ClientSend, timeouts.clientSend,
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
        recordOutcome(pool.instances[chosen], poolConfig,
                      relayed == PumpResult::ReadTimeout ? health::Outcome::Timeout : health::Outcome::Reset, 0.0);
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

namespace {

ProxyError errorFor(DownstreamSession::TryResult result) {
    switch (result) {
    case DownstreamSession::TryResult::ConnectFailed:
        return ProxyError::UpstreamConnectFailed;
    case DownstreamSession::TryResult::ConnectTimeout:
        return ProxyError::UpstreamConnectTimeout;
    case DownstreamSession::TryResult::Timeout:
        return ProxyError::UpstreamTimeout;
    case DownstreamSession::TryResult::Protocol:
        return ProxyError::UpstreamProtocolError;
    case DownstreamSession::TryResult::TlsFailed:
        return ProxyError::UpstreamTlsFailed;
    case DownstreamSession::TryResult::Reset:
    case DownstreamSession::TryResult::Response:
    case DownstreamSession::TryResult::ClientFailed:
    case DownstreamSession::TryResult::Answered:
        break;
    }
    return ProxyError::UpstreamReset;
}

} // namespace

} // namespace gaetwae::engine::http

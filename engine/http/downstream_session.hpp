#pragma once

#include "engine/balancing/candidates.hpp"
#include "engine/health/outcome.hpp"
#include "engine/http/body_rate_guard.hpp"
#include "engine/http/byte_buffer.hpp"
#include "engine/http/head_scanner.hpp"
#include "engine/http/header_rules.hpp"
#include "engine/http/message_parser.hpp"
#include "engine/http/proxy_error.hpp"
#include "engine/http/tunnel_counters.hpp"
#include "engine/http/upstream_pool.hpp"
#include "engine/net/asio.hpp"
#include "engine/net/session_hook.hpp"
#include "engine/net/stream.hpp"
#include "engine/net/tls_context.hpp"
#include "engine/net/watchdog.hpp"
#include "shared/model/regex.hpp"

#include <array>
#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>

namespace gaetwae::engine::net {
class Worker;
struct WorkerRouting;
} // namespace gaetwae::engine::net

namespace gaetwae::engine::routing {
struct Route;
} // namespace gaetwae::engine::routing

namespace gaetwae::engine::policy {
class RouteAuth;
struct AuthContext;
class CorsPolicy;
struct RouteTransforms;
struct TransformVariables;
enum class LimitMode : std::uint8_t;
} // namespace gaetwae::engine::policy

namespace gaetwae::engine::http {

class BodyEncoder;

// One client connection, served by one coroutine on its worker from accept to close: read a
// request head, route it, pick an instance, relay the request and the response with bounded
// buffers, repeat while keep-alive holds. Every wait has a deadline (one watchdog per session);
// bodies stream through in pieces and are never buffered whole.
class DownstreamSession : public net::SessionHook {
public:
    // `tls`: the listener's TLS context; the handshake runs first, under timeouts.client_header.
    DownstreamSession(net::Worker& worker, Socket socket, std::shared_ptr<net::TlsServerContext> tls = nullptr);
    ~DownstreamSession();
    DownstreamSession(const DownstreamSession&) = delete;
    DownstreamSession& operator=(const DownstreamSession&) = delete;

    Task<void> run();

    // Between requests, waiting for the next one (safe to close during a drain).
    bool idle() const { return m_idle; }
    // Aborts whatever the session is waiting on; it ends shortly after.
    void close();

    // How one try at an instance ended (forward.cpp).
    enum class TryResult {
        Response,       // a response head was read; relay it (or retry on its status)
        ConnectFailed,  // refused or unreachable
        ConnectTimeout,
        Reset,          // closed or reset before a complete response head
        Timeout,        // no response head in time
        Protocol,       // unparseable response head
        ClientFailed,   // the client side failed or the session closes: give up quietly
        Answered,       // the session already answered the client (413, 408 ... while relaying the body)
        TlsFailed,      // the TLS handshake with the instance failed (verification ...)
    };


private:
    enum class Phase : std::uint8_t {
        None,
        KeepAlive,
        ClientHeader,
        ClientBody,
        ClientSend,
        UpstreamConnect,
        UpstreamSend,
        UpstreamResponse,
        UpstreamBody,
        Linger,
        Tunnel, // upgraded: bytes both ways, closed after timeouts.tunnel_idle without any
    };

    enum class PumpResult {
        Done,
        ReadEof,      // the source closed before the body was complete
        ReadError,
        ReadTimeout,
        WriteError,
        WriteTimeout,
        Protocol,     // malformed body framing
        TooLarge,     // request body beyond the configured limit
    };

    struct Exchange; // per-request bookkeeping, defined in the .cpp

    // Where a request goes: authority (Host or absolute-form), path and query (without '?').
    struct Target {
        std::string_view authority;
        std::string_view path;
        std::string_view query;
    };

    // The outcome of looking at a parsed request head: an error to answer, or a route to forward to.
    struct Plan {
        std::optional<ProxyError> error;
        std::string_view detail;
        bool close = false;
        const routing::Route* route = nullptr;
        Target target;
    };

    Plan plan(const RequestParser& parser, const net::WorkerRouting& routing, Exchange& x);
    // Applies the route's rate limits and quotas (only called for a route that has some), all
    // local or some through Redis (`mode`, session_limits.cpp): the error to answer when one
    // refuses. Fills x.rateLimitLines either way.
    Task<std::optional<ProxyError>> limit(const net::WorkerRouting& routing, const Target& target,
                                          policy::LimitMode mode, Exchange& x);
    // Routes with auth (session_auth.cpp): authenticate() decides (false: p.error is set, 401 or
    // 403); applyAuth() then prepares the request for the backend (identity headers, stripping).
    bool authenticate(const policy::RouteAuth& auth, Plan& p, Exchange& x);
    void applyAuth(const policy::RouteAuth& auth, Target& target, Exchange& x);
    // Offers a routed request to the running traffic captures (only called when one runs).
    void capture(const RequestParser& parser, const routing::Route& route, const Target& target, Exchange& x);
    Task<bool> forward(RequestParser& parser, const std::shared_ptr<net::WorkerRouting>& routing,
                       const routing::Route& route, const Target& target, Exchange& x);
    // Answers a redirect route (redirect_response.cpp).
    Task<bool> replyRedirect(const routing::Route& route, const Target& target, const net::WorkerRouting& routing,
                             Exchange& x, bool close);
    Task<bool> replyError(ProxyError error, std::string_view detail, const net::WorkerRouting& routing, Exchange& x,
                          bool close);
    template <class Parser>
    Task<PumpResult> pump(Parser& parser, ByteBuffer& in, net::Stream& from, net::Stream& to, bool chunkOut,
                          asio::const_buffer prefix, Phase readPhase, std::chrono::milliseconds readTimeout,
                          Phase writePhase, std::chrono::milliseconds writeTimeout, std::uint64_t limit,
                          std::uint64_t& moved);
    Task<void> finish(bool linger);
    // Route transformations (transform_relay.cpp). A CORS preflight answered at the gateway:
    // 204 with the Access-Control-* fields, or 403 cors_rejected.
    Task<bool> answerPreflight(const policy::CorsPolicy& cors, bool keepAlive, const net::WorkerRouting& routing,
                               Exchange& x);
    // Before the response head is written: appends CORS and compression lines to m_extraLines,
    // fills `pass` and returns the encoder for the body when it is to be compressed.
    std::unique_ptr<BodyEncoder> prepareResponse(const policy::RouteTransforms& transforms,
                                                 const policy::TransformVariables& variables, bool bodiless,
                                                 std::optional<std::uint64_t> contentLength,
                                                 policy::HeaderEditPass& pass);
    // Header lines for a gateway error: the auth challenge or rate limit lines, plus the CORS lines of a CORS
    // route so a page can read the error (a browser hides a response without them).
    std::string_view errorExtraLines(ProxyError error, const net::WorkerRouting& routing, const Exchange& x);
    // Relays the response body through `encoder` (chunked to HTTP/1.1 clients), head first.
    // `consumed`: backend body bytes that went in; `moved`: encoded bytes written.
    Task<PumpResult> relayEncoded(ResponseParser& parser, UpstreamConnection& connection, BodyEncoder& encoder,
                                  bool chunkOut, std::chrono::milliseconds readTimeout,
                                  std::chrono::milliseconds writeTimeout, std::uint64_t& consumed,
                                  std::uint64_t& moved);
    // TLS (session_tls.cpp). The client handshake: false when it failed (counted; close).
    Task<bool> handshake(std::chrono::milliseconds timeout);
    // Sends close_notify, waiting a short bounded time for the client's.
    Task<void> shutdownTls();
    // The handshake on a new upstream connection of a TLS pool: TlsFailed (m_tlsProblem says
    // why), ConnectTimeout, ClientFailed, or Response when it succeeded.
    Task<TryResult> upstreamHandshake(UpstreamConnection& connection, const std::shared_ptr<net::TlsClientContext>& tls,
                                      const std::string& name, std::chrono::milliseconds timeout);
    // A 101 from the instance (tunnel.cpp): relays its head, runs the tunnel, logs when it ends.
    Task<void> switchProtocols(UpstreamConnection& connection, DownstreamResponseContext& response,
                               TunnelCounters& counters, const net::WorkerRouting& routing, Exchange& x);
    // After a 101: relays bytes both ways until both sides closed, one failed, the
    // session closes or the tunnel stays idle for `idle`. Bytes count into x and `counters`.
    Task<void> tunnel(UpstreamConnection& connection, TunnelCounters& counters, std::chrono::milliseconds idle,
                      Exchange& x);
    // One direction of a tunnel: `pending` first, then everything `from` sends; at its end of
    // stream the write side of `to` is shut down (half-close), on an error both sockets close.
    Task<void> pipe(net::Stream& from, net::Stream& to, ByteBuffer& pending, std::atomic<std::uint64_t>& counter,
                    std::uint64_t& moved, bool& failed);
    Task<bool> readBodyToBuffer(std::uint64_t length, const net::WorkerRouting& routing, Exchange& x,
                                bool& sentContinue);
    std::optional<std::size_t> chooseInstance(const net::WorkerRouting& routing, std::size_t poolIndex,
                                              const balancing::RequestKey& key, std::optional<std::size_t> sticky,
                                              std::span<const std::size_t> tried);
    void recordOutcome(const balancing::InstanceSnapshot& instance, const model::PoolConfig& pool,
                       health::Outcome outcome, double latencyMs);
    bool discardResponse(ResponseParser& parser, UpstreamConnection& connection);

    void arm(Phase phase, std::chrono::milliseconds timeout);
    // Counts request body bytes just read from the client; false when limits.min_body_rate failed.
    bool noteBodyBytes(std::size_t bytes);
    // The 408 detail after a client body read timed out: silence or too slow.
    std::string_view bodyTimeoutDetail() const;
    void onTimeout();
    bool expired(Phase phase) const { return m_expired == phase; }
    void log(const net::WorkerRouting& routing, const Exchange& x);

    net::Worker& m_worker;
    // The listener's TLS context, kept for this connection (declared first: it outlives the stream).
    std::shared_ptr<net::TlsServerContext> m_tls;
    net::Stream m_socket;
    std::string m_clientSubject; // mTLS: the verified client certificate's subject
    std::string m_tlsProblem;    // why the last upstream handshake failed (the 502 detail)
    net::Watchdog m_watchdog;
    Phase m_phase = Phase::None;
    Phase m_expired = Phase::None;
    bool m_idle = true;
    bool m_closing = false;
    bool m_unreadInput = false; // closing with request bytes still unread: linger before close
    bool m_bodyTooSlow = false; // the last ClientBody timeout was limits.min_body_rate, not silence
    BodyRateGuard m_bodyRate;
    std::chrono::steady_clock::time_point m_silenceDeadline; // of the pending ClientBody read

    ByteBuffer m_in;
    HeadScanner m_scanner; // strict syntax of the request head being read, ahead of Beast
    RequestHead m_request;
    ResponseHead m_response;
    BodySink m_sink;
    std::string m_upstreamHead;
    std::string m_responseHead;
    std::string m_target;
    std::string m_host;
    std::string m_clientIp;
    std::array<char, 32> m_idBuffer{};
    UpstreamConnectionPtr m_upstream; // the connection in use, so a timeout can cancel it
    SteadyTimer m_backoff;            // waits between retries
    balancing::CandidateSet m_candidates; // scratch for sticky hashing
    std::string m_extraLines;         // gateway-added response header lines
    std::string m_encoded;            // compressed output of one relayed batch
    std::string m_rateLimitLines;     // X-RateLimit-* and X-Quota-* lines of the current request
    std::string m_rateLimitKey;       // scratch for a bucket key
    std::unique_ptr<policy::AuthContext> m_auth; // made by the first request to a route with auth
    std::string m_authQuery;          // the query without stripped credentials
    model::RegexScratch m_regexScratch; // route patterns' match data, allocated on first use
    model::Captures m_pathGroups;       // the route's match.path_regex groups, for its rewrite or redirect
    std::chrono::steady_clock::time_point m_requestStart;
    std::string m_upgrade;                                 // Upgrade value forwarded, empty if none
    std::chrono::steady_clock::time_point m_tunnelActive; // last byte moved through the tunnel
    std::chrono::milliseconds m_tunnelIdle{0};
};

} // namespace gaetwae::engine::http

#include "engine/admin/admin_server.hpp"

#include "engine/admin/token.hpp"
#include "engine/core/engine.hpp"
#include "shared/model/address.hpp"
#include "shared/protocol/admin_messages.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <spdlog/spdlog.h>

#include <deque>

namespace gaetwae::engine::admin {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

namespace {

constexpr std::size_t kReadChunk = 64 * 1024;
constexpr std::size_t kHardMessageLimit = 64 * 1024 * 1024; // beyond our limit, frames are discarded as read

auto noThrow(error_code& ec) {
    return asio::redirect_error(asio::use_awaitable, ec);
}

bhttp::response<bhttp::string_body> jsonResponse(bhttp::status status, const nlohmann::json& body, unsigned version) {
    bhttp::response<bhttp::string_body> response(status, version);
    response.set(bhttp::field::content_type, "application/json");
    response.set(bhttp::field::cache_control, "no-store");
    response.body() = body.dump() + "\n";
    response.prepare_payload();
    return response;
}

// Coroutine frames cannot hold brace-initialised json (GCC 12 bug), so error bodies are built here.
bhttp::response<bhttp::string_body> errorResponse(bhttp::status status, std::string_view error, std::string_view message,
                                                  unsigned version) {
    nlohmann::json body = nlohmann::json::object();
    body["error"] = error;
    body["message"] = message;
    auto response = jsonResponse(status, body, version);
    if (status == bhttp::status::unauthorized) {
        response.set(bhttp::field::www_authenticate, "Bearer realm=\"gaetwae admin\"");
    }
    return response;
}

} // namespace

// One WebSocket client of the admin API.
class AdminSession : public std::enable_shared_from_this<AdminSession> {
public:
    AdminSession(AdminServer& server, websocket::stream<beast::tcp_stream> ws, std::string client)
        : m_server(server)
        , m_ws(std::move(ws))
        , m_client(std::move(client)) {}

    bool stats = false;
    bool events = false;
    bool decisions = false;
    const std::string& client() const { return m_client; }

    asio::awaitable<void> run(bhttp::request<bhttp::string_body> upgrade) {
        auto self = shared_from_this();
        const auto& config = m_server.config();
        websocket::stream_base::timeout timeout{};
        timeout.handshake_timeout = std::chrono::seconds(10);
        timeout.idle_timeout = config.pingInterval * 2; // a ping after half of it, closed at the end
        timeout.keep_alive_pings = true;
        m_ws.set_option(timeout);
        m_ws.set_option(websocket::stream_base::decorator(
            [](websocket::response_type& response) { response.set(bhttp::field::server, "gaetwaed"); }));
        m_ws.read_message_max(kHardMessageLimit);
        error_code ec;
        co_await m_ws.async_accept(upgrade, noThrow(ec));
        if (ec) {
            m_closed = true;
            co_return;
        }
        m_ws.text(true);
        spdlog::info("admin: {} connected", m_client);
        beast::flat_buffer buffer;
        while (!m_closed) {
            buffer.clear();
            std::size_t total = 0;
            bool tooLarge = false;
            do {
                const std::size_t n = co_await m_ws.async_read_some(buffer.prepare(kReadChunk), noThrow(ec));
                if (ec) {
                    break;
                }
                buffer.commit(n);
                total += n;
                if (total > config.maxMessageBytes) {
                    tooLarge = true; // keep reading to the end of the message, keeping nothing
                    buffer.consume(buffer.size());
                }
            } while (!m_ws.is_message_done());
            if (ec) {
                break;
            }
            if (tooLarge) {
                send(protocol::makeError(nullptr, {protocol::rpc::kTooLarge,
                                                   "message of " + std::to_string(total) + " bytes is over the limit of " +
                                                       std::to_string(config.maxMessageBytes),
                                                   nullptr}));
                continue;
            }
            handle(beast::buffers_to_string(buffer.data()));
        }
        m_closed = true;
        spdlog::info("admin: {} disconnected{}", m_client, ec && ec != websocket::error::closed ? " (" + ec.message() + ")" : "");
        m_server.forget(this);
    }

    void send(std::string message) { send(std::make_shared<const std::string>(std::move(message))); }

    void send(std::shared_ptr<const std::string> message) {
        if (m_closed) {
            return;
        }
        if (m_queue.size() >= m_server.config().sendQueueLimit) {
            // Never let a client that does not read slow anything down: drop it.
            spdlog::warn("admin: dropping {}: {} messages waiting to be sent", m_client, m_queue.size());
            close();
            return;
        }
        m_queue.push_back(std::move(message));
        if (!m_writing) {
            m_writing = true;
            asio::co_spawn(m_ws.get_executor(), writeLoop(shared_from_this()), asio::detached);
        }
    }

    void close() {
        if (m_closed) {
            return;
        }
        m_closed = true;
        m_queue.clear();
        error_code ignored;
        beast::get_lowest_layer(m_ws).socket().shutdown(tcp::socket::shutdown_both, ignored);
        beast::get_lowest_layer(m_ws).socket().close(ignored);
    }

private:
    static asio::awaitable<void> writeLoop(std::shared_ptr<AdminSession> self) {
        error_code ec;
        while (!self->m_queue.empty() && !self->m_closed) {
            const auto message = self->m_queue.front();
            co_await self->m_ws.async_write(asio::buffer(*message), noThrow(ec));
            if (ec) {
                self->close();
                break;
            }
            if (!self->m_queue.empty()) {
                self->m_queue.pop_front();
            }
        }
        self->m_writing = false;
    }

    void handle(const std::string& text) {
        auto parsed = protocol::parseRequest(text);
        if (auto* failure = std::get_if<std::pair<nlohmann::json, protocol::RpcError>>(&parsed)) {
            send(protocol::makeError(failure->first, failure->second));
            return;
        }
        const auto& request = std::get<protocol::RpcRequest>(parsed);
        std::variant<nlohmann::json, protocol::RpcError> result;
        if (request.method == protocol::method::kSubscribe || request.method == protocol::method::kUnsubscribe) {
            protocol::SubscribeParams topics;
            model::Diagnostics diagnostics;
            if (!protocol::fromJson(request.params, topics, diagnostics)) {
                result = protocol::RpcError{protocol::rpc::kInvalidParams, diagnostics.items()[0].message, nullptr};
            } else {
                const bool on = request.method == protocol::method::kSubscribe;
                for (const auto& topic : topics.topics) {
                    (topic == "stats" ? stats : topic == "events" ? events : decisions) = on;
                }
                nlohmann::json active = nlohmann::json::array();
                for (const auto& [flag, name] : {std::pair<bool, const char*>{stats, "stats"}, {events, "events"},
                                                 {decisions, "decisions"}}) {
                    if (flag) {
                        active.push_back(name);
                    }
                }
                result = nlohmann::json{{"topics", active}};
            }
        } else {
            result = m_server.service().call(request, "admin " + m_client);
        }
        if (request.isNotification()) {
            return; // JSON-RPC: no response to notifications
        }
        if (const auto* error = std::get_if<protocol::RpcError>(&result)) {
            send(protocol::makeError(request.id, *error));
        } else {
            send(protocol::makeResult(request.id, std::get<nlohmann::json>(result)));
        }
    }

    AdminServer& m_server;
    websocket::stream<beast::tcp_stream> m_ws;
    std::string m_client;
    std::deque<std::shared_ptr<const std::string>> m_queue;
    bool m_writing = false;
    bool m_closed = false;
};

AdminServer::AdminServer(asio::io_context& control, core::Engine& engine, model::AdminConfig config, std::string token)
    : m_control(control)
    , m_engine(engine)
    , m_config(std::move(config))
    , m_token(std::move(token))
    , m_service(engine)
    , m_acceptor(control)
    , m_alive(std::make_shared<bool>(true)) {}

AdminServer::~AdminServer() {
    *m_alive = false;
    if (m_eventSubscription != 0) {
        m_engine.events().unsubscribe(m_eventSubscription);
    }
    if (m_statsSubscription != 0) {
        m_engine.stats().unsubscribe(m_statsSubscription);
    }
}

bool AdminServer::start(std::string& error) {
    std::string parseError;
    const auto address = model::parseHostPort(m_config.address, &parseError);
    if (!address) {
        error = parseError;
        return false;
    }
    error_code ec;
    const auto ip = asio::ip::make_address(address->host == "localhost" ? "127.0.0.1" : address->host, ec);
    if (ec) {
        error = "the admin address must be an IP address, got '" + address->host + "'";
        return false;
    }
    const tcp::endpoint endpoint(ip, address->port);
    m_acceptor.open(endpoint.protocol(), ec);
    if (!ec) {
        m_acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
        m_acceptor.bind(endpoint, ec);
    }
    if (!ec) {
        m_acceptor.listen(asio::socket_base::max_listen_connections, ec);
    }
    if (ec) {
        error = "cannot bind the admin API to " + m_config.address + ": " + ec.message();
        return false;
    }
    m_port = m_acceptor.local_endpoint().port();
    if (!model::isLoopbackHost(address->host)) {
        spdlog::warn("admin API listening on {} (not loopback): anyone who reaches it with the token controls "
                     "this gateway",
                     m_config.address);
    }

    // One subscription for all clients; messages are serialized once and fanned out.
    m_eventSubscription = m_engine.events().subscribe([this, alive = m_alive](const core::EngineEvent& event) {
        auto message = std::make_shared<const std::string>(
            protocol::makeNotification(protocol::notification::kEvent, core::toJson(event)));
        const bool decision = event.kind == core::EngineEvent::Kind::Decision;
        asio::post(m_control, [this, alive, message, decision] {
            if (*alive) {
                fanOut(message, decision, false);
            }
        });
    });
    m_statsSubscription = m_engine.stats().subscribe([this](const protocol::StatsFrame& frame) {
        fanOut(std::make_shared<const std::string>(
                   protocol::makeNotification(protocol::notification::kStats, protocol::toJson(frame))),
               false, true);
    });
    asio::co_spawn(m_control, acceptLoop(), asio::detached);
    return true;
}

void AdminServer::stop() {
    asio::post(m_control, [this, alive = m_alive] {
        if (!*alive) {
            return;
        }
        error_code ignored;
        m_acceptor.close(ignored);
        for (auto& [raw, weak] : m_sessions) {
            if (auto session = weak.lock()) {
                session->close();
            }
        }
    });
}

void AdminServer::forget(AdminSession* session) {
    m_sessions.erase(session);
}

void AdminServer::fanOut(std::shared_ptr<const std::string> message, bool decision, bool stats) {
    for (auto& [raw, weak] : m_sessions) {
        auto session = weak.lock();
        if (!session) {
            continue;
        }
        const bool wanted = stats ? session->stats : decision ? session->decisions : session->events;
        if (wanted) {
            session->send(message);
        }
    }
}

bhttp::response<bhttp::string_body> AdminServer::plainResponse(const bhttp::request<bhttp::string_body>& request,
                                                               const std::string& path, bool authorized,
                                                               const std::string& client) {
    const bool isPublic =
        std::find(m_config.publicPaths.begin(), m_config.publicPaths.end(), path) != m_config.publicPaths.end();
    if (request.method() != bhttp::verb::get && request.method() != bhttp::verb::head) {
        return errorResponse(bhttp::status::method_not_allowed, "method_not_allowed", "only GET is served here",
                             request.version());
    }
    if (path != "/metrics" && path != "/health" && path != "/ready") {
        return errorResponse(bhttp::status::not_found, "not_found", "try /admin, /metrics, /health or /ready",
                             request.version());
    }
    if (!authorized && !isPublic) {
        spdlog::warn("admin: refused {} {}: {}", path, client,
                     bearerToken(request[bhttp::field::authorization]).empty() ? "no bearer token" : "wrong token");
        return errorResponse(bhttp::status::unauthorized, "unauthorized", "send Authorization: Bearer <token>",
                             request.version());
    }
    if (path == "/metrics") {
        bhttp::response<bhttp::string_body> response(bhttp::status::ok, request.version());
        response.set(bhttp::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
        response.body() = m_engine.prometheusText();
        response.prepare_payload();
        return response;
    }
    if (path == "/health") {
        const auto [healthy, body] = m_engine.healthReport();
        return jsonResponse(healthy ? bhttp::status::ok : bhttp::status::service_unavailable, body, request.version());
    }
    const bool ready = m_engine.ready();
    nlohmann::json body = nlohmann::json::object();
    body["ready"] = ready;
    return jsonResponse(ready ? bhttp::status::ok : bhttp::status::service_unavailable, body, request.version());
}

asio::awaitable<void> AdminServer::acceptLoop() {
    for (;;) {
        error_code ec;
        tcp::socket socket(m_control);
        co_await m_acceptor.async_accept(socket, noThrow(ec));
        if (ec == asio::error::operation_aborted || !m_acceptor.is_open()) {
            co_return;
        }
        if (ec) {
            continue;
        }
        asio::co_spawn(m_control, serve(std::move(socket)), asio::detached);
    }
}

asio::awaitable<void> AdminServer::serve(tcp::socket socket) {
    error_code ec;
    const auto remote = socket.remote_endpoint(ec);
    const std::string client = ec ? "unknown" : remote.address().to_string() + ":" + std::to_string(remote.port());
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    for (;;) {
        stream.expires_after(std::chrono::seconds(30));
        bhttp::request_parser<bhttp::string_body> parser;
        parser.header_limit(16 * 1024);
        parser.body_limit(64 * 1024);
        co_await bhttp::async_read(stream, buffer, parser, noThrow(ec));
        if (ec) {
            co_return;
        }
        auto request = parser.release();
        const std::string target(request.target());
        const std::string path = target.substr(0, target.find('?'));
        const bool authorized = tokenMatches(bearerToken(request[bhttp::field::authorization]), m_token);

        if (websocket::is_upgrade(request)) {
            if (path != "/admin") {
                co_await bhttp::async_write(
                    stream,
                    errorResponse(bhttp::status::not_found, "not_found", "the admin API is at /admin", request.version()),
                    noThrow(ec));
                co_return;
            }
            if (!authorized) {
                const bool missing = bearerToken(request[bhttp::field::authorization]).empty();
                spdlog::warn("admin: refused {}: {}", client, missing ? "no bearer token" : "wrong token");
                co_await bhttp::async_write(stream,
                                            errorResponse(bhttp::status::unauthorized, "unauthorized",
                                                          "send Authorization: Bearer <token> (see admin.token_file)",
                                                          request.version()),
                                            noThrow(ec));
                co_return;
            }
            stream.expires_never();
            auto session = std::make_shared<AdminSession>(*this, websocket::stream<beast::tcp_stream>(std::move(stream)),
                                                          client);
            m_sessions[session.get()] = session;
            co_await session->run(std::move(request));
            co_return;
        }

        auto response = plainResponse(request, path, authorized, client);
        response.keep_alive(request.keep_alive());
        if (request.method() == bhttp::verb::head) {
            response.body().clear();
        }
        co_await bhttp::async_write(stream, response, noThrow(ec));
        if (ec || !request.keep_alive()) {
            error_code ignored;
            stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
            co_return;
        }
    }
}

} // namespace gaetwae::engine::admin

#pragma once

#include "engine/admin/admin_service.hpp"
#include "shared/model/config.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <string>

namespace gaetwae::engine::core {
class Engine;
}

namespace gaetwae::engine::admin {

class AdminSession;

// The admin port, on the control thread: the WebSocket JSON-RPC endpoint /admin and the HTTP
// endpoints /metrics, /health and /ready. Every request needs "Authorization: Bearer <token>"
// (except paths listed in public_paths); a missing or wrong token gets 401 on the upgrade and is
// logged without the token. Each WebSocket client has a bounded send queue: a client that does not
// keep up is dropped rather than ever slowing the engine; idle connections are pinged.
class AdminServer {
public:
    AdminServer(boost::asio::io_context& control, core::Engine& engine, model::AdminConfig config, std::string token);
    ~AdminServer();

    // Binds the address (call before the control thread serves it). False with `error` when it cannot.
    bool start(std::string& error);
    // Closes the listener and every connection. Thread-safe.
    void stop();
    std::uint16_t port() const { return m_port; }

    // ---- for sessions (control thread)
    AdminService& service() { return m_service; }
    const model::AdminConfig& config() const { return m_config; }
    void forget(AdminSession* session);

private:
    boost::asio::awaitable<void> acceptLoop();
    boost::asio::awaitable<void> serve(boost::asio::ip::tcp::socket socket);
    boost::beast::http::response<boost::beast::http::string_body>
    plainResponse(const boost::beast::http::request<boost::beast::http::string_body>& request, const std::string& path,
                  bool authorized, const std::string& client);
    void fanOut(std::shared_ptr<const std::string> message, bool decision, bool stats);

    boost::asio::io_context& m_control;
    core::Engine& m_engine;
    model::AdminConfig m_config;
    std::string m_token;
    AdminService m_service;
    boost::asio::ip::tcp::acceptor m_acceptor;
    std::uint16_t m_port = 0;
    std::map<AdminSession*, std::weak_ptr<AdminSession>> m_sessions;
    std::uint64_t m_eventSubscription = 0;
    std::uint64_t m_statsSubscription = 0;
    std::shared_ptr<bool> m_alive;
};

} // namespace gaetwae::engine::admin

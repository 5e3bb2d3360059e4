#pragma once

#include "shared/protocol/jsonrpc.hpp"

#include <QObject>
#include <QWebSocket>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>

namespace gaetwae::test {

using namespace std::chrono_literals;

// An admin API client on QWebSocket, as the console connects, for tests on the Qt thread. Every
// wait spins the event loop against a deadline; a missed one is an error (see error()).
class WsAdminClient {
public:
    WsAdminClient();
    ~WsAdminClient();

    // Connects to ws://127.0.0.1:port/admin with "Authorization: Bearer <token>" (none when
    // empty). False with error() on refusal or timeout.
    bool connect(std::uint16_t port, const std::string& token, std::chrono::milliseconds timeout = 10s);
    bool connected() const;
    const std::string& error() const { return m_error; }
    // The HTTP status of a refused upgrade (401...), when Qt reports one.
    int refusedStatus() const { return m_refusedStatus; }

    // A request and its response (result or error). nullopt when none came in time.
    std::optional<protocol::RpcIncoming> call(const std::string& method,
                                              const nlohmann::json& params = nlohmann::json::object(),
                                              std::chrono::milliseconds timeout = 10s);
    // The result, or null after recording the error (for brevity where success is expected).
    nlohmann::json result(const std::string& method, const nlohmann::json& params = nlohmann::json::object());

    void sendText(const std::string& text);
    void sendBinary(const std::string& bytes);
    // The next response (not notification) message, raw.
    std::optional<protocol::RpcIncoming> nextResponse(std::chrono::milliseconds timeout = 10s);
    // Waits for a notification of `method` accepted by `match`; notifications before it are consumed.
    std::optional<protocol::RpcIncoming> waitNotification(
        const std::string& method, const std::function<bool(const nlohmann::json&)>& match = {},
        std::chrono::milliseconds timeout = 10s);
    std::size_t pendingNotifications() const { return m_notifications.size(); }

    // Waits until the server closes the connection.
    bool waitForDisconnect(std::chrono::milliseconds timeout);
    void close();

private:
    bool spinUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout);

    QWebSocket m_socket;
    std::deque<protocol::RpcIncoming> m_responses;
    std::deque<protocol::RpcIncoming> m_notifications;
    std::string m_error;
    int m_refusedStatus = 0;
    bool m_disconnected = false;
    std::int64_t m_nextId = 1;
};

} // namespace gaetwae::test

#pragma once

#include "shared/protocol/jsonrpc.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>

namespace gaetwae::engine::admin {

// Where an admin API lives: ws://HOST:PORT/PATH.
struct AdminUrl {
    std::string host = "127.0.0.1";
    std::uint16_t port = 9901;
    std::string path = "/admin";

    static std::optional<AdminUrl> parse(const std::string& text, std::string& error);
    std::string toString() const;
};

// A blocking JSON-RPC client of the admin API, for `gaetwaed ctl` and scripts. One request at a
// time; notifications that arrive while waiting for a response go to the notification handler.
// Every read has a deadline, except waitNotification() with no timeout.
class AdminClient {
public:
    using Result = std::variant<nlohmann::json, protocol::RpcError>;
    using NotificationHandler = std::function<void(const protocol::RpcIncoming&)>;

    AdminClient();
    ~AdminClient();
    AdminClient(const AdminClient&) = delete;
    AdminClient& operator=(const AdminClient&) = delete;

    // Connects and upgrades with "Authorization: Bearer <token>". On failure `error` says why
    // (a refused token reads "the engine refused the admin token (401)").
    bool connect(const AdminUrl& url, const std::string& token, std::string& error,
                 std::chrono::milliseconds timeout = std::chrono::seconds(10));

    // Calls `method`; transport failures come back as an RpcError with code kInternalError.
    Result call(const std::string& method, const nlohmann::json& params = nlohmann::json::object());

    // Blocks until a notification arrives (or the timeout passes, or the connection ends).
    std::optional<protocol::RpcIncoming> waitNotification(std::optional<std::chrono::milliseconds> timeout);

    void onNotification(NotificationHandler handler) { m_onNotification = std::move(handler); }
    void setTimeout(std::chrono::milliseconds timeout) { m_timeout = timeout; }
    void close();

private:
    struct Impl;
    std::optional<std::string> readMessage(std::optional<std::chrono::milliseconds> timeout, std::string& error);

    std::unique_ptr<Impl> m_impl;
    NotificationHandler m_onNotification;
    std::chrono::milliseconds m_timeout{std::chrono::seconds(30)};
    std::int64_t m_nextId = 1;
};

} // namespace gaetwae::engine::admin

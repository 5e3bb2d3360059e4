#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

// JSON-RPC 2.0 (https://www.jsonrpc.org/specification) framing for the admin API.
namespace gaetwae::protocol {

namespace rpc {
// Standard codes.
inline constexpr int kParseError = -32700;
inline constexpr int kInvalidRequest = -32600;
inline constexpr int kMethodNotFound = -32601;
inline constexpr int kInvalidParams = -32602;
inline constexpr int kInternalError = -32603;
// Application codes (-32000 to -32099 are reserved for implementations).
inline constexpr int kConflict = -32000;        // expectedVersion is stale; data.currentVersion
inline constexpr int kValidationFailed = -32001; // the change is invalid; data.errors
inline constexpr int kNotFound = -32002;        // no such pool, route or instance
inline constexpr int kTooLarge = -32003;        // message over the size limit
inline constexpr int kUnauthorized = -32004;
inline constexpr int kLimitReached = -32005; // a bounded resource is in full use (running captures)
} // namespace rpc

struct RpcError {
    int code = rpc::kInternalError;
    std::string message;
    nlohmann::json data; // null when absent

    nlohmann::json toJson() const;
};

// An incoming request (with id) or notification (without).
struct RpcRequest {
    nlohmann::json id; // number or string; null for a notification
    std::string method;
    nlohmann::json params = nlohmann::json::object();

    bool isNotification() const { return id.is_null(); }
};

// Parses one message; on failure returns the error to answer (with the id when it could be read).
std::variant<RpcRequest, std::pair<nlohmann::json, RpcError>> parseRequest(std::string_view text);

std::string makeRequest(const nlohmann::json& id, std::string_view method, const nlohmann::json& params);
std::string makeResult(const nlohmann::json& id, const nlohmann::json& result);
std::string makeError(const nlohmann::json& id, const RpcError& error);
std::string makeNotification(std::string_view method, const nlohmann::json& params);

// A message arriving at a client: a response to one of its requests or a notification.
struct RpcIncoming {
    nlohmann::json id; // null for notifications
    std::string method; // notifications only
    nlohmann::json params;
    std::optional<nlohmann::json> result;
    std::optional<RpcError> error;

    bool isNotification() const { return !method.empty(); }
};
std::optional<RpcIncoming> parseIncoming(std::string_view text, std::string* error = nullptr);

} // namespace gaetwae::protocol

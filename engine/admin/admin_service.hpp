#pragma once

#include "shared/protocol/jsonrpc.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <variant>

namespace gaetwae::engine::core {
class Engine;
}

namespace gaetwae::engine::admin {

// The admin API's methods (PROTOCOL.md), independent of the transport: a request in, a result
// or a JSON-RPC error out. Subscriptions are per connection and handled by the server.
// Runs on the control thread; never throws.
class AdminService {
public:
    explicit AdminService(core::Engine& engine);

    std::variant<nlohmann::json, protocol::RpcError> call(const protocol::RpcRequest& request,
                                                          const std::string& client);

private:
    core::Engine& m_engine;
};

} // namespace gaetwae::engine::admin

#include "shared/protocol/jsonrpc.hpp"

namespace gaetwae::protocol {

nlohmann::json RpcError::toJson() const {
    nlohmann::json out = {{"code", code}, {"message", message}};
    if (!data.is_null()) {
        out["data"] = data;
    }
    return out;
}

std::variant<RpcRequest, std::pair<nlohmann::json, RpcError>> parseRequest(std::string_view text) {
    const auto json = nlohmann::json::parse(text, nullptr, false);
    if (json.is_discarded()) {
        return std::pair{nlohmann::json(nullptr), RpcError{rpc::kParseError, "the message is not valid JSON", nullptr}};
    }
    if (!json.is_object()) {
        return std::pair{nlohmann::json(nullptr),
                         RpcError{rpc::kInvalidRequest, "a request must be a JSON object (batches are not supported)",
                                  nullptr}};
    }
    nlohmann::json id = json.contains("id") ? json["id"] : nlohmann::json(nullptr);
    if (!id.is_null() && !id.is_number_integer() && !id.is_string()) {
        return std::pair{nlohmann::json(nullptr), RpcError{rpc::kInvalidRequest, "id must be a number or a string", nullptr}};
    }
    if (!json.contains("jsonrpc") || json["jsonrpc"] != "2.0") {
        return std::pair{id, RpcError{rpc::kInvalidRequest, "\"jsonrpc\" must be \"2.0\"", nullptr}};
    }
    if (!json.contains("method") || !json["method"].is_string()) {
        return std::pair{id, RpcError{rpc::kInvalidRequest, "\"method\" must be a string", nullptr}};
    }
    RpcRequest request;
    request.id = id;
    request.method = json["method"].get<std::string>();
    if (json.contains("params")) {
        if (!json["params"].is_object()) {
            return std::pair{id, RpcError{rpc::kInvalidParams, "params must be an object (named parameters)", nullptr}};
        }
        request.params = json["params"];
    }
    return request;
}

namespace {

std::string dump(const nlohmann::json& json) {
    return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

} // namespace

std::string makeRequest(const nlohmann::json& id, std::string_view method, const nlohmann::json& params) {
    return dump({{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}});
}

std::string makeResult(const nlohmann::json& id, const nlohmann::json& result) {
    return dump({{"jsonrpc", "2.0"}, {"id", id}, {"result", result}});
}

std::string makeError(const nlohmann::json& id, const RpcError& error) {
    return dump({{"jsonrpc", "2.0"}, {"id", id}, {"error", error.toJson()}});
}

std::string makeNotification(std::string_view method, const nlohmann::json& params) {
    return dump({{"jsonrpc", "2.0"}, {"method", method}, {"params", params}});
}

namespace {

std::optional<RpcIncoming> parseIncomingUnchecked(std::string_view text, std::string* error) {
    const auto json = nlohmann::json::parse(text, nullptr, false);
    auto fail = [&](const char* message) -> std::optional<RpcIncoming> {
        if (error != nullptr) {
            *error = message;
        }
        return std::nullopt;
    };
    if (json.is_discarded() || !json.is_object() || json.value("jsonrpc", "") != "2.0") {
        return fail("not a JSON-RPC 2.0 message");
    }
    RpcIncoming incoming;
    if (json.contains("method")) {
        if (!json["method"].is_string()) {
            return fail("method must be a string");
        }
        incoming.method = json["method"].get<std::string>();
        incoming.params = json.value("params", nlohmann::json::object());
        return incoming;
    }
    incoming.id = json.value("id", nlohmann::json(nullptr));
    if (json.contains("result")) {
        incoming.result = json["result"];
    } else if (json.contains("error") && json["error"].is_object()) {
        const auto& e = json["error"];
        incoming.error = RpcError{e.value("code", rpc::kInternalError), e.value("message", std::string()),
                                  e.value("data", nlohmann::json(nullptr))};
    } else {
        return fail("a response needs a result or an error");
    }
    return incoming;
}

} // namespace

std::optional<RpcIncoming> parseIncoming(std::string_view text, std::string* error) {
    try {
        return parseIncomingUnchecked(text, error);
    } catch (const nlohmann::json::exception&) { // e.g. "jsonrpc": 2 or a string "code"
        if (error != nullptr) {
            *error = "a field of the message has the wrong type";
        }
        return std::nullopt;
    }
}

} // namespace gaetwae::protocol

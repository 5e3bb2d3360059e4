#include "engine/admin/admin_service.hpp"

#include "engine/core/engine.hpp"
#include "engine/core/version.hpp"
#include "shared/model/config_codec.hpp"
#include "shared/model/json_reader.hpp"
#include "shared/protocol/admin_messages.hpp"

namespace gaetwae::engine::admin {

namespace {

using protocol::RpcError;
namespace rpc = protocol::rpc;

RpcError invalidParams(const model::Diagnostics& diagnostics) {
    nlohmann::json errors = nlohmann::json::array();
    for (const auto& d : diagnostics.items()) {
        errors.push_back({{"path", d.pointer}, {"field", model::displayPath(d.pointer)}, {"message", d.message}});
    }
    return RpcError{rpc::kInvalidParams, "invalid params: " + (diagnostics.empty() ? std::string("?")
                                                                                    : model::displayPath(diagnostics.items()[0].pointer) +
                                                                                          ": " + diagnostics.items()[0].message),
                    {{"errors", errors}}};
}

// Reads optional integer params with checks; records diagnostics.
std::int64_t intParam(const nlohmann::json& params, std::string_view key, std::int64_t fallback, std::int64_t min,
                      std::int64_t max, model::Diagnostics& d) {
    if (!params.contains(key)) {
        return fallback;
    }
    const auto& v = params[std::string(key)];
    if (!v.is_number_integer() || v.get<std::int64_t>() < min || v.get<std::int64_t>() > max) {
        d.error("/" + std::string(key), "expected an integer between " + std::to_string(min) + " and " + std::to_string(max));
        return fallback;
    }
    return v.get<std::int64_t>();
}

// A capture registry's answer as a JSON-RPC result or error.
template <class T>
std::variant<nlohmann::json, RpcError> captureAnswer(const core::CaptureAnswer<T>& answer) {
    if (const auto* refusal = std::get_if<core::CaptureRefusal>(&answer)) {
        switch (refusal->reason) {
        case core::CaptureRefusal::Reason::UnknownCapture:
            return RpcError{rpc::kNotFound, refusal->message, nullptr};
        case core::CaptureRefusal::Reason::TooManyRunning: {
            nlohmann::json data = nlohmann::json::object();
            data["running"] = protocol::capture::kMaxRunning;
            return RpcError{rpc::kLimitReached, refusal->message, data};
        }
        case core::CaptureRefusal::Reason::AfterPastEnd: {
            model::Diagnostics d;
            d.error("/after", refusal->message);
            return invalidParams(d);
        }
        }
    }
    return protocol::toJson(std::get<T>(answer));
}

void rejectUnknown(const nlohmann::json& params, std::initializer_list<std::string_view> known, model::Diagnostics& d) {
    for (const auto& [key, value] : params.items()) {
        if (std::find(known.begin(), known.end(), key) == known.end()) {
            d.error("/" + key, "unknown parameter '" + key + "'", true);
        }
    }
}

} // namespace

AdminService::AdminService(core::Engine& engine)
    : m_engine(engine) {}

std::variant<nlohmann::json, RpcError> AdminService::call(const protocol::RpcRequest& request,
                                                          const std::string& client) {
    const auto& m = request.method;
    const auto& params = request.params;
    model::Diagnostics d;
    try {
        if (m == protocol::method::kHello) {
            rejectUnknown(params, {"client", "protocolVersion"}, d);
            if (!d.empty()) {
                return invalidParams(d);
            }
            protocol::HelloResult hello;
            hello.engineVersion = std::string(core::kEngineVersion);
            hello.configVersion = m_engine.configVersion();
            hello.capabilities = {"stats",    "events",      "decisions", "history",
                                  "validate", "transaction", "capture"};
            if (m_engine.configStore().persistent()) {
                hello.capabilities.push_back("persistence");
            }
            return protocol::toJson(hello);
        }
        const bool noParams = m == protocol::method::kEngineInfo || m == protocol::method::kConfigGet ||
                              m == protocol::method::kPoolsList || m == protocol::method::kRoutesList;
        if (noParams) {
            rejectUnknown(params, {}, d);
            if (!d.empty()) {
                return invalidParams(d);
            }
        }
        if (m == protocol::method::kEngineInfo) {
            return protocol::toJson(m_engine.engineInfo());
        }
        if (m == protocol::method::kConfigGet) {
            return protocol::toJson(protocol::ConfigGetResult{m_engine.configVersion(), m_engine.config()});
        }
        if (m == protocol::method::kPoolsList) {
            return protocol::toJson(m_engine.poolViews());
        }
        if (m == protocol::method::kRoutesList) {
            return protocol::toJson(protocol::RoutesListResult{m_engine.configVersion(), m_engine.config().routes});
        }
        if (m == protocol::method::kHistory) {
            rejectUnknown(params, {"limit"}, d);
            const auto limit = intParam(params, "limit", 100, 1, 1000, d);
            if (!d.empty()) {
                return invalidParams(d);
            }
            return protocol::toJson(m_engine.configStore().history(static_cast<std::size_t>(limit)));
        }
        if (m == protocol::method::kStatsHistory) {
            rejectUnknown(params, {"since"}, d);
            const auto since = intParam(params, "since", 0, 0, std::numeric_limits<std::int64_t>::max(), d);
            if (!d.empty()) {
                return invalidParams(d);
            }
            return protocol::toJson(m_engine.stats().history(since));
        }
        if (m == protocol::method::kEventsRecent) {
            rejectUnknown(params, {"after"}, d);
            const auto after = intParam(params, "after", 0, 0, std::numeric_limits<std::int64_t>::max(), d);
            if (!d.empty()) {
                return invalidParams(d);
            }
            std::vector<protocol::EventRecord> events;
            for (const auto& event : m_engine.events().since(static_cast<std::uint64_t>(after))) {
                model::Diagnostics ignored;
                protocol::EventRecord record;
                protocol::fromJson(core::toJson(event), record, ignored);
                events.push_back(std::move(record));
            }
            return protocol::toJson(events);
        }
        if (m == protocol::method::kValidate) {
            rejectUnknown(params, {"operations", "expectedVersion"}, d);
            protocol::ChangeRequest change;
            nlohmann::json withVersion = params;
            withVersion["expectedVersion"] = m_engine.configVersion();
            if (!d.empty() || !protocol::fromJson(withVersion, change, d)) {
                return invalidParams(d);
            }
            return protocol::toJson(m_engine.configStore().validate(change.operations));
        }
        if (m == protocol::method::kTransaction) {
            rejectUnknown(params, {"expectedVersion", "operations"}, d);
            protocol::ChangeRequest change;
            if (!d.empty() || !protocol::fromJson(params, change, d)) {
                return invalidParams(d);
            }
            auto result = m_engine.configStore().change(change, client);
            if (auto* error = std::get_if<RpcError>(&result)) {
                return *error;
            }
            return protocol::toJson(std::get<protocol::ChangeResult>(result));
        }
        if (m == protocol::method::kTlsReload) {
            rejectUnknown(params, {}, d);
            if (!d.empty()) {
                return invalidParams(d);
            }
            auto result = m_engine.configStore().reloadTls(client);
            if (auto* error = std::get_if<RpcError>(&result)) {
                return *error;
            }
            return protocol::toJson(std::get<protocol::ChangeResult>(result));
        }
        if (m == protocol::method::kCaptureStart) {
            protocol::CaptureStartParams start;
            if (!protocol::fromJson(params, start, d)) {
                return invalidParams(d);
            }
            const auto routes = m_engine.config().routes;
            if (std::none_of(routes.begin(), routes.end(),
                             [&](const auto& route) { return route.name == start.route; })) {
                d.error("/route", "route '" + start.route + "' does not exist in the running configuration");
                return invalidParams(d);
            }
            return captureAnswer(m_engine.captures().start(start));
        }
        if (m == protocol::method::kCaptureStatus || m == protocol::method::kCaptureStop) {
            protocol::CaptureIdParams id;
            if (!protocol::fromJson(params, id, d)) {
                return invalidParams(d);
            }
            return captureAnswer(m == protocol::method::kCaptureStop
                                     ? m_engine.captures().stop(id.captureId)
                                     : m_engine.captures().status(id.captureId));
        }
        if (m == protocol::method::kCaptureGet) {
            protocol::CaptureGetParams get;
            if (!protocol::fromJson(params, get, d)) {
                return invalidParams(d);
            }
            return captureAnswer(m_engine.captures().get(get));
        }
        if (m == protocol::method::kCaptureList) {
            rejectUnknown(params, {}, d);
            if (!d.empty()) {
                return invalidParams(d);
            }
            return protocol::toJson(m_engine.captures().list());
        }
        if (protocol::kindOfMethod(m)) {
            // A single change: the same as a transaction of one.
            std::int64_t expected = 0;
            if (!params.contains("expectedVersion") || !params["expectedVersion"].is_number_integer() ||
                (expected = params["expectedVersion"].get<std::int64_t>()) < 0) {
                d.error("/expectedVersion", "every change needs the configuration version it was made against");
                return invalidParams(d);
            }
            auto op = protocol::decodeOperation(m, params, "", d);
            if (!op) {
                return invalidParams(d);
            }
            protocol::ChangeRequest change{static_cast<std::uint64_t>(expected), {std::move(*op)}};
            auto result = m_engine.configStore().change(change, client);
            if (auto* error = std::get_if<RpcError>(&result)) {
                return *error;
            }
            return protocol::toJson(std::get<protocol::ChangeResult>(result));
        }
    } catch (const std::exception& e) {
        return RpcError{rpc::kInternalError, std::string("internal error: ") + e.what(), nullptr};
    }
    return RpcError{rpc::kMethodNotFound, "unknown method '" + m + "'", nullptr};
}

} // namespace gaetwae::engine::admin

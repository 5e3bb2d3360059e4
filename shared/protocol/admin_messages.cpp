#include "shared/protocol/admin_messages.hpp"

#include "shared/model/config_codec.hpp"
#include "shared/model/json_reader.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace gaetwae::protocol {

namespace {

using model::Diagnostics;
using model::ObjectReader;
using model::UnknownKeys;

// Results from a newer engine may carry fields this build does not know: keep decoding.
constexpr UnknownKeys kLenient = UnknownKeys::Preserve;

bool readU64(ObjectReader& r, std::string_view key, std::uint64_t& out) {
    std::int64_t v = 0;
    if (!r.readInteger(key, v, 0, std::numeric_limits<std::int64_t>::max())) {
        return false;
    }
    out = static_cast<std::uint64_t>(v);
    return true;
}

bool readI64(ObjectReader& r, std::string_view key, std::int64_t& out) {
    return r.readInteger(key, out, std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max());
}

nlohmann::json diagnosticsJson(const std::vector<model::Diagnostic>& items) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& d : items) {
        out.push_back({{"path", d.pointer}, {"field", model::displayPath(d.pointer)}, {"message", d.message}});
    }
    return out;
}

template <class T, class Decode>
bool readArray(ObjectReader& r, std::string_view key, std::vector<T>& out, Decode&& decode) {
    const nlohmann::json* value = r.member(key);
    if (value == nullptr) {
        return false;
    }
    if (!value->is_array()) {
        r.diagnostics().error(r.pointerOf(key), "expected a list");
        return false;
    }
    out.clear();
    for (std::size_t i = 0; i < value->size(); ++i) {
        T item;
        if (decode((*value)[i], model::childPointer(r.pointerOf(key), i), item)) {
            out.push_back(std::move(item));
        }
    }
    return true;
}

} // namespace

// ------------------------------------------------------------------------------------- encode

nlohmann::json toJson(const HelloResult& v) {
    return {{"protocolVersion", v.protocolVersion},
            {"engineVersion", v.engineVersion},
            {"capabilities", v.capabilities},
            {"configVersion", v.configVersion}};
}

nlohmann::json toJson(const EngineInfo& v) {
    return {{"engineVersion", v.engineVersion},     {"protocolVersion", v.protocolVersion},
            {"configVersion", v.configVersion},     {"configPath", v.configPath},
            {"persistent", v.persistent},           {"workers", v.workers},
            {"pid", v.pid},                         {"startedAt", v.startedAtMs},
            {"activeConnections", v.activeConnections}};
}

nlohmann::json toJson(const InstanceView& v) {
    auto out = model::encodeInstance(v.config);
    out["live"] = {{"healthy", v.healthy},
                   {"ejected", v.ejected},
                   {"breaker", v.breaker},
                   {"activeRequests", v.activeRequests},
                   {"requests", v.requests},
                   {"failures", v.failures},
                   {"slowStart", v.slowStart},
                   {"latencyEwmaMs", v.latencyEwmaMs}};
    return out;
}

nlohmann::json toJson(const PoolView& v) {
    auto out = model::encodePool(v.config);
    nlohmann::json instances = nlohmann::json::array();
    for (const auto& instance : v.instances) {
        instances.push_back(toJson(instance));
    }
    out["instances"] = instances;
    out["live"] = {{"activeRequests", v.activeRequests}, {"retries", v.retries}};
    return out;
}

nlohmann::json toJson(const PoolsListResult& v) {
    nlohmann::json pools = nlohmann::json::array();
    for (const auto& pool : v.pools) {
        pools.push_back(toJson(pool));
    }
    return {{"version", v.version}, {"pools", pools}};
}

nlohmann::json toJson(const RoutesListResult& v) {
    nlohmann::json routes = nlohmann::json::array();
    for (const auto& route : v.routes) {
        routes.push_back(model::encodeRoute(route));
    }
    return {{"version", v.version}, {"routes", routes}};
}

nlohmann::json toJson(const ConfigGetResult& v) {
    return {{"version", v.version}, {"config", model::encodeGatewayConfig(v.config)}};
}

nlohmann::json toJson(const ChangeRequest& v) {
    nlohmann::json operations = nlohmann::json::array();
    for (const auto& op : v.operations) {
        operations.push_back(encodeOperation(op));
    }
    return {{"expectedVersion", v.expectedVersion}, {"operations", operations}};
}

nlohmann::json toJson(const ChangeResult& v) {
    return {{"version", v.version}, {"diff", v.diff}};
}

nlohmann::json toJson(const ValidateResult& v) {
    return {{"valid", v.valid}, {"errors", diagnosticsJson(v.errors)}, {"diff", v.diff}};
}

nlohmann::json toJson(const AuditRecord& v) {
    return {{"version", v.version}, {"time", v.timeMs}, {"client", v.client}, {"summary", v.summary}, {"diff", v.diff}};
}

nlohmann::json toJson(const EventRecord& v) {
    nlohmann::json out = {{"kind", v.kind}, {"sequence", v.sequence}, {"time", v.timeMs}};
    for (const auto& [key, value] : {std::pair<const char*, const std::string*>{"pool", &v.pool},
                                     {"instance", &v.instance},
                                     {"from", &v.from},
                                     {"to", &v.to},
                                     {"detail", &v.detail}}) {
        if (!value->empty()) {
            out[key] = *value;
        }
    }
    if (!v.data.empty()) {
        out["data"] = v.data;
    }
    return out;
}

nlohmann::json toJson(const SubscribeParams& v) {
    return {{"topics", v.topics}};
}

nlohmann::json toJson(const std::vector<AuditRecord>& records) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : records) {
        out.push_back(toJson(r));
    }
    return {{"records", out}};
}

nlohmann::json toJson(const std::vector<StatsFrame>& frames) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& f : frames) {
        out.push_back(toJson(f));
    }
    return {{"frames", out}};
}

nlohmann::json toJson(const std::vector<EventRecord>& events) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& e : events) {
        out.push_back(toJson(e));
    }
    return {{"events", out}};
}

// ------------------------------------------------------------------------------------- decode

bool fromJson(const nlohmann::json& json, HelloResult& out, Diagnostics& d) {
    const auto before = d.size();
    ObjectReader r(json, "", d, kLenient);
    HelloResult v;
    std::int64_t protocol = 0;
    if (r.readInteger("protocolVersion", protocol, 0, 1'000'000, true)) {
        v.protocolVersion = static_cast<int>(protocol);
    }
    r.readString("engineVersion", v.engineVersion);
    r.readStringList("capabilities", v.capabilities);
    readU64(r, "configVersion", v.configVersion);
    r.finish();
    if (d.size() != before) {
        return false;
    }
    out = std::move(v);
    return true;
}

bool fromJson(const nlohmann::json& json, EngineInfo& out, Diagnostics& d) {
    const auto before = d.size();
    ObjectReader r(json, "", d, kLenient);
    EngineInfo v;
    r.readString("engineVersion", v.engineVersion);
    std::int64_t protocol = 0;
    if (r.readInteger("protocolVersion", protocol, 0, 1'000'000)) {
        v.protocolVersion = static_cast<int>(protocol);
    }
    readU64(r, "configVersion", v.configVersion);
    r.readString("configPath", v.configPath);
    r.readBool("persistent", v.persistent);
    r.readUnsigned<std::uint32_t>("workers", v.workers);
    readI64(r, "pid", v.pid);
    readI64(r, "startedAt", v.startedAtMs);
    readI64(r, "activeConnections", v.activeConnections);
    r.finish();
    if (d.size() != before) {
        return false;
    }
    out = std::move(v);
    return true;
}

namespace {

bool decodeInstanceView(const nlohmann::json& json, const std::string& pointer, InstanceView& out, Diagnostics& d) {
    const auto before = d.size();
    nlohmann::json config = json;
    nlohmann::json live = nlohmann::json::object();
    if (config.is_object() && config.contains("live")) {
        live = config["live"];
        config.erase("live");
    }
    InstanceView v;
    v.config = model::decodeInstance(config, pointer, d, kLenient);
    ObjectReader r(live, pointer + "/live", d, kLenient);
    r.readBool("healthy", v.healthy);
    r.readBool("ejected", v.ejected);
    r.readString("breaker", v.breaker);
    readI64(r, "activeRequests", v.activeRequests);
    readU64(r, "requests", v.requests);
    readU64(r, "failures", v.failures);
    r.readDouble("slowStart", v.slowStart, 0.0, 1.0);
    r.readDouble("latencyEwmaMs", v.latencyEwmaMs, 0.0, 1e12);
    r.finish();
    if (d.size() != before) {
        return false;
    }
    out = std::move(v);
    return true;
}

bool decodePoolView(const nlohmann::json& json, const std::string& pointer, PoolView& out, Diagnostics& d) {
    const auto before = d.size();
    nlohmann::json config = json;
    nlohmann::json live = nlohmann::json::object();
    if (config.is_object() && config.contains("live")) {
        live = config["live"];
        config.erase("live");
    }
    if (config.is_object() && config.contains("instances") && config["instances"].is_array()) {
        for (auto& instance : config["instances"]) {
            if (instance.is_object()) {
                instance.erase("live"); // live state is not configuration
            }
        }
    }
    PoolView v;
    v.config = model::decodePool(config, pointer, d, kLenient);
    if (json.is_object() && json.contains("instances") && json["instances"].is_array()) {
        for (std::size_t i = 0; i < json["instances"].size(); ++i) {
            InstanceView instance;
            if (decodeInstanceView(json["instances"][i], model::childPointer(pointer + "/instances", i), instance, d)) {
                v.instances.push_back(std::move(instance));
            }
        }
    }
    ObjectReader r(live, pointer + "/live", d, kLenient);
    readI64(r, "activeRequests", v.activeRequests);
    readU64(r, "retries", v.retries);
    r.finish();
    if (d.size() != before) {
        return false;
    }
    out = std::move(v);
    return true;
}

} // namespace

bool fromJson(const nlohmann::json& json, PoolsListResult& out, Diagnostics& d) {
    const auto before = d.size();
    ObjectReader r(json, "", d, kLenient);
    PoolsListResult v;
    readU64(r, "version", v.version);
    readArray(r, "pools", v.pools, [&](const nlohmann::json& item, const std::string& pointer, PoolView& pool) {
        return decodePoolView(item, pointer, pool, d);
    });
    r.finish();
    if (d.size() != before) {
        return false;
    }
    out = std::move(v);
    return true;
}

bool fromJson(const nlohmann::json& json, RoutesListResult& out, Diagnostics& d) {
    const auto before = d.size();
    ObjectReader r(json, "", d, kLenient);
    RoutesListResult v;
    readU64(r, "version", v.version);
    readArray(r, "routes", v.routes, [&](const nlohmann::json& item, const std::string& pointer, model::RouteConfig& route) {
        route = model::decodeRoute(item, pointer, d, kLenient);
        return true;
    });
    r.finish();
    if (d.size() != before) {
        return false;
    }
    out = std::move(v);
    return true;
}

bool fromJson(const nlohmann::json& json, ConfigGetResult& out, Diagnostics& d) {
    const auto before = d.size();
    ObjectReader r(json, "", d, kLenient);
    ConfigGetResult v;
    readU64(r, "version", v.version);
    if (const nlohmann::json* config = r.member("config")) {
        Diagnostics local;
        v.config = model::decodeGatewayConfig(*config, local, kLenient);
        for (const auto& item : local.items()) {
            d.error("/config" + item.pointer, item.message, item.atKey);
        }
    } else {
        r.requireMember("config");
    }
    r.finish();
    if (d.size() != before) {
        return false;
    }
    out = std::move(v);
    return true;
}

bool fromJson(const nlohmann::json& json, ChangeRequest& out, Diagnostics& d) {
    const auto before = d.size();
    ObjectReader r(json, "", d, UnknownKeys::Reject);
    ChangeRequest v;
    if (!readU64(r, "expectedVersion", v.expectedVersion)) {
        r.requireMember("expectedVersion");
    }
    if (const nlohmann::json* operations = r.member("operations")) {
        if (!operations->is_array() || operations->empty()) {
            d.error(r.pointerOf("operations"), "expected a non-empty list of {method, params}");
        } else {
            for (std::size_t i = 0; i < operations->size(); ++i) {
                const auto pointer = model::childPointer("/operations", i);
                ObjectReader item((*operations)[i], pointer, d, UnknownKeys::Reject);
                std::string methodName;
                item.readString("method", methodName, true);
                const nlohmann::json* params = item.member("params");
                item.finish();
                if (!methodName.empty()) {
                    if (auto op = decodeOperation(methodName, params ? *params : nlohmann::json::object(),
                                                  pointer + "/params", d)) {
                        v.operations.push_back(std::move(*op));
                    }
                }
            }
        }
    } else {
        r.requireMember("operations");
    }
    r.finish();
    if (d.size() != before) {
        return false;
    }
    out = std::move(v);
    return true;
}

bool fromJson(const nlohmann::json& json, ChangeResult& out, Diagnostics& d) {
    const auto before = d.size();
    ObjectReader r(json, "", d, kLenient);
    ChangeResult v;
    readU64(r, "version", v.version);
    if (const nlohmann::json* diff = r.member("diff")) {
        v.diff = *diff;
    }
    r.finish();
    if (d.size() != before) {
        return false;
    }
    out = std::move(v);
    return true;
}

bool fromJson(const nlohmann::json& json, ValidateResult& out, Diagnostics& d) {
    const auto before = d.size();
    ObjectReader r(json, "", d, kLenient);
    ValidateResult v;
    r.readBool("valid", v.valid);
    readArray(r, "errors", v.errors, [&](const nlohmann::json& item, const std::string& pointer, model::Diagnostic& e) {
        ObjectReader er(item, pointer, d, kLenient);
        er.readString("path", e.pointer);
        er.member("field");
        er.readString("message", e.message, true);
        er.finish();
        return true;
    });
    if (const nlohmann::json* diff = r.member("diff")) {
        v.diff = *diff;
    }
    r.finish();
    if (d.size() != before) {
        return false;
    }
    out = std::move(v);
    return true;
}

bool fromJson(const nlohmann::json& json, AuditRecord& out, Diagnostics& d) {
    const auto before = d.size();
    ObjectReader r(json, "", d, kLenient);
    AuditRecord v;
    readU64(r, "version", v.version);
    readI64(r, "time", v.timeMs);
    r.readString("client", v.client);
    r.readString("summary", v.summary);
    if (const nlohmann::json* diff = r.member("diff")) {
        v.diff = *diff;
    }
    r.finish();
    if (d.size() != before) {
        return false;
    }
    out = std::move(v);
    return true;
}

bool fromJson(const nlohmann::json& json, EventRecord& out, Diagnostics& d) {
    const auto before = d.size();
    ObjectReader r(json, "", d, kLenient);
    EventRecord v;
    r.readString("kind", v.kind, true);
    readU64(r, "sequence", v.sequence);
    readI64(r, "time", v.timeMs);
    r.readString("pool", v.pool);
    r.readString("instance", v.instance);
    r.readString("from", v.from);
    r.readString("to", v.to);
    r.readString("detail", v.detail);
    if (const nlohmann::json* data = r.member("data")) {
        v.data = *data;
    }
    r.finish();
    if (d.size() != before) {
        return false;
    }
    out = std::move(v);
    return true;
}

bool fromJson(const nlohmann::json& json, SubscribeParams& out, Diagnostics& d) {
    const auto before = d.size();
    ObjectReader r(json, "", d, UnknownKeys::Reject);
    SubscribeParams v;
    r.readStringList("topics", v.topics);
    for (std::size_t i = 0; i < v.topics.size(); ++i) {
        const auto& topic = v.topics[i];
        if (topic != "stats" && topic != "events" && topic != "decisions") {
            d.error(model::childPointer("/topics", i), "unknown topic '" + topic + "' (stats, events, decisions)");
        }
    }
    r.finish();
    if (d.size() != before) {
        return false;
    }
    out = std::move(v);
    return true;
}

bool fromJson(const nlohmann::json& json, std::vector<AuditRecord>& out, Diagnostics& d) {
    const auto before = d.size();
    ObjectReader r(json, "", d, kLenient);
    readArray(r, "records", out, [&](const nlohmann::json& item, const std::string&, AuditRecord& record) {
        return fromJson(item, record, d);
    });
    r.finish();
    return d.size() == before;
}

bool fromJson(const nlohmann::json& json, std::vector<StatsFrame>& out, Diagnostics& d) {
    const auto before = d.size();
    ObjectReader r(json, "", d, kLenient);
    readArray(r, "frames", out, [&](const nlohmann::json& item, const std::string& pointer, StatsFrame& frame) {
        std::string error;
        if (!fromJson(item, frame, &error)) {
            d.error(pointer, error);
            return false;
        }
        return true;
    });
    r.finish();
    return d.size() == before;
}

bool fromJson(const nlohmann::json& json, std::vector<EventRecord>& out, Diagnostics& d) {
    const auto before = d.size();
    ObjectReader r(json, "", d, kLenient);
    readArray(r, "events", out, [&](const nlohmann::json& item, const std::string&, EventRecord& event) {
        return fromJson(item, event, d);
    });
    r.finish();
    return d.size() == before;
}

// ------------------------------------------------------------------------------ traffic capture

bool isCredentialHeader(std::string_view name) {
    static constexpr std::array<std::string_view, 5> kCredentials{"authorization", "proxy-authorization",
                                                                  "cookie", "set-cookie", "x-api-key"};
    return std::find(kCredentials.begin(), kCredentials.end(), name) != kCredentials.end();
}

namespace {

bool headerNameToken(std::string_view name) {
    // RFC 9110 token characters.
    return !name.empty() && std::all_of(name.begin(), name.end(), [](unsigned char c) {
        return std::isalnum(c) != 0 ||
               std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
    });
}

} // namespace

nlohmann::json toJson(const CaptureStartParams& v) {
    return {{"route", v.route},
            {"durationMs", v.durationMs},
            {"sample", v.sample},
            {"maxRequests", v.maxRequests},
            {"headers", v.headers}};
}

nlohmann::json toJson(const CaptureStartResult& v) {
    return {
        {"captureId", v.captureId}, {"route", v.route}, {"startedAt", v.startedAtMs}, {"endsAt", v.endsAtMs}};
}

nlohmann::json toJson(const CaptureStatus& v) {
    return {{"captureId", v.captureId},
            {"route", v.route},
            {"state", v.state},
            {"captured", v.captured},
            {"skipped", v.skipped},
            {"dropped", v.dropped},
            {"startedAt", v.startedAtMs},
            {"endsAt", v.endsAtMs},
            {"headers", v.headers},
            {"sample", v.sample},
            {"maxRequests", v.maxRequests}};
}

nlohmann::json toJson(const CaptureIdParams& v) {
    return {{"captureId", v.captureId}};
}

nlohmann::json toJson(const CaptureGetParams& v) {
    return {{"captureId", v.captureId}, {"after", v.after}, {"limit", v.limit}};
}

nlohmann::json toJson(const CaptureGetResult& v) {
    nlohmann::json entries = nlohmann::json::array();
    for (const auto& entry : v.entries) {
        entries.push_back(loadtest::toJson(entry));
    }
    return {{"captureId", v.captureId},
            {"state", v.state},
            {"entries", std::move(entries)},
            {"next", v.next},
            {"complete", v.complete}};
}

nlohmann::json toJson(const CaptureListResult& v) {
    nlohmann::json captures = nlohmann::json::array();
    for (const auto& status : v.captures) {
        captures.push_back(toJson(status));
    }
    return {{"captures", std::move(captures)}};
}

namespace {

bool readCaptureId(ObjectReader& r, std::uint64_t& out) {
    if (!r.has("captureId")) {
        r.requireMember("captureId");
        return false;
    }
    return readU64(r, "captureId", out);
}

} // namespace

bool fromJson(const nlohmann::json& json, CaptureStartParams& out, Diagnostics& d) {
    const auto before = d.size();
    ObjectReader r(json, "", d, UnknownKeys::Reject);
    CaptureStartParams v;
    if (r.readString("route", v.route, true) && v.route.empty()) {
        d.error(r.pointerOf("route"), "expected a route name");
    }
    r.readInteger("durationMs", v.durationMs, 1, capture::kMaxDurationMs);
    if (r.readDouble("sample", v.sample, 0.0, 1.0) && !(v.sample > 0.0)) {
        d.error(r.pointerOf("sample"), "must be more than 0 (a fraction of requests up to 1)");
    }
    r.readUnsigned<std::uint64_t>("maxRequests", v.maxRequests, 1, capture::kMaxRequests);
    std::vector<std::string> headers;
    if (r.readStringList("headers", headers)) {
        for (std::size_t i = 0; i < headers.size(); ++i) {
            std::string name = headers[i];
            std::transform(name.begin(), name.end(), name.begin(),
                           [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
            const auto pointer = model::childPointer(r.pointerOf("headers"), i);
            if (!headerNameToken(name)) {
                d.error(pointer, "'" + headers[i] + "' is not a header name");
            } else if (isCredentialHeader(name)) {
                d.error(pointer,
                        "header '" + name + "' carries credentials, and credentials are never captured");
            } else if (std::find(v.headers.begin(), v.headers.end(), name) == v.headers.end()) {
                v.headers.push_back(std::move(name));
            }
        }
    }
    r.finish();
    if (d.size() != before) {
        return false;
    }
    out = std::move(v);
    return true;
}

bool fromJson(const nlohmann::json& json, CaptureStartResult& out, Diagnostics& d) {
    const auto before = d.size();
    ObjectReader r(json, "", d, kLenient);
    CaptureStartResult v;
    readCaptureId(r, v.captureId);
    r.readString("route", v.route);
    readI64(r, "startedAt", v.startedAtMs);
    readI64(r, "endsAt", v.endsAtMs);
    r.finish();
    if (d.size() != before) {
        return false;
    }
    out = std::move(v);
    return true;
}

bool fromJson(const nlohmann::json& json, CaptureStatus& out, Diagnostics& d) {
    const auto before = d.size();
    ObjectReader r(json, "", d, kLenient);
    CaptureStatus v;
    readCaptureId(r, v.captureId);
    r.readString("route", v.route);
    r.readString("state", v.state, true);
    readU64(r, "captured", v.captured);
    readU64(r, "skipped", v.skipped);
    readU64(r, "dropped", v.dropped);
    readI64(r, "startedAt", v.startedAtMs);
    readI64(r, "endsAt", v.endsAtMs);
    r.readStringList("headers", v.headers);
    r.readDouble("sample", v.sample, 0.0, 1.0);
    readU64(r, "maxRequests", v.maxRequests);
    r.finish();
    if (d.size() != before) {
        return false;
    }
    out = std::move(v);
    return true;
}

bool fromJson(const nlohmann::json& json, CaptureIdParams& out, Diagnostics& d) {
    const auto before = d.size();
    ObjectReader r(json, "", d, UnknownKeys::Reject);
    CaptureIdParams v;
    readCaptureId(r, v.captureId);
    r.finish();
    if (d.size() != before) {
        return false;
    }
    out = v;
    return true;
}

bool fromJson(const nlohmann::json& json, CaptureGetParams& out, Diagnostics& d) {
    const auto before = d.size();
    ObjectReader r(json, "", d, UnknownKeys::Reject);
    CaptureGetParams v;
    readCaptureId(r, v.captureId);
    readU64(r, "after", v.after);
    r.readInteger("limit", v.limit, 1, capture::kMaxGetLimit);
    r.finish();
    if (d.size() != before) {
        return false;
    }
    out = v;
    return true;
}

bool fromJson(const nlohmann::json& json, CaptureGetResult& out, Diagnostics& d) {
    const auto before = d.size();
    ObjectReader r(json, "", d, kLenient);
    CaptureGetResult v;
    readCaptureId(r, v.captureId);
    r.readString("state", v.state, true);
    readArray(r, "entries", v.entries,
              [&](const nlohmann::json& item, const std::string& pointer, loadtest::ScheduleEntry& entry) {
                  return loadtest::fromJson(item, entry, pointer, d);
              });
    readU64(r, "next", v.next);
    r.readBool("complete", v.complete);
    r.finish();
    if (d.size() != before) {
        return false;
    }
    out = std::move(v);
    return true;
}

bool fromJson(const nlohmann::json& json, CaptureListResult& out, Diagnostics& d) {
    const auto before = d.size();
    ObjectReader r(json, "", d, kLenient);
    CaptureListResult v;
    readArray(r, "captures", v.captures,
              [&](const nlohmann::json& item, const std::string& pointer, CaptureStatus& status) {
                  model::Diagnostics local;
                  if (!fromJson(item, status, local)) {
                      for (const auto& problem : local.items()) {
                          d.error(pointer + problem.pointer, problem.message);
                      }
                      return false;
                  }
                  return true;
              });
    r.finish();
    if (d.size() != before) {
        return false;
    }
    out = std::move(v);
    return true;
}

} // namespace gaetwae::protocol

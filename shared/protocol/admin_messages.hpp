#pragma once

#include "shared/loadtest/schedule.hpp"
#include "shared/model/config.hpp"
#include "shared/model/diagnostics.hpp"
#include "shared/protocol/config_ops.hpp"
#include "shared/protocol/stats.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// The admin API's methods and their typed parameters and results (PROTOCOL.md documents them).
// Engine and console both encode and decode through these functions; neither builds JSON by hand.
namespace gaetwae::protocol {

inline constexpr int kProtocolVersion = 1;

namespace method {
inline constexpr std::string_view kHello = "hello";
inline constexpr std::string_view kEngineInfo = "engine.info";
inline constexpr std::string_view kConfigGet = "config.get";
inline constexpr std::string_view kPoolsList = "pools.list";
inline constexpr std::string_view kRoutesList = "routes.list";
inline constexpr std::string_view kValidate = "validate";
inline constexpr std::string_view kTransaction = "transaction";
inline constexpr std::string_view kHistory = "history";
inline constexpr std::string_view kStatsHistory = "stats.history";
inline constexpr std::string_view kEventsRecent = "events.recent";
inline constexpr std::string_view kSubscribe = "subscribe";
inline constexpr std::string_view kUnsubscribe = "unsubscribe";
inline constexpr std::string_view kCaptureStart = "capture.start";
inline constexpr std::string_view kCaptureStatus = "capture.status";
inline constexpr std::string_view kCaptureGet = "capture.get";
inline constexpr std::string_view kCaptureStop = "capture.stop";
inline constexpr std::string_view kCaptureList = "capture.list";
inline constexpr std::string_view kTlsReload = "tls.reload";
// Single changes: the names in config_ops.hpp ("pool.put", "instance.setWeight", ...).
} // namespace method

namespace notification {
inline constexpr std::string_view kStats = "stats";
inline constexpr std::string_view kEvent = "event";
} // namespace notification

// ---- hello / engine.info
struct HelloResult {
    int protocolVersion = kProtocolVersion;
    std::string engineVersion;
    std::vector<std::string> capabilities; // "stats", "events", "decisions", "history", "persistence"...
    std::uint64_t configVersion = 0;

    bool operator==(const HelloResult&) const = default;
};

struct EngineInfo {
    std::string engineVersion;
    int protocolVersion = kProtocolVersion;
    std::uint64_t configVersion = 0;
    std::string configPath;  // empty when running the built-in demo configuration
    bool persistent = false; // changes are written back to configPath
    std::uint32_t workers = 0;
    std::int64_t pid = 0;
    std::int64_t startedAtMs = 0;
    std::int64_t activeConnections = 0;

    bool operator==(const EngineInfo&) const = default;
};

// ---- reads
struct InstanceView {
    model::InstanceConfig config;
    bool healthy = true;
    bool ejected = false;
    std::string breaker = "closed";
    std::int64_t activeRequests = 0; // drain progress: in flight, toward zero
    std::uint64_t requests = 0;
    std::uint64_t failures = 0;
    double slowStart = 1.0;
    double latencyEwmaMs = 0;

    bool operator==(const InstanceView&) const = default;
};

struct PoolView {
    model::PoolConfig config; // instances as configured (with unknown fields)
    std::vector<InstanceView> instances;
    std::int64_t activeRequests = 0;
    std::uint64_t retries = 0;

    bool operator==(const PoolView&) const = default;
};

struct PoolsListResult {
    std::uint64_t version = 0;
    std::vector<PoolView> pools;

    bool operator==(const PoolsListResult&) const = default;
};

struct RoutesListResult {
    std::uint64_t version = 0;
    std::vector<model::RouteConfig> routes;

    bool operator==(const RoutesListResult&) const = default;
};

struct ConfigGetResult {
    std::uint64_t version = 0;
    model::GatewayConfig config;

    bool operator==(const ConfigGetResult&) const = default;
};

// ---- changes
struct ChangeRequest {
    std::uint64_t expectedVersion = 0;
    std::vector<ConfigOperation> operations;
};

struct ChangeResult {
    std::uint64_t version = 0; // the configuration version the change created
    nlohmann::json diff = nlohmann::json::array(); // RFC 6902 from the previous version

    bool operator==(const ChangeResult&) const = default;
};

struct ValidateResult {
    bool valid = true;
    std::vector<model::Diagnostic> errors;
    nlohmann::json diff = nlohmann::json::array();

    bool operator==(const ValidateResult&) const = default;
};

struct AuditRecord {
    std::uint64_t version = 0;
    std::int64_t timeMs = 0;
    std::string client;  // "admin 127.0.0.1:51234", "SIGHUP", ...
    std::string summary; // one line per operation, joined with "; "
    nlohmann::json diff = nlohmann::json::array();

    bool operator==(const AuditRecord&) const = default;
};

struct EventRecord {
    std::string kind; // health, breaker, ejection, config, drain, decision
    std::uint64_t sequence = 0;
    std::int64_t timeMs = 0;
    std::string pool;
    std::string instance;
    std::string from;
    std::string to;
    std::string detail;
    nlohmann::json data = nlohmann::json::object();

    bool operator==(const EventRecord&) const = default;
};

struct SubscribeParams {
    std::vector<std::string> topics{"stats", "events"}; // and/or "decisions"
};

// ---- traffic capture: a route's live requests recorded as a replayable schedule
namespace capture {
inline constexpr std::int64_t kMaxDurationMs = 3'600'000;
inline constexpr std::uint64_t kMaxRequests = 1'000'000;
inline constexpr std::int64_t kMaxGetLimit = 10'000;
inline constexpr std::size_t kMaxRunning = 4;   // captures running at once
inline constexpr std::size_t kKeepFinished = 8; // ended captures kept for capture.get
} // namespace capture

// Header names that carry credentials: a capture refuses to keep them, whatever it is asked.
bool isCredentialHeader(std::string_view lowerCaseName);

struct CaptureStartParams {
    std::string route; // must exist in the running configuration
    std::int64_t durationMs = 60'000;
    double sample = 1.0;                 // fraction of matching requests recorded, (0, 1], deterministic
    std::uint64_t maxRequests = 100'000; // entries kept; later sampled requests count as dropped
    std::vector<std::string> headers;    // names to keep, lower-case, no credentials

    bool operator==(const CaptureStartParams&) const = default;
};

struct CaptureStartResult {
    std::uint64_t captureId = 0;
    std::string route;
    std::int64_t startedAtMs = 0; // wall clock
    std::int64_t endsAtMs = 0;

    bool operator==(const CaptureStartResult&) const = default;
};

struct CaptureStatus {
    std::uint64_t captureId = 0;
    std::string route;
    std::string state = "running"; // running, finished (its time ran out), stopped (capture.stop)
    std::uint64_t captured = 0;
    std::uint64_t skipped = 0; // matched but not sampled
    std::uint64_t dropped = 0; // sampled past maxRequests
    std::int64_t startedAtMs = 0;
    std::int64_t endsAtMs = 0; // planned end while running; the actual end once stopped
    std::vector<std::string> headers;
    double sample = 1.0;
    std::uint64_t maxRequests = 0;

    bool operator==(const CaptureStatus&) const = default;
};

// capture.status and capture.stop
struct CaptureIdParams {
    std::uint64_t captureId = 0;
};

struct CaptureGetParams {
    std::uint64_t captureId = 0;
    std::uint64_t after = 0; // index of the first entry wanted
    std::int64_t limit = 1000;
};

struct CaptureGetResult {
    std::uint64_t captureId = 0;
    std::string state;
    std::vector<loadtest::ScheduleEntry> entries; // arrival order, offsets non-decreasing
    std::uint64_t next = 0;                       // `after` for the next call
    bool complete = false; // not running and nothing after `next`: the schedule is whole

    bool operator==(const CaptureGetResult&) const = default;
};

struct CaptureListResult {
    std::vector<CaptureStatus> captures; // running ones and the kept ended ones, by id

    bool operator==(const CaptureListResult&) const = default;
};

// ---- codecs: toJson for results and params; fromJson reports problems in `diagnostics`
nlohmann::json toJson(const HelloResult& value);
nlohmann::json toJson(const EngineInfo& value);
nlohmann::json toJson(const InstanceView& value);
nlohmann::json toJson(const PoolView& value);
nlohmann::json toJson(const PoolsListResult& value);
nlohmann::json toJson(const RoutesListResult& value);
nlohmann::json toJson(const ConfigGetResult& value);
nlohmann::json toJson(const ChangeRequest& value); // transaction params
nlohmann::json toJson(const ChangeResult& value);
nlohmann::json toJson(const ValidateResult& value);
nlohmann::json toJson(const AuditRecord& value);
nlohmann::json toJson(const EventRecord& value);
nlohmann::json toJson(const SubscribeParams& value);
nlohmann::json toJson(const CaptureStartParams& value);
nlohmann::json toJson(const CaptureStartResult& value);
nlohmann::json toJson(const CaptureStatus& value);
nlohmann::json toJson(const CaptureIdParams& value);
nlohmann::json toJson(const CaptureGetParams& value);
nlohmann::json toJson(const CaptureGetResult& value);
nlohmann::json toJson(const CaptureListResult& value);

bool fromJson(const nlohmann::json& json, HelloResult& out, model::Diagnostics& diagnostics);
bool fromJson(const nlohmann::json& json, EngineInfo& out, model::Diagnostics& diagnostics);
bool fromJson(const nlohmann::json& json, PoolsListResult& out, model::Diagnostics& diagnostics);
bool fromJson(const nlohmann::json& json, RoutesListResult& out, model::Diagnostics& diagnostics);
bool fromJson(const nlohmann::json& json, ConfigGetResult& out, model::Diagnostics& diagnostics);
bool fromJson(const nlohmann::json& json, ChangeRequest& out, model::Diagnostics& diagnostics);
bool fromJson(const nlohmann::json& json, ChangeResult& out, model::Diagnostics& diagnostics);
bool fromJson(const nlohmann::json& json, ValidateResult& out, model::Diagnostics& diagnostics);
bool fromJson(const nlohmann::json& json, AuditRecord& out, model::Diagnostics& diagnostics);
bool fromJson(const nlohmann::json& json, EventRecord& out, model::Diagnostics& diagnostics);
bool fromJson(const nlohmann::json& json, SubscribeParams& out, model::Diagnostics& diagnostics);
// Capture params are checked strictly (unknown keys, ranges, credential headers); the route's
// existence is for the engine to check.
bool fromJson(const nlohmann::json& json, CaptureStartParams& out, model::Diagnostics& diagnostics);
bool fromJson(const nlohmann::json& json, CaptureStartResult& out, model::Diagnostics& diagnostics);
bool fromJson(const nlohmann::json& json, CaptureStatus& out, model::Diagnostics& diagnostics);
bool fromJson(const nlohmann::json& json, CaptureIdParams& out, model::Diagnostics& diagnostics);
bool fromJson(const nlohmann::json& json, CaptureGetParams& out, model::Diagnostics& diagnostics);
bool fromJson(const nlohmann::json& json, CaptureGetResult& out, model::Diagnostics& diagnostics);
bool fromJson(const nlohmann::json& json, CaptureListResult& out, model::Diagnostics& diagnostics);

// Lists of records (history, stats.history, events.recent): {"records": [...]}, {"frames": [...]},
// {"events": [...]}.
nlohmann::json toJson(const std::vector<AuditRecord>& records);
nlohmann::json toJson(const std::vector<StatsFrame>& frames);
nlohmann::json toJson(const std::vector<EventRecord>& events);
bool fromJson(const nlohmann::json& json, std::vector<AuditRecord>& out, model::Diagnostics& diagnostics);
bool fromJson(const nlohmann::json& json, std::vector<StatsFrame>& out, model::Diagnostics& diagnostics);
bool fromJson(const nlohmann::json& json, std::vector<EventRecord>& out, model::Diagnostics& diagnostics);

} // namespace gaetwae::protocol

#include "gui/storage/history_schema.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <limits>
#include <map>

namespace gaetwae::console {

std::string_view toString(Scope scope) {
    switch (scope) {
    case Scope::Total:
        return "total";
    case Scope::Route:
        return "route";
    case Scope::Pool:
        return "pool";
    case Scope::Instance:
        return "instance";
    }
    return "unknown";
}

} // namespace gaetwae::console

namespace gaetwae::console::history {

namespace {

// Version 1: one row per second per series (engine, scope, name interned in `series`), engine-wide
// values per second, events and audit records. Every table keyed by what identifies a row, so
// re-sent frames and events replace themselves instead of piling up.
constexpr const char* kStep1 = R"sql(
CREATE TABLE engines (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE series (
    id INTEGER PRIMARY KEY,
    engine_id INTEGER NOT NULL REFERENCES engines (id),
    scope INTEGER NOT NULL,
    name TEXT NOT NULL,
    UNIQUE (engine_id, scope, name)
);
CREATE TABLE samples_1s (
    series_id INTEGER NOT NULL, time_ms INTEGER NOT NULL, interval_ms INTEGER NOT NULL,
    requests INTEGER NOT NULL, r1xx INTEGER NOT NULL, r2xx INTEGER NOT NULL, r3xx INTEGER NOT NULL,
    r4xx INTEGER NOT NULL, r5xx INTEGER NOT NULL, errors TEXT, retries INTEGER NOT NULL,
    bytes_in INTEGER NOT NULL, bytes_out INTEGER NOT NULL, active_requests INTEGER NOT NULL,
    latency BLOB, upstream BLOB,
    weight INTEGER, state TEXT, healthy INTEGER, ejected INTEGER, breaker TEXT, slow_start REAL,
    latency_ewma_ms REAL,
    PRIMARY KEY (series_id, time_ms)
) WITHOUT ROWID;
CREATE TABLE engine_1s (
    engine_id INTEGER NOT NULL, time_ms INTEGER NOT NULL, interval_ms INTEGER NOT NULL,
    config_version INTEGER NOT NULL, active_connections INTEGER NOT NULL,
    PRIMARY KEY (engine_id, time_ms)
) WITHOUT ROWID;
CREATE TABLE events (
    engine_id INTEGER NOT NULL, time_ms INTEGER NOT NULL, sequence INTEGER NOT NULL, kind TEXT NOT NULL,
    pool TEXT NOT NULL, instance TEXT NOT NULL, from_state TEXT NOT NULL, to_state TEXT NOT NULL,
    detail TEXT NOT NULL, data TEXT,
    PRIMARY KEY (engine_id, time_ms, sequence)
) WITHOUT ROWID;
CREATE TABLE audit (
    engine_id INTEGER NOT NULL, time_ms INTEGER NOT NULL, version INTEGER NOT NULL,
    client TEXT NOT NULL, summary TEXT NOT NULL, diff TEXT,
    PRIMARY KEY (engine_id, time_ms, version)
) WITHOUT ROWID;
)sql";

// Version 2: minute rollups (same columns, time = end of the minute), `meta` for the rollup and
// retention watermarks (history_rollup.hpp), and events by kind.
constexpr const char* kStep2 = R"sql(
CREATE TABLE samples_1m (
    series_id INTEGER NOT NULL, time_ms INTEGER NOT NULL, interval_ms INTEGER NOT NULL,
    requests INTEGER NOT NULL, r1xx INTEGER NOT NULL, r2xx INTEGER NOT NULL, r3xx INTEGER NOT NULL,
    r4xx INTEGER NOT NULL, r5xx INTEGER NOT NULL, errors TEXT, retries INTEGER NOT NULL,
    bytes_in INTEGER NOT NULL, bytes_out INTEGER NOT NULL, active_requests INTEGER NOT NULL,
    latency BLOB, upstream BLOB,
    weight INTEGER, state TEXT, healthy INTEGER, ejected INTEGER, breaker TEXT, slow_start REAL,
    latency_ewma_ms REAL,
    PRIMARY KEY (series_id, time_ms)
) WITHOUT ROWID;
CREATE TABLE engine_1m (
    engine_id INTEGER NOT NULL, time_ms INTEGER NOT NULL, interval_ms INTEGER NOT NULL,
    config_version INTEGER NOT NULL, active_connections INTEGER NOT NULL,
    PRIMARY KEY (engine_id, time_ms)
) WITHOUT ROWID;
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX events_by_kind ON events (engine_id, kind, time_ms);
)sql";

constexpr MigrationStep kSteps[] = {
    {1, "seconds, events and audit", kStep1},
    {2, "minute rollups and their watermarks", kStep2},
};
static_assert(std::size(kSteps) == kSchemaVersion, "one migration step per schema version");

void putVarint(std::string& out, std::uint64_t value) {
    while (value >= 0x80) {
        out.push_back(static_cast<char>((value & 0x7f) | 0x80));
        value >>= 7;
    }
    out.push_back(static_cast<char>(value));
}

bool getVarint(std::string_view& in, std::uint64_t& value) {
    value = 0;
    for (int shift = 0; shift < 64 && !in.empty(); shift += 7) {
        const auto byte = static_cast<unsigned char>(in.front());
        in.remove_prefix(1);
        value |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
        if ((byte & 0x80) == 0) {
            return true;
        }
    }
    return false;
}

constexpr char kBlobFormat = 1;

// Instance columns sit at these offsets from interval_ms.
constexpr int kWeightColumn = 14;

std::string encodeErrors(const std::map<std::string, std::uint64_t>& errors) {
    if (errors.empty()) {
        return {};
    }
    nlohmann::json object = nlohmann::json::object();
    for (const auto& [code, count] : errors) {
        object[code] = count;
    }
    return object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

} // namespace

std::span<const MigrationStep> migrationSteps() {
    return kSteps;
}

int userVersion(sqlite3* db, std::string* error) {
    sqlite::Statement statement(db, "PRAGMA user_version");
    if (!statement.ok() || statement.step() != SQLITE_ROW) {
        if (error != nullptr) {
            *error = sqlite3_errmsg(db);
        }
        return -1;
    }
    return static_cast<int>(statement.int64(0));
}

bool migrateTo(sqlite3* db, int version, std::string* error) {
    auto fail = [&](std::string message) {
        if (error != nullptr) {
            *error = std::move(message);
        }
        return false;
    };
    const int current = userVersion(db, error);
    if (current < 0) {
        return false;
    }
    if (version > kSchemaVersion || version < 0) {
        return fail("there is no schema version " + std::to_string(version));
    }
    if (current > version) {
        return fail("schema version " + std::to_string(current) + " is newer than " +
                    std::to_string(version));
    }
    if (current == version) {
        return true;
    }
    std::string message;
    if (!sqlite::exec(db, "BEGIN IMMEDIATE", &message)) {
        return fail(message);
    }
    for (const auto& step : kSteps) {
        if (step.version <= current || step.version > version) {
            continue;
        }
        if (!sqlite::exec(db, step.sql, &message)) {
            sqlite::exec(db, "ROLLBACK");
            return fail("migration to schema version " + std::to_string(step.version) + " (" +
                        std::string(step.description) + ") failed: " + message);
        }
    }
    std::string pragmas = "PRAGMA user_version = " + std::to_string(version) + ";";
    if (current == 0) {
        pragmas += "PRAGMA application_id = " + std::to_string(kApplicationId) + ";";
    }
    if (!sqlite::exec(db, pragmas.c_str(), &message) || !sqlite::exec(db, "COMMIT", &message)) {
        sqlite::exec(db, "ROLLBACK");
        return fail(message);
    }
    return true;
}

std::int64_t floorTo(std::int64_t value, std::int64_t step) {
    const std::int64_t remainder = value % step;
    return remainder < 0 ? value - remainder - step : value - remainder;
}

std::int64_t ceilTo(std::int64_t value, std::int64_t step) {
    const std::int64_t floor = floorTo(value, step);
    return floor == value ? value : floor + step;
}

std::int64_t rollupEnd(std::int64_t timeMs) {
    return ceilTo(timeMs, kRollupMs);
}

void HistogramSum::add(const protocol::LatencyHistogram& histogram) {
    for (std::size_t i = 0; i < m_buckets.size(); ++i) {
        m_buckets[i] += histogram.bucket(i);
    }
    m_count += histogram.count();
    m_sum += histogram.sum();
}

bool HistogramSum::addBlob(std::string_view blob) {
    if (blob.empty()) {
        return true; // NULL: an empty histogram
    }
    if (blob.front() != kBlobFormat) {
        return false;
    }
    blob.remove_prefix(1);
    std::uint64_t sum = 0;
    std::uint64_t pairs = 0;
    if (!getVarint(blob, sum) || !getVarint(blob, pairs) || pairs > m_buckets.size()) {
        return false;
    }
    // Two passes, so that a malformed blob adds nothing: check, then add.
    for (int pass = 0; pass < 2; ++pass) {
        std::string_view in = blob;
        std::uint64_t index = 0;
        for (std::uint64_t i = 0; i < pairs; ++i) {
            std::uint64_t delta = 0;
            std::uint64_t count = 0;
            if (!getVarint(in, delta) || !getVarint(in, count) || delta >= m_buckets.size() ||
                (index += delta) >= m_buckets.size()) {
                return false;
            }
            if (pass == 1) {
                m_buckets[index] += count;
                m_count += count;
            }
        }
        if (!in.empty()) {
            return false;
        }
    }
    m_sum += sum;
    return true;
}

std::string HistogramSum::encode() const {
    if (empty()) {
        return {};
    }
    const auto pairs = static_cast<std::uint64_t>(
        std::count_if(m_buckets.begin(), m_buckets.end(), [](std::uint64_t count) { return count != 0; }));
    std::string out(1, kBlobFormat);
    putVarint(out, m_sum);
    putVarint(out, pairs);
    std::size_t previous = 0;
    for (std::size_t i = 0; i < m_buckets.size(); ++i) {
        if (m_buckets[i] != 0) {
            putVarint(out, i - previous);
            putVarint(out, m_buckets[i]);
            previous = i;
        }
    }
    return out;
}

// LatencyHistogram has no setter for its sum, which the buckets do not determine. Rebuilding it
// with record() puts each bucket's count at values inside that bucket, chosen so the sum comes
// out exact: every real sum lies between "all at lower bounds" and "all at the top of their
// buckets" (the last bucket has no top). The histogram's JSON form is the fallback for anything
// else (an overflowed sum); it is exact too but about fifty times slower.
protocol::LatencyHistogram HistogramSum::histogram() const {
    using protocol::LatencyHistogram;
    LatencyHistogram out;
    if (empty()) {
        return out;
    }
    constexpr std::size_t kLast = LatencyHistogram::kBucketCount - 1;
    std::uint64_t floorSum = 0;
    bool overflow = false;
    for (std::size_t i = 0; i < m_buckets.size(); ++i) {
        std::uint64_t part = 0;
        overflow = overflow || __builtin_mul_overflow(LatencyHistogram::lowerBound(i), m_buckets[i], &part) ||
                   __builtin_add_overflow(floorSum, part, &floorSum);
    }
    if (!overflow && m_sum >= floorSum) {
        std::uint64_t extra = m_sum - floorSum; // still to spread inside the buckets
        for (std::size_t i = m_buckets.size(); i-- > 0;) {
            const std::uint64_t count = m_buckets[i];
            if (count == 0) {
                continue;
            }
            const std::uint64_t lower = LatencyHistogram::lowerBound(i);
            std::uint64_t room = std::numeric_limits<std::uint64_t>::max();
            if (i != kLast &&
                __builtin_mul_overflow(LatencyHistogram::upperBound(i) - 1 - lower, count, &room)) {
                room = std::numeric_limits<std::uint64_t>::max();
            }
            const std::uint64_t here = std::min(extra, room);
            const std::uint64_t step = here / count;
            const std::uint64_t rest = here % count; // `rest` values one above the others
            out.record(lower + step, count - rest);
            if (rest != 0) {
                out.record(lower + step + 1, rest);
            }
            extra -= here;
        }
        if (extra == 0 && out.sum() == m_sum && out.count() == m_count) {
            return out;
        }
        out = LatencyHistogram();
    }
    nlohmann::json buckets = nlohmann::json::array();
    for (std::size_t i = 0; i < m_buckets.size(); ++i) {
        if (m_buckets[i] != 0) {
            buckets.push_back({i, m_buckets[i]});
        }
    }
    LatencyHistogram::fromJson({{"count", m_count}, {"sum", m_sum}, {"buckets", std::move(buckets)}}, out);
    return out;
}

std::string encodeHistogram(const protocol::LatencyHistogram& histogram) {
    HistogramSum sum;
    sum.add(histogram);
    return sum.encode();
}

bool decodeHistogram(std::string_view blob, protocol::LatencyHistogram& out) {
    HistogramSum sum;
    if (!sum.addBlob(blob)) {
        return false;
    }
    out = sum.histogram();
    return true;
}

PackedSample packSample(Scope scope, std::string name, std::int64_t intervalMs,
                        const protocol::TrafficStats& traffic, const InstanceState* instance) {
    PackedSample sample;
    sample.scope = scope;
    sample.name = std::move(name);
    sample.intervalMs = intervalMs;
    sample.requests = traffic.requests;
    sample.responses = traffic.responses;
    sample.errors = encodeErrors(traffic.errors);
    sample.retries = traffic.retries;
    sample.bytesIn = traffic.bytesIn;
    sample.bytesOut = traffic.bytesOut;
    sample.activeRequests = traffic.activeRequests;
    sample.latency = encodeHistogram(traffic.latency);
    sample.upstream = encodeHistogram(traffic.upstream);
    if (instance != nullptr) {
        sample.instance = *instance;
    }
    return sample;
}

PackedFrame packFrame(const protocol::StatsFrame& frame) {
    PackedFrame packed{frame.timeMs, frame.intervalMs, frame.configVersion, frame.activeConnections, {}};
    packed.samples.reserve(1 + frame.routes.size() + frame.pools.size() + frame.instances.size());
    packed.samples.push_back(packSample(Scope::Total, std::string(), frame.intervalMs, frame.total));
    for (const auto& [name, traffic] : frame.routes) {
        packed.samples.push_back(packSample(Scope::Route, name, frame.intervalMs, traffic));
    }
    for (const auto& [name, traffic] : frame.pools) {
        packed.samples.push_back(packSample(Scope::Pool, name, frame.intervalMs, traffic));
    }
    for (const auto& instance : frame.instances) {
        const InstanceState state{instance.weight,       instance.state,   instance.healthy,
                                  instance.ejected,      instance.breaker, instance.slowStart,
                                  instance.latencyEwmaMs};
        packed.samples.push_back(packSample(Scope::Instance, instance.pool + "/" + instance.id,
                                            frame.intervalMs, instance, &state));
    }
    return packed;
}

void bindSample(sqlite::Statement& statement, int first, const PackedSample& sample) {
    statement.bind(first, sample.intervalMs).bind(first + 1, sample.requests);
    for (int i = 0; i < 5; ++i) {
        statement.bind(first + 2 + i, sample.responses[static_cast<std::size_t>(i)]);
    }
    if (sample.errors.empty()) {
        statement.bindNull(first + 7);
    } else {
        statement.bind(first + 7, sample.errors);
    }
    statement.bind(first + 8, sample.retries)
        .bind(first + 9, sample.bytesIn)
        .bind(first + 10, sample.bytesOut)
        .bind(first + 11, sample.activeRequests)
        .bindBlob(first + 12, sample.latency)
        .bindBlob(first + 13, sample.upstream);
    if (!sample.instance) {
        for (int i = kWeightColumn; i < kSampleColumnCount; ++i) {
            statement.bindNull(first + i);
        }
        return;
    }
    const auto& instance = *sample.instance;
    statement.bind(first + 14, instance.weight)
        .bind(first + 15, instance.state)
        .bind(first + 16, instance.healthy)
        .bind(first + 17, instance.ejected)
        .bind(first + 18, instance.breaker)
        .bind(first + 19, instance.slowStart)
        .bind(first + 20, instance.latencyEwmaMs);
}

void SampleAccumulator::addRow(const sqlite::Statement& row, int first) {
    auto column = [&](int offset) { return first + offset; };
    const std::int64_t activeRequests = row.int64(column(11));
    m_traffic.activeRequests =
        m_rows == 0 ? activeRequests : std::max(m_traffic.activeRequests, activeRequests);
    ++m_rows;
    m_intervalMs += row.int64(column(0));
    m_traffic.requests += row.uint64(column(1));
    for (int i = 0; i < 5; ++i) {
        m_traffic.responses[static_cast<std::size_t>(i)] += row.uint64(column(2 + i));
    }
    if (!row.isNull(column(7))) {
        const auto errors = nlohmann::json::parse(row.text(column(7)), nullptr, false);
        if (errors.is_object()) {
            for (const auto& [code, count] : errors.items()) {
                if (count.is_number_unsigned()) {
                    m_traffic.errors[code] += count.get<std::uint64_t>();
                }
            }
        }
    }
    m_traffic.retries += row.uint64(column(8));
    m_traffic.bytesIn += row.uint64(column(9));
    m_traffic.bytesOut += row.uint64(column(10));
    // A malformed blob (a damaged page) costs that one interval's histogram, not the whole read.
    m_latency.addBlob(row.blob(column(12)));
    m_upstream.addBlob(row.blob(column(13)));
    if (!row.isNull(column(kWeightColumn))) {
        m_hasInstance = true;
        m_instance.weight = static_cast<std::uint32_t>(row.int64(column(14)));
        m_instance.state = row.text(column(15));
        m_instance.healthy = row.int64(column(16)) != 0;
        m_instance.ejected = row.int64(column(17)) != 0;
        m_instance.breaker = row.text(column(18));
        m_instance.slowStart = row.real(column(19));
        m_instance.latencyEwmaMs = row.real(column(20));
    }
}

SeriesPoint SampleAccumulator::point(std::int64_t timeMs) const {
    SeriesPoint point;
    point.timeMs = timeMs;
    point.intervalMs = m_intervalMs;
    point.traffic = m_traffic;
    point.traffic.latency = m_latency.histogram();
    point.traffic.upstream = m_upstream.histogram();
    if (m_hasInstance) {
        point.instance = m_instance;
    }
    return point;
}

PackedSample SampleAccumulator::packed() const {
    PackedSample sample = packSample(Scope::Total, std::string(), m_intervalMs, m_traffic,
                                     m_hasInstance ? &m_instance : nullptr);
    sample.latency = m_latency.encode();
    sample.upstream = m_upstream.encode();
    return sample;
}

void EngineAccumulator::addRow(const sqlite::Statement& row, int first) {
    const std::int64_t connections = row.int64(first + 2);
    m_point.activeConnections = m_rows == 0 ? connections : std::max(m_point.activeConnections, connections);
    ++m_rows;
    m_point.intervalMs += row.int64(first);
    m_point.configVersion = row.uint64(first + 1);
}

EnginePoint EngineAccumulator::point(std::int64_t timeMs) const {
    EnginePoint point = m_point;
    point.timeMs = timeMs;
    return point;
}

} // namespace gaetwae::console::history

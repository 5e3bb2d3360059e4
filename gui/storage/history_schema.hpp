#pragma once

#include "gui/storage/history_types.hpp"
#include "gui/storage/sqlite_statement.hpp"

#include "shared/protocol/histogram.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

// The history database's on-disk format: the schema and its migrations, how a latency histogram
// is packed into a blob, and how sample rows are written, read and folded together.
namespace gaetwae::console::history {

// Schema versions live in PRAGMA user_version; a database is identified by application_id.
inline constexpr int kSchemaVersion = 2;
inline constexpr std::int32_t kApplicationId = 0x47574859; // "GWHY"
inline constexpr std::int64_t kRollupMs = 60'000;

// One step of the ordered migration list: `sql` turns a database of version `version - 1` into
// one of `version`. Steps are append-only: once released, a step's SQL never changes.
struct MigrationStep {
    int version;
    std::string_view description;
    const char* sql;
};

std::span<const MigrationStep> migrationSteps();

// Reads PRAGMA user_version; -1 (with `error` filled) when the database cannot be read.
int userVersion(sqlite3* db, std::string* error = nullptr);

// Runs the steps from the database's current version up to `version` in one transaction, so a
// failure leaves the database as it was. Refuses to go down (a newer database) or past
// kSchemaVersion. Tests use it to build databases of older versions.
bool migrateTo(sqlite3* db, int version, std::string* error = nullptr);

// The minute rollup a raw second at `timeMs` (end of its interval) belongs to, keyed by the end
// of the minute: raw times in (end - 60 s, end].
std::int64_t rollupEnd(std::int64_t timeMs);
// Floor and ceiling of `value` to a multiple of `step` (> 0), correct for negative values too.
std::int64_t floorTo(std::int64_t value, std::int64_t step);
std::int64_t ceilTo(std::int64_t value, std::int64_t step);

// Histogram counts being summed, without the cost of a LatencyHistogram per row. The blob is
// [format 1][varint sum][varint n][n x (varint bucket-index delta, varint count)]; an empty
// histogram is no blob at all (NULL). Decoding restores buckets, count and sum exactly.
class HistogramSum {
public:
    void add(const protocol::LatencyHistogram& histogram);
    bool addBlob(std::string_view blob); // false (and nothing added) when the blob is malformed
    bool empty() const { return m_count == 0 && m_sum == 0; }
    std::string encode() const;
    protocol::LatencyHistogram histogram() const;

private:
    std::array<std::uint64_t, protocol::LatencyHistogram::kBucketCount> m_buckets{};
    std::uint64_t m_count = 0;
    std::uint64_t m_sum = 0;
};

std::string encodeHistogram(const protocol::LatencyHistogram& histogram);
bool decodeHistogram(std::string_view blob, protocol::LatencyHistogram& out);

// The columns of samples_1s and samples_1m after (series_id, time_ms), in this order.
inline constexpr std::string_view kSampleColumns =
    "interval_ms, requests, r1xx, r2xx, r3xx, r4xx, r5xx, errors, retries, bytes_in, bytes_out, "
    "active_requests, latency, upstream, weight, state, healthy, ejected, breaker, slow_start, "
    "latency_ewma_ms";
inline constexpr int kSampleColumnCount = 21;

// One row of samples_1s / samples_1m, ready to bind. Frames are packed when appended: as
// LatencyHistogram a series' two histograms take 7.5 kB, as blobs tens of bytes, which is what
// makes the append queue's cap a bound on memory.
struct PackedSample {
    Scope scope = Scope::Total;
    std::string name;
    std::int64_t intervalMs = 0;
    std::uint64_t requests = 0;
    std::array<std::uint64_t, 5> responses{};
    std::string errors; // JSON object {"code": count}, "" when there were none
    std::uint64_t retries = 0;
    std::uint64_t bytesIn = 0;
    std::uint64_t bytesOut = 0;
    std::int64_t activeRequests = 0;
    std::string latency; // histogram blobs, "" when empty
    std::string upstream;
    std::optional<InstanceState> instance; // Instance scope only

    bool operator==(const PackedSample&) const = default;
};

// A stats frame as the writer stores it: one engine row and one sample per series.
struct PackedFrame {
    std::int64_t timeMs = 0;
    std::int64_t intervalMs = 0;
    std::uint64_t configVersion = 0;
    std::int64_t activeConnections = 0;
    std::vector<PackedSample> samples;
};

PackedFrame packFrame(const protocol::StatsFrame& frame);
PackedSample packSample(Scope scope, std::string name, std::int64_t intervalMs,
                        const protocol::TrafficStats& traffic, const InstanceState* instance = nullptr);
// Binds parameters first .. first + kSampleColumnCount - 1 (instance columns NULL without one).
void bindSample(sqlite::Statement& statement, int first, const PackedSample& sample);

// Folds sample rows into one with SeriesPoint's rules (see history_types.hpp). Rows must come
// in time order for "last instance state" to mean the latest.
class SampleAccumulator {
public:
    // Adds the row at the statement's current position; `first` is the column of interval_ms.
    void addRow(const sqlite::Statement& row, int first);
    bool empty() const { return m_rows == 0; }
    SeriesPoint point(std::int64_t timeMs) const;
    PackedSample packed() const; // the folded row, for writing a rollup (scope and name unset)

private:
    std::size_t m_rows = 0;
    std::int64_t m_intervalMs = 0;
    protocol::TrafficStats m_traffic; // histograms stay empty: they are summed below
    HistogramSum m_latency;
    HistogramSum m_upstream;
    bool m_hasInstance = false;
    InstanceState m_instance;
};

// Engine-wide rows (engine_1s / engine_1m: interval_ms, config_version, active_connections from
// column `first`), folded like samples: intervals summed, max connections, last config version.
class EngineAccumulator {
public:
    void addRow(const sqlite::Statement& row, int first);
    bool empty() const { return m_rows == 0; }
    EnginePoint point(std::int64_t timeMs) const;

private:
    std::size_t m_rows = 0;
    EnginePoint m_point;
};

} // namespace gaetwae::console::history

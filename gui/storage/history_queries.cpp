// HistoryStore's reads: any thread, one read connection behind m_readMutex. WAL lets them run
// while the writer commits; they see the last committed flush.
#include "gui/storage/history_store.hpp"

#include "gui/storage/history_rollup.hpp"
#include "gui/storage/history_schema.hpp"
#include "gui/storage/sqlite_statement.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <limits>

namespace gaetwae::console {

namespace {

using history::kRollupMs;

// A read transaction: the watermarks and the rows come from one snapshot even while the writer
// commits a maintenance run.
class ReadSnapshot {
public:
    explicit ReadSnapshot(sqlite3* db)
        : m_db(db) {
        m_open = sqlite::exec(db, "BEGIN");
        if (!history::readWatermarks(db, m_marks)) {
            m_marks = {};
        }
    }
    ~ReadSnapshot() {
        if (m_open) {
            sqlite::exec(m_db, "COMMIT");
        }
    }
    ReadSnapshot(const ReadSnapshot&) = delete;
    ReadSnapshot& operator=(const ReadSnapshot&) = delete;
    const history::Watermarks& marks() const { return m_marks; }

private:
    sqlite3* m_db;
    bool m_open = false;
    history::Watermarks m_marks;
};

// Calls onRow(statement) for each row of the plan, in time order: time_ms in column 0, then
// `columns`. `table` is "samples" or "engine"; `key` its id column.
template <class OnRow>
void readPlanned(sqlite3* db, const std::vector<history::ReadRange>& plan, const std::string& columns,
                 const std::string& table, const std::string& key, std::int64_t id, OnRow&& onRow) {
    const std::string where = " WHERE " + key + " = ?1 AND time_ms >= ?2 AND time_ms <= ?3 ORDER BY time_ms";
    sqlite::Statement rollups(db, "SELECT time_ms, " + columns + " FROM " + table + "_1m" + where);
    sqlite::Statement seconds(db, "SELECT time_ms, " + columns + " FROM " + table + "_1s" + where);
    for (const auto& range : plan) {
        auto& rows = range.rollup ? rollups : seconds;
        rows.bind(1, id).bind(2, range.fromMs).bind(3, range.toMs);
        while (rows.ok() && rows.step() == SQLITE_ROW) {
            onRow(rows);
        }
        rows.reset();
    }
}

bool wholeMinuteSteps(std::int64_t stepMs) {
    return stepMs > 0 && stepMs % kRollupMs == 0;
}

constexpr const char* kCsvHeader =
    "time_ms,time_utc,interval_ms,requests,responses_1xx,responses_2xx,responses_3xx,responses_4xx,"
    "responses_5xx,errors,retries,bytes_in,bytes_out,active_requests,p50_ms,p95_ms,p99_ms,"
    "upstream_p50_ms,upstream_p95_ms,upstream_p99_ms";

std::string millis(std::uint64_t micros) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%llu.%03llu", static_cast<unsigned long long>(micros / 1000),
                  static_cast<unsigned long long>(micros % 1000));
    return buffer;
}

std::string percentiles(const protocol::LatencyHistogram& histogram) {
    if (histogram.empty()) {
        return ",,";
    }
    return millis(histogram.percentile(0.50)) + "," + millis(histogram.percentile(0.95)) + "," +
           millis(histogram.percentile(0.99));
}

std::string utc(std::int64_t timeMs) {
    const auto seconds = static_cast<std::time_t>(history::floorTo(timeMs, 1000) / 1000);
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    char buffer[96];
    std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(timeMs - history::floorTo(timeMs, 1000)));
    return buffer;
}

std::string csvField(const std::string& text) {
    if (text.find_first_of(",\"\r\n") == std::string::npos) {
        return text;
    }
    std::string out = "\"";
    for (const char c : text) {
        out += c == '"' ? std::string("\"\"") : std::string(1, c);
    }
    return out + "\"";
}

nlohmann::json parseJson(const sqlite::Statement& row, int column, nlohmann::json fallback) {
    if (row.isNull(column)) {
        return fallback;
    }
    auto value = nlohmann::json::parse(row.text(column), nullptr, false);
    return value.is_discarded() ? fallback : value;
}

} // namespace

std::optional<std::int64_t> HistoryStore::findEngine(const std::string& engine) const {
    sqlite::Statement statement(m_readDb, "SELECT id FROM engines WHERE name = ?1");
    statement.bind(1, engine);
    if (statement.ok() && statement.step() == SQLITE_ROW) {
        return statement.int64(0);
    }
    return std::nullopt;
}

std::optional<std::int64_t> HistoryStore::findSeries(const std::string& engine, Scope scope,
                                                     const std::string& name) const {
    sqlite::Statement statement(m_readDb, "SELECT s.id FROM series s JOIN engines e ON e.id = s.engine_id "
                                          "WHERE e.name = ?1 AND s.scope = ?2 AND s.name = ?3");
    statement.bind(1, engine).bind(2, static_cast<int>(scope)).bind(3, name);
    if (statement.ok() && statement.step() == SQLITE_ROW) {
        return statement.int64(0);
    }
    return std::nullopt;
}

std::vector<SeriesPoint> HistoryStore::series(const std::string& engine, Scope scope, const std::string& name,
                                              std::int64_t fromMs, std::int64_t toMs,
                                              std::int64_t stepMs) const {
    std::lock_guard lock(m_readMutex);
    std::vector<SeriesPoint> points;
    if (m_readDb == nullptr) {
        return points;
    }
    const ReadSnapshot snapshot(m_readDb);
    const auto id = findSeries(engine, scope, name);
    if (!id) {
        return points;
    }
    const auto plan = history::planRead(fromMs, toMs, wholeMinuteSteps(stepMs), snapshot.marks());
    std::optional<std::int64_t> bucket;
    auto folded = std::make_unique<history::SampleAccumulator>(); // several kB: on the heap
    readPlanned(m_readDb, plan, std::string(history::kSampleColumns), "samples", "series_id", *id,
                [&](const sqlite::Statement& row) {
                    const std::int64_t time = row.int64(0);
                    const std::int64_t end = stepMs > 0 ? history::ceilTo(time, stepMs) : time;
                    if (bucket && *bucket != end) {
                        points.push_back(folded->point(*bucket));
                        folded = std::make_unique<history::SampleAccumulator>();
                    }
                    bucket = end;
                    folded->addRow(row, 1);
                });
    if (bucket) {
        points.push_back(folded->point(*bucket));
    }
    return points;
}

std::vector<EnginePoint> HistoryStore::engineSeries(const std::string& engine, std::int64_t fromMs,
                                                    std::int64_t toMs, std::int64_t stepMs) const {
    std::lock_guard lock(m_readMutex);
    std::vector<EnginePoint> points;
    if (m_readDb == nullptr) {
        return points;
    }
    const ReadSnapshot snapshot(m_readDb);
    const auto id = findEngine(engine);
    if (!id) {
        return points;
    }
    const auto plan = history::planRead(fromMs, toMs, wholeMinuteSteps(stepMs), snapshot.marks());
    std::optional<std::int64_t> bucket;
    history::EngineAccumulator folded;
    readPlanned(m_readDb, plan, "interval_ms, config_version, active_connections", "engine", "engine_id", *id,
                [&](const sqlite::Statement& row) {
                    const std::int64_t time = row.int64(0);
                    const std::int64_t end = stepMs > 0 ? history::ceilTo(time, stepMs) : time;
                    if (bucket && *bucket != end) {
                        points.push_back(folded.point(*bucket));
                        folded = {};
                    }
                    bucket = end;
                    folded.addRow(row, 1);
                });
    if (bucket) {
        points.push_back(folded.point(*bucket));
    }
    return points;
}

protocol::LatencyHistogram HistoryStore::latency(const std::string& engine, Scope scope,
                                                 const std::string& name, std::int64_t fromMs,
                                                 std::int64_t toMs, HistogramKind kind) const {
    std::lock_guard lock(m_readMutex);
    if (m_readDb == nullptr) {
        return {};
    }
    const ReadSnapshot snapshot(m_readDb);
    const auto id = findSeries(engine, scope, name);
    if (!id) {
        return {};
    }
    const auto plan = history::planRead(fromMs, toMs, true, snapshot.marks());
    auto merged = std::make_unique<history::HistogramSum>();
    readPlanned(m_readDb, plan, kind == HistogramKind::Latency ? "latency" : "upstream", "samples",
                "series_id", *id, [&](const sqlite::Statement& row) { merged->addBlob(row.blob(1)); });
    return merged->histogram();
}

std::vector<protocol::EventRecord> HistoryStore::events(const std::string& engine, std::int64_t fromMs,
                                                        std::int64_t toMs,
                                                        const std::vector<std::string>& kinds,
                                                        std::size_t limit) const {
    std::lock_guard lock(m_readMutex);
    std::vector<protocol::EventRecord> out;
    const auto id = m_readDb != nullptr ? findEngine(engine) : std::nullopt;
    if (!id || limit == 0) {
        return out;
    }
    std::string sql =
        "SELECT time_ms, sequence, kind, pool, instance, from_state, to_state, detail, data FROM events "
        "WHERE engine_id = ?1 AND time_ms >= ?2 AND time_ms <= ?3";
    if (!kinds.empty()) {
        sql += " AND kind IN (";
        for (std::size_t i = 0; i < kinds.size(); ++i) {
            sql += (i > 0 ? ", ?" : "?") + std::to_string(i + 5);
        }
        sql += ")";
    }
    sql += " ORDER BY time_ms DESC, sequence DESC LIMIT ?4";
    sqlite::Statement rows(m_readDb, sql);
    rows.bind(1, *id).bind(2, fromMs).bind(3, toMs);
    rows.bind(
        4, static_cast<std::int64_t>(std::min<std::size_t>(limit, std::numeric_limits<std::int64_t>::max())));
    for (std::size_t i = 0; i < kinds.size(); ++i) {
        rows.bind(static_cast<int>(i + 5), kinds[i]);
    }
    while (rows.ok() && rows.step() == SQLITE_ROW) {
        protocol::EventRecord event;
        event.timeMs = rows.int64(0);
        event.sequence = rows.uint64(1);
        event.kind = rows.text(2);
        event.pool = rows.text(3);
        event.instance = rows.text(4);
        event.from = rows.text(5);
        event.to = rows.text(6);
        event.detail = rows.text(7);
        event.data = parseJson(rows, 8, nlohmann::json::object());
        out.push_back(std::move(event));
    }
    std::reverse(out.begin(), out.end());
    return out;
}

std::vector<protocol::AuditRecord> HistoryStore::audit(const std::string& engine, std::int64_t fromMs,
                                                       std::int64_t toMs) const {
    std::lock_guard lock(m_readMutex);
    std::vector<protocol::AuditRecord> out;
    const auto id = m_readDb != nullptr ? findEngine(engine) : std::nullopt;
    if (!id) {
        return out;
    }
    sqlite::Statement rows(
        m_readDb, "SELECT time_ms, version, client, summary, diff FROM audit "
                  "WHERE engine_id = ?1 AND time_ms >= ?2 AND time_ms <= ?3 ORDER BY time_ms, version");
    rows.bind(1, *id).bind(2, fromMs).bind(3, toMs);
    while (rows.ok() && rows.step() == SQLITE_ROW) {
        protocol::AuditRecord record;
        record.timeMs = rows.int64(0);
        record.version = rows.uint64(1);
        record.client = rows.text(2);
        record.summary = rows.text(3);
        record.diff = parseJson(rows, 4, nlohmann::json::array());
        out.push_back(std::move(record));
    }
    return out;
}

std::vector<std::string> HistoryStore::engines() const {
    std::lock_guard lock(m_readMutex);
    std::vector<std::string> out;
    if (m_readDb == nullptr) {
        return out;
    }
    sqlite::Statement rows(m_readDb, "SELECT name FROM engines ORDER BY name");
    while (rows.ok() && rows.step() == SQLITE_ROW) {
        out.push_back(rows.text(0));
    }
    return out;
}

std::vector<std::string> HistoryStore::names(const std::string& engine, Scope scope) const {
    std::lock_guard lock(m_readMutex);
    std::vector<std::string> out;
    if (m_readDb == nullptr) {
        return out;
    }
    sqlite::Statement rows(m_readDb, "SELECT s.name FROM series s JOIN engines e ON e.id = s.engine_id "
                                     "WHERE e.name = ?1 AND s.scope = ?2 ORDER BY s.name");
    rows.bind(1, engine).bind(2, static_cast<int>(scope));
    while (rows.ok() && rows.step() == SQLITE_ROW) {
        out.push_back(rows.text(0));
    }
    return out;
}

std::optional<TimeRange> HistoryStore::timeRange(const std::string& engine) const {
    std::lock_guard lock(m_readMutex);
    const auto id = m_readDb != nullptr ? findEngine(engine) : std::nullopt;
    if (!id) {
        return std::nullopt;
    }
    // Four primary-key probes rather than one scan over a union. Kept seconds are newer than
    // any minute whose seconds are gone, and they, not a rollup's minute end, say when the last
    // frame came.
    sqlite::Statement row(m_readDb, "SELECT (SELECT min(time_ms) FROM engine_1m WHERE engine_id = ?1),"
                                    " (SELECT min(time_ms) FROM engine_1s WHERE engine_id = ?1),"
                                    " (SELECT max(time_ms) FROM engine_1s WHERE engine_id = ?1),"
                                    " (SELECT max(time_ms) FROM engine_1m WHERE engine_id = ?1)");
    row.bind(1, *id);
    if (!row.ok() || row.step() != SQLITE_ROW || (row.isNull(0) && row.isNull(1))) {
        return std::nullopt;
    }
    const std::int64_t first =
        row.isNull(0) ? row.int64(1) : (row.isNull(1) ? row.int64(0) : std::min(row.int64(0), row.int64(1)));
    return TimeRange{first, row.isNull(2) ? row.int64(3) : row.int64(2)};
}

std::optional<std::int64_t> HistoryStore::lastFrameTime(const std::string& engine) const {
    std::optional<std::int64_t> last;
    if (const auto range = timeRange(engine)) {
        last = range->lastMs;
    }
    std::lock_guard lock(m_queueMutex);
    if (const auto queued = m_queuedLastFrame.find(engine); queued != m_queuedLastFrame.end()) {
        last = std::max(last.value_or(queued->second), queued->second);
    }
    return last;
}

bool HistoryStore::exportCsv(const std::string& engine, Scope scope, const std::string& name,
                             std::int64_t fromMs, std::int64_t toMs, const std::string& path,
                             std::string* error, std::int64_t stepMs) const {
    const auto points = series(engine, scope, name, fromMs, toMs, stepMs);
    const bool instance = scope == Scope::Instance;
    const std::string temporary = path + ".part";
    errno = 0;
    {
        std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
        out << kCsvHeader << (instance ? ",weight,state,healthy,ejected,breaker\n" : "\n");
        for (const auto& point : points) {
            const auto& t = point.traffic;
            std::uint64_t errors = 0;
            for (const auto& [code, count] : t.errors) {
                errors += count;
            }
            out << point.timeMs << ',' << utc(point.timeMs) << ',' << point.intervalMs << ',' << t.requests;
            for (const auto count : t.responses) {
                out << ',' << count;
            }
            out << ',' << errors << ',' << t.retries << ',' << t.bytesIn << ',' << t.bytesOut << ','
                << t.activeRequests << ',' << percentiles(t.latency) << ',' << percentiles(t.upstream);
            if (instance) {
                const auto& i = point.instance;
                out << ',' << i.weight << ',' << csvField(i.state) << ',' << (i.healthy ? 1 : 0) << ','
                    << (i.ejected ? 1 : 0) << ',' << csvField(i.breaker);
            }
            out << '\n';
        }
        out.flush();
        if (!out) {
            const int cause = errno;
            std::error_code ignored;
            std::filesystem::remove(temporary, ignored);
            if (error != nullptr) {
                *error = "cannot write " + path + ": " + std::strerror(cause != 0 ? cause : EIO);
            }
            return false;
        }
    }
    std::error_code ec;
    std::filesystem::rename(temporary, path, ec);
    if (ec) {
        std::filesystem::remove(temporary, ec);
        if (error != nullptr) {
            *error = "cannot write " + path + ": " + ec.message();
        }
        return false;
    }
    return true;
}

} // namespace gaetwae::console

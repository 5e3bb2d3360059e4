#include "gui/storage/history_rollup.hpp"

#include <algorithm>
#include <limits>
#include <memory>
#include <optional>

namespace gaetwae::console::history {

namespace {

// Far enough from the int64 limits that minute arithmetic cannot overflow.
constexpr std::int64_t kTimeLimit = std::numeric_limits<std::int64_t>::max() / 4;

std::int64_t clampTime(std::int64_t value) {
    return std::clamp(value, -kTimeLimit, kTimeLimit);
}

bool readMeta(sqlite3* db, const char* key, std::int64_t& out) {
    sqlite::Statement statement(db, "SELECT value FROM meta WHERE key = ?1");
    if (!statement.ok()) {
        return false;
    }
    statement.bind(1, key);
    const int code = statement.step();
    if (code == SQLITE_ROW) {
        out = statement.int64(0);
    }
    return code == SQLITE_ROW || code == SQLITE_DONE;
}

} // namespace

bool readWatermarks(sqlite3* db, Watermarks& out) {
    Watermarks marks;
    if (!readMeta(db, "rolled_up_to", marks.rolledUpToMs) ||
        !readMeta(db, "raw_deleted_to", marks.rawDeletedToMs)) {
        return false;
    }
    out = marks;
    return true;
}

bool writeWatermarks(sqlite3* db, const Watermarks& marks) {
    sqlite::Statement statement(db, "INSERT OR REPLACE INTO meta (key, value) VALUES "
                                    "('rolled_up_to', ?1), ('raw_deleted_to', ?2)");
    statement.bind(1, marks.rolledUpToMs).bind(2, marks.rawDeletedToMs);
    return statement.ok() && statement.run();
}

std::vector<ReadRange> planRead(std::int64_t fromMs, std::int64_t toMs, bool wholeMinutes,
                                const Watermarks& marks) {
    std::vector<ReadRange> plan;
    const std::int64_t from = clampTime(fromMs);
    const std::int64_t to = clampTime(toMs);
    const std::int64_t rawGone = clampTime(marks.rawDeletedToMs);
    const std::int64_t rolled = clampTime(marks.rolledUpToMs);
    if (from > to) {
        return plan;
    }
    // Minutes whose seconds are gone, counted whole when they overlap: ends in [from, to + 1 min).
    const std::int64_t goneFrom = ceilTo(from, kRollupMs);
    const std::int64_t goneTo = std::min(rawGone, floorTo(to + kRollupMs - 1, kRollupMs));
    if (goneFrom <= goneTo) {
        plan.push_back({true, goneFrom, goneTo});
    }
    std::int64_t rawFrom = std::max(from, rawGone + 1);
    // Minutes inside the range that still have their seconds but also a current rollup.
    if (wholeMinutes) {
        const std::int64_t insideFrom = ceilTo(std::max(rawGone + 1, from + kRollupMs - 1), kRollupMs);
        const std::int64_t insideTo = std::min(rolled, floorTo(to, kRollupMs));
        if (insideFrom <= insideTo) {
            if (rawFrom <= insideFrom - kRollupMs) {
                plan.push_back({false, rawFrom, insideFrom - kRollupMs});
            }
            plan.push_back({true, insideFrom, insideTo});
            rawFrom = insideTo + 1;
        }
    }
    if (rawFrom <= to) {
        plan.push_back({false, rawFrom, to});
    }
    return plan;
}

bool MinuteRoller::prepare(sqlite3* db) {
    m_db = db;
    const std::string columns(kSampleColumns);
    std::string values = "?1, ?2";
    for (int i = 3; i < 3 + kSampleColumnCount; ++i) {
        values += ", ?" + std::to_string(i);
    }
    m_selectSamples = sqlite::Statement(db, "SELECT time_ms, " + columns +
                                                " FROM samples_1s WHERE series_id = ?1 AND time_ms > ?2 AND "
                                                "time_ms <= ?3 ORDER BY time_ms");
    m_insertSample = sqlite::Statement(db, "INSERT OR REPLACE INTO samples_1m (series_id, time_ms, " +
                                               columns + ") VALUES (" + values + ")");
    m_selectEngine =
        sqlite::Statement(db, "SELECT time_ms, interval_ms, config_version, active_connections "
                              "FROM engine_1s WHERE engine_id = ?1 AND time_ms > ?2 AND time_ms <= ?3 "
                              "ORDER BY time_ms");
    m_insertEngine =
        sqlite::Statement(db, "INSERT OR REPLACE INTO engine_1m (engine_id, time_ms, interval_ms, "
                              "config_version, active_connections) VALUES (?1, ?2, ?3, ?4, ?5)");
    return m_selectSamples.ok() && m_insertSample.ok() && m_selectEngine.ok() && m_insertEngine.ok();
}

std::string MinuteRoller::error() const {
    return m_db != nullptr ? sqlite3_errmsg(m_db) : "not prepared";
}

bool MinuteRoller::rollSeries(std::int64_t series, std::int64_t afterMs, std::int64_t upToMs) {
    std::optional<std::int64_t> minute;
    // On the heap: two summed histograms make it several kilobytes.
    auto folded = std::make_unique<SampleAccumulator>();
    auto finish = [&] {
        m_insertSample.bind(1, series).bind(2, *minute);
        bindSample(m_insertSample, 3, folded->packed());
        return m_insertSample.run();
    };
    m_selectSamples.bind(1, series).bind(2, afterMs).bind(3, upToMs);
    int code = SQLITE_ROW;
    bool ok = true;
    while (ok && (code = m_selectSamples.step()) == SQLITE_ROW) {
        const std::int64_t end = rollupEnd(m_selectSamples.int64(0));
        if (minute != end) {
            ok = !minute || finish();
            minute = end;
            folded = std::make_unique<SampleAccumulator>();
        }
        folded->addRow(m_selectSamples, 1);
    }
    m_selectSamples.reset();
    return ok && code == SQLITE_DONE && (!minute || finish());
}

bool MinuteRoller::rollEngine(std::int64_t engine, std::int64_t afterMs, std::int64_t upToMs) {
    std::optional<std::int64_t> minute;
    EngineAccumulator folded;
    auto finish = [&] {
        const EnginePoint point = folded.point(*minute);
        m_insertEngine.bind(1, engine).bind(2, point.timeMs).bind(3, point.intervalMs);
        m_insertEngine.bind(4, point.configVersion).bind(5, point.activeConnections);
        return m_insertEngine.run();
    };
    m_selectEngine.bind(1, engine).bind(2, afterMs).bind(3, upToMs);
    int code = SQLITE_ROW;
    bool ok = true;
    while (ok && (code = m_selectEngine.step()) == SQLITE_ROW) {
        const std::int64_t end = rollupEnd(m_selectEngine.int64(0));
        if (minute != end) {
            ok = !minute || finish();
            minute = end;
            folded = {};
        }
        folded.addRow(m_selectEngine, 1);
    }
    m_selectEngine.reset();
    return ok && code == SQLITE_DONE && (!minute || finish());
}

} // namespace gaetwae::console::history

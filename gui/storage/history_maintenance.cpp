// HistoryStore's maintenance on the writer thread: minute rollups, raw and rollup retention,
// events and audit retention, and pruning of series nothing refers to any more.
#include "gui/storage/history_store.hpp"

#include "gui/storage/history_rollup.hpp"
#include "gui/storage/history_store_writer.hpp"

#include <algorithm>

namespace gaetwae::console {

namespace {

std::vector<std::int64_t> ids(sqlite3* db, const char* sql) {
    std::vector<std::int64_t> out;
    sqlite::Statement statement(db, sql);
    while (statement.ok() && statement.step() == SQLITE_ROW) {
        out.push_back(statement.int64(0));
    }
    return out;
}

// DELETE ... WHERE <key> = ?1 AND time_ms <= ?2 for each id: every table is keyed by
// (id, time_ms, ...), so each delete is a range of the primary key, not a scan.
bool deleteUpTo(sqlite3* db, const char* sql, const std::vector<std::int64_t>& keys, std::int64_t upToMs) {
    sqlite::Statement statement(db, sql);
    if (!statement.ok()) {
        return false;
    }
    for (const std::int64_t key : keys) {
        statement.bind(1, key).bind(2, upToMs);
        if (!statement.run()) {
            return false;
        }
    }
    return true;
}

constexpr const char* kPrune = "DELETE FROM series WHERE"
                               " NOT EXISTS (SELECT 1 FROM samples_1s WHERE series_id = series.id)"
                               " AND NOT EXISTS (SELECT 1 FROM samples_1m WHERE series_id = series.id);"
                               "DELETE FROM engines WHERE"
                               " NOT EXISTS (SELECT 1 FROM series WHERE engine_id = engines.id)"
                               " AND NOT EXISTS (SELECT 1 FROM engine_1s WHERE engine_id = engines.id)"
                               " AND NOT EXISTS (SELECT 1 FROM engine_1m WHERE engine_id = engines.id)"
                               " AND NOT EXISTS (SELECT 1 FROM events WHERE engine_id = engines.id)"
                               " AND NOT EXISTS (SELECT 1 FROM audit WHERE engine_id = engines.id)";

} // namespace

// 1. Roll up the minutes that became kRollupDelayMs old since the last run.
// 2. Delete seconds past the raw retention (their minutes are rolled up by then).
// 3. Delete rollups, events and audit records past their retention; prune empty series.
bool HistoryStore::runMaintenance(std::int64_t nowMs, std::string& error) {
    auto& w = *m_writer;
    std::string message;
    if (!sqlite::exec(m_writeDb, "BEGIN IMMEDIATE", &message)) {
        error = "history database " + m_options.path + ": maintenance failed (" + message + ")";
        return false;
    }
    history::Watermarks marks = w.marks;
    const auto seriesIds = ids(m_writeDb, "SELECT id FROM series");
    const auto engineIds = ids(m_writeDb, "SELECT id FROM engines");
    bool ok = true;
    const std::int64_t rollUpTo = history::floorTo(nowMs - history::kRollupDelayMs, history::kRollupMs);
    if (rollUpTo > marks.rolledUpToMs) {
        for (const std::int64_t series : seriesIds) {
            ok = ok && w.roller.rollSeries(series, marks.rolledUpToMs, rollUpTo);
        }
        for (const std::int64_t engine : engineIds) {
            ok = ok && w.roller.rollEngine(engine, marks.rolledUpToMs, rollUpTo);
        }
        marks.rolledUpToMs = rollUpTo;
    }
    const std::int64_t rawGone =
        std::min(history::floorTo(nowMs - m_options.rawRetentionMs, history::kRollupMs), marks.rolledUpToMs);
    if (ok && rawGone > marks.rawDeletedToMs) {
        ok = deleteUpTo(m_writeDb, "DELETE FROM samples_1s WHERE series_id = ?1 AND time_ms <= ?2", seriesIds,
                        rawGone) &&
             deleteUpTo(m_writeDb, "DELETE FROM engine_1s WHERE engine_id = ?1 AND time_ms <= ?2", engineIds,
                        rawGone);
        marks.rawDeletedToMs = rawGone;
    }
    // Rollups never go before the seconds they stand for.
    const std::int64_t rollupsGone = nowMs - std::max(m_options.rollupRetentionMs, m_options.rawRetentionMs);
    const std::int64_t eventsGone = nowMs - m_options.eventRetentionMs;
    ok = ok &&
         deleteUpTo(m_writeDb, "DELETE FROM samples_1m WHERE series_id = ?1 AND time_ms <= ?2", seriesIds,
                    rollupsGone) &&
         deleteUpTo(m_writeDb, "DELETE FROM engine_1m WHERE engine_id = ?1 AND time_ms <= ?2", engineIds,
                    rollupsGone) &&
         deleteUpTo(m_writeDb, "DELETE FROM events WHERE engine_id = ?1 AND time_ms <= ?2", engineIds,
                    eventsGone) &&
         deleteUpTo(m_writeDb, "DELETE FROM audit WHERE engine_id = ?1 AND time_ms <= ?2", engineIds,
                    eventsGone) &&
         sqlite::exec(m_writeDb, kPrune) && history::writeWatermarks(m_writeDb, marks) &&
         sqlite::exec(m_writeDb, "COMMIT");
    // Pruning removes ids the writer may have cached; a rollback forgets new ones.
    forgetIds();
    if (!ok) {
        error =
            "history database " + m_options.path + ": maintenance failed (" + sqlite3_errmsg(m_writeDb) + ")";
        sqlite::exec(m_writeDb, "ROLLBACK");
        return false;
    }
    w.marks = marks;
    return true;
}

// Frames that arrive for minutes already rolled up (a backfill after a reconnect) mark their
// minutes; this rewrites those rollups from the seconds before the batch commits.
bool HistoryStore::rerollDirtyMinutes() {
    auto& w = *m_writer;
    bool ok = true;
    for (const auto& [series, minute] : w.dirtySeries) {
        ok = ok && w.roller.rollSeries(series, minute - history::kRollupMs, minute);
    }
    for (const auto& [engine, minute] : w.dirtyEngines) {
        ok = ok && w.roller.rollEngine(engine, minute - history::kRollupMs, minute);
    }
    w.dirtySeries.clear();
    w.dirtyEngines.clear();
    return ok;
}

} // namespace gaetwae::console

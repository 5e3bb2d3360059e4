#pragma once

#include "gui/storage/history_rollup.hpp"
#include "gui/storage/history_store.hpp"
#include "gui/storage/sqlite_statement.hpp"

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <utility>

namespace gaetwae::console {

// What the writer thread keeps beside its connection: prepared statements, the ids of engines
// and series it has seen, the rollup watermarks and the minutes a batch made stale. Private to
// HistoryStore's .cpp files; touched only on the writer thread (and by open() before it starts).
struct HistoryStore::Writer {
    sqlite::Statement insertSample;
    sqlite::Statement insertEngineRow;
    sqlite::Statement insertEvent;
    sqlite::Statement insertAudit;
    sqlite::Statement upsertEngine;
    sqlite::Statement upsertSeries;
    history::MinuteRoller roller;
    history::Watermarks marks;
    std::map<std::string, std::int64_t> engines;
    std::map<std::tuple<std::int64_t, int, std::string>, std::int64_t> series;
    std::set<std::pair<std::int64_t, std::int64_t>> dirtySeries;  // (series, minute end)
    std::set<std::pair<std::int64_t, std::int64_t>> dirtyEngines; // (engine, minute end)

    bool prepare(sqlite3* db, std::string& error);
};

} // namespace gaetwae::console

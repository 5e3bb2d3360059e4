#pragma once

#include "gui/storage/history_schema.hpp"
#include "gui/storage/sqlite_statement.hpp"

#include <cstdint>
#include <string>
#include <vector>

// Minute rollups. A raw second at time t (end of its interval) belongs to the minute ending at
// ceil(t / 60 s) * 60 s. Rollups are written eagerly, as soon as a minute is kRollupDelayMs old,
// so long ranges read one row per minute; the seconds stay beside them for the raw retention.
// Each read then takes every minute from exactly ONE of the two tables (see planRead), so
// nothing is ever counted twice and percentiles stay exact.
namespace gaetwae::console::history {

inline constexpr std::int64_t kRollupDelayMs = 10'000; // a frame later than this re-rolls its minute

// Persisted in `meta`. Invariants: rawDeletedToMs <= rolledUpToMs, both whole minutes; every
// minute ending at or before rolledUpToMs has a current rollup (for each series with data in
// it); no raw second at or before rawDeletedToMs is kept (frames that old are ignored).
struct Watermarks {
    std::int64_t rolledUpToMs = 0;
    std::int64_t rawDeletedToMs = 0;

    bool operator==(const Watermarks&) const = default;
};

bool readWatermarks(sqlite3* db, Watermarks& out);
bool writeWatermarks(sqlite3* db, const Watermarks& marks);

// Where the rows answering a read of [fromMs, toMs] come from, in time order. Rollup ranges are
// ranges of minute ends, raw ranges of second times, all inclusive.
//  - A minute whose seconds are gone counts whole from its rollup when it overlaps the range.
//  - With wholeMinutes (latency(), and series steps that are whole minutes), a minute inside
//    the range with a current rollup comes from the rollup: the same numbers, 60 times fewer rows.
//  - Everything else comes from the seconds.
struct ReadRange {
    bool rollup = false;
    std::int64_t fromMs = 0;
    std::int64_t toMs = 0;

    bool operator==(const ReadRange&) const = default;
};

std::vector<ReadRange> planRead(std::int64_t fromMs, std::int64_t toMs, bool wholeMinutes,
                                const Watermarks& marks);

// Rewrites minute rollups from the raw seconds, on the write connection (inside the caller's
// transaction). Each call covers the minutes ending in (afterMs, upToMs], whole minutes both.
class MinuteRoller {
public:
    bool prepare(sqlite3* db);
    bool rollSeries(std::int64_t series, std::int64_t afterMs, std::int64_t upToMs);
    bool rollEngine(std::int64_t engine, std::int64_t afterMs, std::int64_t upToMs);
    std::string error() const;

private:
    sqlite3* m_db = nullptr;
    sqlite::Statement m_selectSamples;
    sqlite::Statement m_insertSample;
    sqlite::Statement m_selectEngine;
    sqlite::Statement m_insertEngine;
};

} // namespace gaetwae::console::history

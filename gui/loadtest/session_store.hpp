#pragma once

#include "shared/loadtest/interval_stats.hpp"
#include "shared/loadtest/plan.hpp"
#include "shared/loadtest/schedule.hpp"
#include "shared/protocol/admin_messages.hpp"
#include "shared/protocol/stats.hpp"

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace gaetwae::console {

enum class RunStatus { Running, Completed, Interrupted, Failed };
const char* runStatusName(RunStatus status);

// One load-test run as stored. The plan is stored once per distinct plan (immutable, keyed by
// the SHA-256 of its canonical JSON); the run points at it.
struct RunRecord {
    std::int64_t id = 0;
    std::string planHash;
    loadtest::LoadTestPlan plan;
    std::string engine;              // the console's name for the engine it went through
    std::uint64_t configVersion = 0; // the engine's configuration when the run started ...
    std::string configSnapshot;      // ... and that configuration (JSON)
    std::int64_t startedAtMs = 0;
    std::int64_t endedAtMs = 0; // 0 while running
    RunStatus status = RunStatus::Running;
    std::string error;
    std::optional<std::int64_t> baselineRun; // a re-run: the run it is compared with
    std::optional<std::int64_t> scheduleId;  // a replay: the captured schedule it re-sent
    std::string notes;
    std::optional<loadtest::IntervalStats> total; // gaetwae-load's total line, when it wrote one
};

// A run with everything recorded during it: the generator's seconds, the engine's frames and
// events over the same time.
struct RunData {
    RunRecord run;
    std::vector<loadtest::IntervalStats> seconds;
    std::vector<protocol::StatsFrame> frames;
    std::vector<protocol::EventRecord> events;
};

// A captured schedule (from the engine's traffic capture, or imported).
struct StoredSchedule {
    std::int64_t id = 0;
    std::string name;
    std::string engine;
    std::string route;
    std::int64_t createdAtMs = 0;
    std::uint64_t count = 0;
    std::int64_t spanUs = 0; // offset of the last entry
    double sample = 1.0;
    std::vector<std::string> headers;
};

// The console's load-test sessions in one SQLite file (WAL, a transaction per write, so a
// crash loses nothing written). open() finds runs left "running" by a console that stopped
// mid-run and stores them as interrupted, ending at their last recorded second. Single thread
// (the UI's): writes are a few small rows per second.
class SessionStore {
public:
    SessionStore() = default;
    ~SessionStore();
    SessionStore(const SessionStore&) = delete;
    SessionStore& operator=(const SessionStore&) = delete;

    static std::string defaultPath(); // <app data>/sessions.sqlite
    bool open(const std::string& path, std::string& error);
    void close();
    bool isOpen() const { return m_db != nullptr; }
    const std::string& path() const { return m_path; }
    int recoveredRuns() const { return m_recovered; } // runs open() marked interrupted
    const std::string& lastError() const { return m_error; }

    static std::string planHash(const loadtest::LoadTestPlan& plan);

    // Stores the plan (once) and a new running run; fills record.id and record.planHash.
    bool beginRun(RunRecord& record);
    bool appendSecond(std::int64_t run, const loadtest::IntervalStats& second);
    bool appendFrame(std::int64_t run, const protocol::StatsFrame& frame); // once per frame time
    bool appendEvent(std::int64_t run, const protocol::EventRecord& event); // once per sequence
    bool finishRun(std::int64_t run, RunStatus status, std::int64_t endedAtMs,
                   const std::optional<loadtest::IntervalStats>& total, const std::string& error);
    bool setNotes(std::int64_t run, const std::string& notes);
    bool removeRun(std::int64_t run);

    std::vector<RunRecord> runs() const; // newest first, without their seconds
    std::optional<RunRecord> run(std::int64_t id) const;
    std::optional<RunData> load(std::int64_t id) const;

    std::int64_t saveSchedule(StoredSchedule& schedule, const std::vector<loadtest::ScheduleEntry>& entries);
    std::vector<StoredSchedule> schedules() const;
    std::vector<loadtest::ScheduleEntry> scheduleEntries(std::int64_t id) const;
    // Writes the schedule as a JSON-lines file gaetwae-load replays (<dir>/schedule-<id>.jsonl);
    // returns its path, or "" with lastError().
    std::string exportSchedule(std::int64_t id, const std::string& directory);

private:
    bool exec(const char* sql);
    bool migrate();
    void recoverInterruptedRuns();
    bool fail(const std::string& what) const;

    sqlite3* m_db = nullptr;
    std::string m_path;
    int m_recovered = 0;
    mutable std::string m_error;
};

} // namespace gaetwae::console

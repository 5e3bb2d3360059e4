#include "gui/loadtest/session_store.hpp"

#include "gui/storage/sqlite_statement.hpp"

#include <QCryptographicHash>
#include <QDateTime>
#include <QDir>
#include <QFileInfo>
#include <QStandardPaths>

#include <fstream>

namespace gaetwae::console {

namespace {

constexpr int kSchemaVersion = 1;
constexpr std::int64_t kApplicationId = 0x47575354; // "GWST"

constexpr const char* kSchema = R"sql(
CREATE TABLE plans (
    hash TEXT PRIMARY KEY,
    json TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    plan_hash TEXT NOT NULL REFERENCES plans(hash),
    engine TEXT NOT NULL,
    config_version INTEGER NOT NULL,
    config_snapshot TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    ended_at INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL CHECK (status IN ('running', 'completed', 'interrupted', 'failed')),
    error TEXT NOT NULL DEFAULT '',
    baseline_run INTEGER,
    schedule_id INTEGER,
    notes TEXT NOT NULL DEFAULT '',
    total TEXT
);
CREATE TABLE run_seconds (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    t INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (run_id, t)
) WITHOUT ROWID;
CREATE TABLE run_frames (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    t INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (run_id, t)
) WITHOUT ROWID;
CREATE TABLE run_events (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    sequence INTEGER NOT NULL,
    t INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (run_id, sequence)
) WITHOUT ROWID;
CREATE TABLE schedules (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    engine TEXT NOT NULL,
    route TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    count INTEGER NOT NULL,
    span_us INTEGER NOT NULL,
    sample REAL NOT NULL,
    headers TEXT NOT NULL
);
CREATE TABLE schedule_entries (
    schedule_id INTEGER NOT NULL REFERENCES schedules(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (schedule_id, idx)
) WITHOUT ROWID;
)sql";

constexpr const char* kRunColumns =
    "r.id, r.plan_hash, p.json, r.engine, r.config_version, r.config_snapshot, r.started_at, r.ended_at, r.status, "
    "r.error, r.baseline_run, r.schedule_id, r.notes, r.total FROM runs r JOIN plans p ON p.hash = r.plan_hash";

std::int64_t nowMs() {
    return QDateTime::currentMSecsSinceEpoch();
}

RunStatus statusFromName(const std::string& name) {
    if (name == "completed") {
        return RunStatus::Completed;
    }
    if (name == "interrupted") {
        return RunStatus::Interrupted;
    }
    if (name == "failed") {
        return RunStatus::Failed;
    }
    return RunStatus::Running;
}

RunRecord readRun(const sqlite::Statement& row) {
    RunRecord r;
    r.id = row.int64(0);
    r.planHash = row.text(1);
    model::Diagnostics ignored;
    loadtest::fromJson(nlohmann::json::parse(row.text(2), nullptr, false), r.plan, ignored);
    r.engine = row.text(3);
    r.configVersion = row.uint64(4);
    r.configSnapshot = row.text(5);
    r.startedAtMs = row.int64(6);
    r.endedAtMs = row.int64(7);
    r.status = statusFromName(row.text(8));
    r.error = row.text(9);
    if (!row.isNull(10)) {
        r.baselineRun = row.int64(10);
    }
    if (!row.isNull(11)) {
        r.scheduleId = row.int64(11);
    }
    r.notes = row.text(12);
    if (!row.isNull(13)) {
        loadtest::IntervalStats total;
        if (loadtest::fromJson(nlohmann::json::parse(row.text(13), nullptr, false), total)) {
            r.total = std::move(total);
        }
    }
    return r;
}

} // namespace

const char* runStatusName(RunStatus status) {
    switch (status) {
    case RunStatus::Running:
        return "running";
    case RunStatus::Completed:
        return "completed";
    case RunStatus::Interrupted:
        return "interrupted";
    case RunStatus::Failed:
        return "failed";
    }
    return "running";
}

SessionStore::~SessionStore() {
    close();
}

std::string SessionStore::defaultPath() {
    return (QStandardPaths::writableLocation(QStandardPaths::AppLocalDataLocation) + QStringLiteral("/sessions.sqlite"))
        .toStdString();
}

bool SessionStore::fail(const std::string& what) const {
    m_error = what + ": " + (m_db != nullptr ? sqlite3_errmsg(m_db) : "not open");
    return false;
}

bool SessionStore::exec(const char* sql) {
    std::string message;
    if (!sqlite::exec(m_db, sql, &message)) {
        m_error = message;
        return false;
    }
    return true;
}

bool SessionStore::open(const std::string& path, std::string& error) {
    close();
    QDir().mkpath(QFileInfo(QString::fromStdString(path)).absolutePath());
    if (sqlite3_open_v2(path.c_str(), &m_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        nullptr) != SQLITE_OK) {
        error = path + ": cannot open: " + (m_db != nullptr ? sqlite3_errmsg(m_db) : "out of memory");
        close();
        return false;
    }
    sqlite3_busy_timeout(m_db, 5000);
    m_path = path;
    if (!exec("PRAGMA foreign_keys = ON; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL") || !migrate()) {
        error = path + ": " + m_error;
        close();
        return false;
    }
    recoverInterruptedRuns();
    return true;
}

void SessionStore::close() {
    if (m_db != nullptr) {
        sqlite3_close_v2(m_db);
        m_db = nullptr;
    }
}

bool SessionStore::migrate() {
    sqlite::Statement appId(m_db, "PRAGMA application_id");
    sqlite::Statement version(m_db, "PRAGMA user_version");
    if (appId.step() != SQLITE_ROW || version.step() != SQLITE_ROW) {
        m_error = std::string("not a SQLite database (") + sqlite3_errmsg(m_db) + ")";
        return false;
    }
    const auto id = appId.int64(0);
    const auto current = version.int64(0);
    if (id != 0 && id != kApplicationId) {
        m_error = "not a gaetwae sessions file (another application's database)";
        return false;
    }
    if (current > kSchemaVersion) {
        m_error = "written by a newer console (schema " + std::to_string(current) + ", this console reads up to " +
                  std::to_string(kSchemaVersion) + "); nothing was changed";
        return false;
    }
    if (current == kSchemaVersion) {
        return true;
    }
    sqlite::Statement tables(m_db, "SELECT count(*) FROM sqlite_master");
    if (tables.step() == SQLITE_ROW && tables.int64(0) > 0 && id == 0) {
        m_error = "not a gaetwae sessions file (it already holds other tables)";
        return false;
    }
    const std::string script = std::string("BEGIN;") + kSchema + "PRAGMA user_version = " +
                               std::to_string(kSchemaVersion) + "; PRAGMA application_id = " +
                               std::to_string(kApplicationId) + "; COMMIT;";
    if (!exec(script.c_str())) {
        exec("ROLLBACK");
        return false;
    }
    return true;
}

void SessionStore::recoverInterruptedRuns() {
    // A console that stopped mid-run (crash, kill, power) left its run "running": what it wrote
    // is kept, and the run ends at its last recorded second.
    sqlite::Statement update(m_db, "UPDATE runs SET status = 'interrupted', "
                                   "error = 'the console stopped during the run', "
                                   "ended_at = max(started_at, coalesce((SELECT max(t) FROM run_seconds "
                                   "WHERE run_id = runs.id), started_at)) WHERE status = 'running'");
    if (update.run()) {
        m_recovered = sqlite3_changes(m_db);
    }
}

std::string SessionStore::planHash(const loadtest::LoadTestPlan& plan) {
    const auto canonical = loadtest::toJson(plan).dump();
    return QCryptographicHash::hash(QByteArray::fromStdString(canonical), QCryptographicHash::Sha256)
        .toHex()
        .toStdString();
}

bool SessionStore::beginRun(RunRecord& record) {
    record.planHash = planHash(record.plan);
    sqlite::Statement plan(m_db, "INSERT OR IGNORE INTO plans (hash, json, created_at) VALUES (?, ?, ?)");
    plan.bind(1, record.planHash).bind(2, loadtest::toJson(record.plan).dump()).bind(3, nowMs());
    if (!plan.run()) {
        return fail("storing the plan");
    }
    sqlite::Statement run(m_db, "INSERT INTO runs (plan_hash, engine, config_version, config_snapshot, started_at, "
                                "status, baseline_run, schedule_id, notes) VALUES (?, ?, ?, ?, ?, 'running', ?, ?, ?)");
    run.bind(1, record.planHash)
        .bind(2, record.engine)
        .bind(3, record.configVersion)
        .bind(4, record.configSnapshot)
        .bind(5, record.startedAtMs)
        .bind(8, record.notes);
    record.baselineRun ? run.bind(6, *record.baselineRun) : run.bindNull(6);
    record.scheduleId ? run.bind(7, *record.scheduleId) : run.bindNull(7);
    if (!run.run()) {
        return fail("storing the run");
    }
    record.id = sqlite3_last_insert_rowid(m_db);
    record.status = RunStatus::Running;
    return true;
}

bool SessionStore::appendSecond(std::int64_t run, const loadtest::IntervalStats& second) {
    sqlite::Statement insert(m_db, "INSERT OR REPLACE INTO run_seconds (run_id, t, data) VALUES (?, ?, ?)");
    // The line as gaetwae-load wrote it: "time" is the wall-clock end of the second.
    insert.bind(1, run).bind(2, second.timeMs).bind(3, loadtest::toJson(second, second.timeMs - second.offsetMs).dump());
    return insert.run() || fail("storing a second");
}

bool SessionStore::appendFrame(std::int64_t run, const protocol::StatsFrame& frame) {
    sqlite::Statement insert(m_db, "INSERT OR IGNORE INTO run_frames (run_id, t, data) VALUES (?, ?, ?)");
    insert.bind(1, run).bind(2, frame.timeMs).bind(3, protocol::toJson(frame).dump());
    return insert.run() || fail("storing a frame");
}

bool SessionStore::appendEvent(std::int64_t run, const protocol::EventRecord& event) {
    sqlite::Statement insert(m_db, "INSERT OR IGNORE INTO run_events (run_id, sequence, t, data) VALUES (?, ?, ?, ?)");
    insert.bind(1, run).bind(2, event.sequence).bind(3, event.timeMs).bind(4, protocol::toJson(event).dump());
    return insert.run() || fail("storing an event");
}

bool SessionStore::finishRun(std::int64_t run, RunStatus status, std::int64_t endedAtMs,
                             const std::optional<loadtest::IntervalStats>& total, const std::string& error) {
    sqlite::Statement update(m_db, "UPDATE runs SET status = ?, ended_at = ?, total = ?, error = ? WHERE id = ?");
    update.bind(1, runStatusName(status)).bind(2, endedAtMs).bind(4, error).bind(5, run);
    total ? update.bind(3, loadtest::toJson(*total, total->timeMs - total->offsetMs).dump()) : update.bindNull(3);
    return update.run() || fail("finishing the run");
}

bool SessionStore::setNotes(std::int64_t run, const std::string& notes) {
    sqlite::Statement update(m_db, "UPDATE runs SET notes = ? WHERE id = ?");
    update.bind(1, notes).bind(2, run);
    return update.run() || fail("storing notes");
}

bool SessionStore::removeRun(std::int64_t run) {
    sqlite::Statement remove(m_db, "DELETE FROM runs WHERE id = ?");
    remove.bind(1, run);
    return remove.run() || fail("removing the run");
}

std::vector<RunRecord> SessionStore::runs() const {
    std::vector<RunRecord> out;
    sqlite::Statement select(m_db, std::string("SELECT ") + kRunColumns + " ORDER BY r.id DESC");
    while (select.step() == SQLITE_ROW) {
        out.push_back(readRun(select));
    }
    return out;
}

std::optional<RunRecord> SessionStore::run(std::int64_t id) const {
    sqlite::Statement select(m_db, std::string("SELECT ") + kRunColumns + " WHERE r.id = ?");
    select.bind(1, id);
    if (select.step() != SQLITE_ROW) {
        return std::nullopt;
    }
    return readRun(select);
}

std::optional<RunData> SessionStore::load(std::int64_t id) const {
    auto record = run(id);
    if (!record) {
        return std::nullopt;
    }
    RunData data;
    data.run = std::move(*record);
    sqlite::Statement seconds(m_db, "SELECT data FROM run_seconds WHERE run_id = ? ORDER BY t");
    seconds.bind(1, id);
    while (seconds.step() == SQLITE_ROW) {
        loadtest::IntervalStats second;
        if (loadtest::fromJson(nlohmann::json::parse(seconds.text(0), nullptr, false), second)) {
            second.offsetMs = second.timeMs - data.run.startedAtMs;
            data.seconds.push_back(std::move(second));
        }
    }
    sqlite::Statement frames(m_db, "SELECT data FROM run_frames WHERE run_id = ? ORDER BY t");
    frames.bind(1, id);
    while (frames.step() == SQLITE_ROW) {
        protocol::StatsFrame frame;
        if (protocol::fromJson(nlohmann::json::parse(frames.text(0), nullptr, false), frame)) {
            data.frames.push_back(std::move(frame));
        }
    }
    sqlite::Statement events(m_db, "SELECT data FROM run_events WHERE run_id = ? ORDER BY t, sequence");
    events.bind(1, id);
    while (events.step() == SQLITE_ROW) {
        protocol::EventRecord event;
        model::Diagnostics ignored;
        if (protocol::fromJson(nlohmann::json::parse(events.text(0), nullptr, false), event, ignored)) {
            data.events.push_back(std::move(event));
        }
    }
    return data;
}

std::int64_t SessionStore::saveSchedule(StoredSchedule& schedule, const std::vector<loadtest::ScheduleEntry>& entries) {
    if (!exec("BEGIN")) {
        return 0;
    }
    schedule.count = entries.size();
    schedule.spanUs = entries.empty() ? 0 : entries.back().offsetUs;
    if (schedule.createdAtMs == 0) {
        schedule.createdAtMs = nowMs();
    }
    sqlite::Statement insert(m_db, "INSERT INTO schedules (name, engine, route, created_at, count, span_us, sample, "
                                   "headers) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    insert.bind(1, schedule.name)
        .bind(2, schedule.engine)
        .bind(3, schedule.route)
        .bind(4, schedule.createdAtMs)
        .bind(5, schedule.count)
        .bind(6, schedule.spanUs)
        .bind(7, schedule.sample)
        .bind(8, nlohmann::json(schedule.headers).dump());
    if (!insert.run()) {
        fail("storing the schedule");
        exec("ROLLBACK");
        return 0;
    }
    schedule.id = sqlite3_last_insert_rowid(m_db);
    sqlite::Statement entry(m_db, "INSERT INTO schedule_entries (schedule_id, idx, data) VALUES (?, ?, ?)");
    for (std::size_t i = 0; i < entries.size(); ++i) {
        entry.bind(1, schedule.id).bind(2, static_cast<std::int64_t>(i)).bind(3, loadtest::toJson(entries[i]).dump());
        if (!entry.run()) {
            fail("storing the schedule's entries");
            exec("ROLLBACK");
            return 0;
        }
    }
    if (!exec("COMMIT")) {
        exec("ROLLBACK");
        return 0;
    }
    return schedule.id;
}

std::vector<StoredSchedule> SessionStore::schedules() const {
    std::vector<StoredSchedule> out;
    sqlite::Statement select(m_db, "SELECT id, name, engine, route, created_at, count, span_us, sample, headers "
                                   "FROM schedules ORDER BY id DESC");
    while (select.step() == SQLITE_ROW) {
        StoredSchedule s;
        s.id = select.int64(0);
        s.name = select.text(1);
        s.engine = select.text(2);
        s.route = select.text(3);
        s.createdAtMs = select.int64(4);
        s.count = select.uint64(5);
        s.spanUs = select.int64(6);
        s.sample = select.real(7);
        const auto headers = nlohmann::json::parse(select.text(8), nullptr, false);
        if (headers.is_array()) {
            for (const auto& h : headers) {
                if (h.is_string()) {
                    s.headers.push_back(h.get<std::string>());
                }
            }
        }
        out.push_back(std::move(s));
    }
    return out;
}

std::vector<loadtest::ScheduleEntry> SessionStore::scheduleEntries(std::int64_t id) const {
    std::vector<loadtest::ScheduleEntry> out;
    sqlite::Statement select(m_db, "SELECT data FROM schedule_entries WHERE schedule_id = ? ORDER BY idx");
    select.bind(1, id);
    while (select.step() == SQLITE_ROW) {
        loadtest::ScheduleEntry entry;
        model::Diagnostics ignored;
        if (loadtest::fromJson(nlohmann::json::parse(select.text(0), nullptr, false), entry, "", ignored)) {
            out.push_back(std::move(entry));
        }
    }
    return out;
}

std::string SessionStore::exportSchedule(std::int64_t id, const std::string& directory) {
    const auto entries = scheduleEntries(id);
    if (entries.empty()) {
        m_error = "schedule " + std::to_string(id) + " does not exist or holds no request";
        return {};
    }
    QDir().mkpath(QString::fromStdString(directory));
    const std::string path = directory + "/schedule-" + std::to_string(id) + ".jsonl";
    std::ofstream file(path, std::ios::trunc);
    loadtest::writeSchedule(file, entries);
    file.close();
    if (!file) {
        m_error = "cannot write " + path;
        return {};
    }
    return path;
}

} // namespace gaetwae::console

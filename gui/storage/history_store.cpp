#include "gui/storage/history_store.hpp"

#include "gui/storage/history_schema.hpp"
#include "gui/storage/history_store_writer.hpp"
#include "gui/storage/sqlite_statement.hpp"

#include <chrono>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <tuple>

namespace gaetwae::console {

namespace {

using history::kSampleColumnCount;
using history::kSampleColumns;

// "?1, ?2, ... ?n"
std::string placeholders(int count) {
    std::string out;
    for (int i = 1; i <= count; ++i) {
        out += (i > 1 ? ", ?" : "?") + std::to_string(i);
    }
    return out;
}

// One line naming the file and the cause, from the SQLite result of the failing step.
std::string describeFailure(const std::string& path, sqlite3* db, int code) {
    const std::string subject = "history database " + path;
    const char* detail = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(code);
    const int systemErrno = db != nullptr ? sqlite3_system_errno(db) : 0;
    const std::string system =
        systemErrno != 0 ? std::string(std::strerror(systemErrno)) : std::string(detail);
    switch (code & 0xff) {
    case SQLITE_NOTADB:
        return subject + " is not a SQLite database (corrupt?)";
    case SQLITE_CORRUPT:
        return subject + " is corrupt (" + detail + ")";
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return subject + " is locked by another program";
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
        return subject + " cannot be written (" + system + ")";
    case SQLITE_CANTOPEN:
        return subject + " cannot be opened or created (" + system + ")";
    case SQLITE_FULL:
        return subject + " cannot be written: the disk is full";
    case SQLITE_IOERR:
        return subject + " cannot be read or written (I/O error: " + system + ")";
    default:
        return subject + " cannot be opened (" + detail + ")";
    }
}

std::int64_t systemNowMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

} // namespace

bool HistoryStore::Writer::prepare(sqlite3* db, std::string& error) {
    const std::string sampleSql = "INSERT OR REPLACE INTO samples_1s (series_id, time_ms, " +
                                  std::string(kSampleColumns) + ") VALUES (" +
                                  placeholders(2 + kSampleColumnCount) + ")";
    insertSample = sqlite::Statement(db, sampleSql);
    insertEngineRow =
        sqlite::Statement(db, "INSERT OR REPLACE INTO engine_1s (engine_id, time_ms, interval_ms, "
                              "config_version, active_connections) VALUES (?, ?, ?, ?, ?)");
    insertEvent =
        sqlite::Statement(db, "INSERT OR REPLACE INTO events (engine_id, time_ms, sequence, kind, pool, "
                              "instance, from_state, to_state, detail, data) VALUES (" +
                                  placeholders(10) + ")");
    insertAudit = sqlite::Statement(db, "INSERT OR REPLACE INTO audit (engine_id, time_ms, version, client, "
                                        "summary, diff) VALUES (?, ?, ?, ?, ?, ?)");
    upsertEngine = sqlite::Statement(db, "INSERT INTO engines (name) VALUES (?) ON CONFLICT (name) DO "
                                         "UPDATE SET name = name RETURNING id");
    upsertSeries = sqlite::Statement(db, "INSERT INTO series (engine_id, scope, name) VALUES (?, ?, ?) "
                                         "ON CONFLICT (engine_id, scope, name) DO UPDATE SET name = name "
                                         "RETURNING id");
    for (const auto* statement :
         {&insertSample, &insertEngineRow, &insertEvent, &insertAudit, &upsertEngine, &upsertSeries}) {
        if (!statement->ok()) {
            error = statement->error();
            return false;
        }
    }
    if (!roller.prepare(db)) {
        error = roller.error();
        return false;
    }
    return history::readWatermarks(db, marks);
}

HistoryStore::HistoryStore(Options options)
    : m_options(std::move(options)) {}

HistoryStore::~HistoryStore() {
    close();
}

bool HistoryStore::open(std::string* error) {
    if (isOpen()) {
        return true;
    }
    const std::string& path = m_options.path;
    auto fail = [&](std::string message) {
        closeConnections();
        if (error != nullptr) {
            *error = std::move(message);
        }
        return false;
    };
    const std::filesystem::path folder = std::filesystem::path(path).parent_path();
    std::error_code ec;
    if (!folder.empty() && !std::filesystem::is_directory(folder, ec)) {
        std::filesystem::create_directories(folder, ec);
        if (ec) {
            return fail("history database " + path + " cannot be created: folder " + folder.string() + ": " +
                        ec.message());
        }
    }
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    int code = sqlite3_open_v2(path.c_str(), &m_writeDb, flags, nullptr);
    if (code != SQLITE_OK) {
        return fail(describeFailure(path, m_writeDb, code));
    }
    sqlite3_busy_timeout(m_writeDb, m_options.busyTimeoutMs);

    // The first read of the file tells corrupt, locked and unreadable files apart.
    std::int64_t tables = 0;
    std::int64_t applicationId = 0;
    {
        sqlite::Statement count(m_writeDb, "SELECT count(*) FROM sqlite_master");
        if (!count.ok() || count.step() != SQLITE_ROW) {
            return fail(describeFailure(path, m_writeDb, count.code()));
        }
        tables = count.int64(0);
        sqlite::Statement appId(m_writeDb, "PRAGMA application_id");
        if (!appId.ok() || appId.step() != SQLITE_ROW) {
            return fail(describeFailure(path, m_writeDb, appId.code()));
        }
        applicationId = appId.int64(0);
    }
    std::string message;
    const int version = history::userVersion(m_writeDb, &message);
    if (version < 0) {
        return fail(describeFailure(path, m_writeDb, sqlite3_errcode(m_writeDb)));
    }
    if ((applicationId != 0 && applicationId != history::kApplicationId) ||
        (applicationId == 0 && version == 0 && tables > 0)) {
        return fail("history database " + path + " is a SQLite database of another program");
    }
    if (version > history::kSchemaVersion) {
        return fail("history database " + path + " was written by a newer gaetwae-console (schema version " +
                    std::to_string(version) + ", this one reads up to " +
                    std::to_string(history::kSchemaVersion) + ")");
    }
    {
        sqlite::Statement wal(m_writeDb, "PRAGMA journal_mode = WAL");
        if (!wal.ok() || wal.step() != SQLITE_ROW) {
            return fail(describeFailure(path, m_writeDb, wal.code()));
        }
        if (wal.text(0) != "wal") {
            return fail("history database " + path + " cannot use write-ahead logging (journal mode " +
                        wal.text(0) + ")");
        }
    }
    if (!sqlite::exec(m_writeDb, "PRAGMA synchronous = NORMAL", &message)) {
        return fail(describeFailure(path, m_writeDb, sqlite3_errcode(m_writeDb)));
    }
    if (!history::migrateTo(m_writeDb, history::kSchemaVersion, &message)) {
        const int failure = sqlite3_errcode(m_writeDb);
        if (failure == SQLITE_BUSY || failure == SQLITE_NOTADB || failure == SQLITE_CORRUPT) {
            return fail(describeFailure(path, m_writeDb, failure));
        }
        return fail("history database " + path + " cannot be upgraded from schema version " +
                    std::to_string(version) + ": " + message);
    }
    m_writer = std::make_unique<Writer>();
    if (!m_writer->prepare(m_writeDb, message)) {
        return fail("history database " + path + " cannot be used: " + message);
    }

    code = sqlite3_open_v2(path.c_str(), &m_readDb, flags, nullptr);
    if (code != SQLITE_OK) {
        return fail(describeFailure(path, m_readDb, code));
    }
    sqlite3_busy_timeout(m_readDb, m_options.busyTimeoutMs);
    sqlite::exec(m_readDb, "PRAGMA query_only = ON");

    std::lock_guard lock(m_queueMutex);
    m_open = true;
    m_stopping = false;
    m_lastError.clear();
    m_thread = std::thread([this] { writerLoop(); });
    return true;
}

bool HistoryStore::isOpen() const {
    std::lock_guard lock(m_queueMutex);
    return m_open;
}

void HistoryStore::close() {
    {
        std::lock_guard lock(m_queueMutex);
        if (!m_open) {
            return;
        }
        m_open = false;
        m_stopping = true;
    }
    m_wake.notify_all();
    m_thread.join();
    {
        std::lock_guard lock(m_queueMutex);
        m_queuedLastFrame.clear();
    }
    closeConnections();
}

void HistoryStore::closeConnections() {
    m_writer.reset(); // statements before their connection
    sqlite3_close_v2(m_writeDb);
    m_writeDb = nullptr;
    std::lock_guard lock(m_readMutex);
    sqlite3_close_v2(m_readDb);
    m_readDb = nullptr;
}

void HistoryStore::append(const std::string& engine, const protocol::StatsFrame& frame) {
    if (!isOpen()) {
        return; // not worth packing
    }
    enqueue(FrameItem{engine, std::make_unique<history::PackedFrame>(history::packFrame(frame))});
}

void HistoryStore::append(const std::string& engine, const protocol::EventRecord& event) {
    enqueue(EventItem{engine, event});
}

void HistoryStore::append(const std::string& engine, const protocol::AuditRecord& record) {
    enqueue(AuditItem{engine, record});
}

void HistoryStore::enqueue(Item item) {
    std::lock_guard lock(m_queueMutex);
    if (!m_open) {
        return;
    }
    if (const auto* frame = std::get_if<FrameItem>(&item)) {
        auto& last = m_queuedLastFrame[frame->engine];
        last = std::max(last, frame->frame->timeMs);
    }
    m_queue.push_back(std::move(item));
    while (m_queue.size() > std::max<std::size_t>(1, m_options.queueCapacity)) {
        m_queue.pop_front();
        ++m_dropped;
    }
}

bool HistoryStore::flush() {
    std::unique_lock lock(m_queueMutex);
    if (!m_open) {
        return false;
    }
    const std::uint64_t ticket = ++m_flushRequested;
    m_wake.notify_all();
    m_wake.wait(lock, [&] { return m_flushDone >= ticket; });
    return !std::exchange(m_writeFailed, false);
}

bool HistoryStore::maintain(std::int64_t nowMs) {
    std::unique_lock lock(m_queueMutex);
    m_wake.wait(lock, [&] { return !m_open || !m_maintainAt.has_value(); });
    if (!m_open) {
        return false;
    }
    m_maintainAt = nowMs;
    const std::uint64_t ticket = ++m_maintainRequested;
    m_wake.notify_all();
    m_wake.wait(lock, [&] { return m_maintainDone >= ticket; });
    return m_maintainOk;
}

std::uint64_t HistoryStore::droppedCount() const {
    std::lock_guard lock(m_queueMutex);
    return m_dropped;
}

std::string HistoryStore::lastError() const {
    std::lock_guard lock(m_queueMutex);
    return m_lastError;
}

// Wakes every flush interval, or at once for flush(), maintain() and close(); takes the whole
// queue and commits it in one transaction, then runs maintenance when asked or due.
void HistoryStore::writerLoop() {
    using Clock = std::chrono::steady_clock;
    const auto flushEvery = std::chrono::milliseconds(std::max<std::int64_t>(1, m_options.flushIntervalMs));
    const auto maintainEvery = std::chrono::milliseconds(m_options.maintainIntervalMs);
    auto nextFlush = Clock::now() + flushEvery;
    // The first periodic maintenance comes with the first flush: a console that is seldom open
    // for ten minutes must still apply retention.
    std::optional<Clock::time_point> nextMaintain;
    if (m_options.maintainIntervalMs > 0) {
        nextMaintain = nextFlush;
    }
    std::unique_lock lock(m_queueMutex);
    for (;;) {
        const auto deadline = nextMaintain ? std::min(nextFlush, *nextMaintain) : nextFlush;
        m_wake.wait_until(lock, deadline, [&] {
            return m_stopping || m_flushRequested != m_flushDone || m_maintainAt.has_value();
        });
        const std::uint64_t flushTicket = m_flushRequested;
        const std::optional<std::int64_t> maintainAt = std::exchange(m_maintainAt, std::nullopt);
        const std::uint64_t maintainTicket = m_maintainRequested;
        const bool stopping = m_stopping;
        std::vector<Item> batch(std::make_move_iterator(m_queue.begin()),
                                std::make_move_iterator(m_queue.end()));
        m_queue.clear();
        lock.unlock();

        std::string writeError;
        const bool written = batch.empty() || writeBatch(batch, writeError);
        std::string maintainError;
        bool maintained = true;
        const auto now = Clock::now();
        if (maintainAt) {
            maintained = runMaintenance(*maintainAt, maintainError);
        } else if (nextMaintain && now >= *nextMaintain && !stopping) {
            maintained = runMaintenance(m_options.clock ? m_options.clock() : systemNowMs(), maintainError);
            nextMaintain = now + maintainEvery;
        }

        lock.lock();
        if (!written) {
            m_dropped += batch.size();
            m_lastError = writeError;
            m_writeFailed = true;
        }
        if (!maintained) {
            m_lastError = maintainError;
        }
        m_flushDone = flushTicket;
        if (maintainAt) {
            m_maintainOk = maintained;
            m_maintainDone = maintainTicket;
        }
        m_wake.notify_all();
        if (stopping) {
            return;
        }
        if (now >= nextFlush) {
            nextFlush = now + flushEvery;
        }
    }
}

bool HistoryStore::writeBatch(std::vector<Item>& batch, std::string& error) {
    if (!sqlite::exec(m_writeDb, "BEGIN IMMEDIATE", &error)) {
        error = "history database " + m_options.path + ": writing failed (" + error + ")";
        return false;
    }
    auto& w = *m_writer;
    bool ok = true;
    for (const auto& item : batch) {
        if (const auto* frame = std::get_if<FrameItem>(&item)) {
            ok = writeFrame(*frame, error);
        } else if (const auto* event = std::get_if<EventItem>(&item)) {
            const auto& e = event->event;
            const std::int64_t engine = engineId(event->engine, error);
            ok = engine >= 0;
            if (ok) {
                const auto data = e.data.empty()
                                      ? std::string()
                                      : e.data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
                w.insertEvent.bind(1, engine).bind(2, e.timeMs).bind(3, e.sequence).bind(4, e.kind);
                w.insertEvent.bind(5, e.pool)
                    .bind(6, e.instance)
                    .bind(7, e.from)
                    .bind(8, e.to)
                    .bind(9, e.detail);
                if (data.empty()) {
                    w.insertEvent.bindNull(10);
                } else {
                    w.insertEvent.bind(10, data);
                }
                ok = w.insertEvent.run();
            }
        } else if (const auto* audit = std::get_if<AuditItem>(&item)) {
            const auto& r = audit->record;
            const std::int64_t engine = engineId(audit->engine, error);
            ok = engine >= 0;
            if (ok) {
                w.insertAudit.bind(1, engine).bind(2, r.timeMs).bind(3, r.version).bind(4, r.client);
                w.insertAudit.bind(5, r.summary)
                    .bind(6, r.diff.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
                ok = w.insertAudit.run();
            }
        }
        if (!ok) {
            break;
        }
    }
    ok = ok && rerollDirtyMinutes();
    if (ok && sqlite::exec(m_writeDb, "COMMIT", &error)) {
        return true;
    }
    w.dirtySeries.clear();
    w.dirtyEngines.clear();
    error = "history database " + m_options.path + ": writing failed (" + sqlite3_errmsg(m_writeDb) + ")";
    sqlite::exec(m_writeDb, "ROLLBACK");
    forgetIds(); // ids inserted by the rolled-back transaction are gone
    return false;
}

void HistoryStore::forgetIds() {
    m_writer->engines.clear();
    m_writer->series.clear();
}

bool HistoryStore::writeFrame(const FrameItem& item, std::string& error) {
    const auto& frame = *item.frame;
    auto& w = *m_writer;
    if (frame.timeMs <= w.marks.rawDeletedToMs) {
        return true; // its minute's seconds are gone: its rollup stands, this would count twice
    }
    const bool rolled = frame.timeMs <= w.marks.rolledUpToMs;
    const std::int64_t minute = history::rollupEnd(frame.timeMs);
    const std::int64_t engine = engineId(item.engine, error);
    if (engine < 0) {
        return false;
    }
    if (rolled) {
        w.dirtyEngines.emplace(engine, minute);
    }
    w.insertEngineRow.bind(1, engine).bind(2, frame.timeMs).bind(3, frame.intervalMs);
    w.insertEngineRow.bind(4, frame.configVersion).bind(5, frame.activeConnections);
    if (!w.insertEngineRow.run()) {
        return false;
    }
    for (const auto& sample : frame.samples) {
        const std::int64_t series = seriesId(engine, sample.scope, sample.name, error);
        if (series < 0) {
            return false;
        }
        if (rolled) {
            w.dirtySeries.emplace(series, minute);
        }
        w.insertSample.bind(1, series).bind(2, frame.timeMs);
        history::bindSample(w.insertSample, 3, sample);
        if (!w.insertSample.run()) {
            return false;
        }
    }
    return true;
}

std::int64_t HistoryStore::engineId(const std::string& engine, std::string& error) {
    auto& w = *m_writer;
    if (const auto found = w.engines.find(engine); found != w.engines.end()) {
        return found->second;
    }
    w.upsertEngine.bind(1, engine);
    const std::int64_t id = w.upsertEngine.step() == SQLITE_ROW ? w.upsertEngine.int64(0) : -1;
    if (id < 0) {
        error = w.upsertEngine.error();
    }
    w.upsertEngine.reset();
    if (id >= 0) {
        w.engines.emplace(engine, id);
    }
    return id;
}

std::int64_t HistoryStore::seriesId(std::int64_t engine, Scope scope, const std::string& name,
                                    std::string& error) {
    auto& w = *m_writer;
    auto key = std::make_tuple(engine, static_cast<int>(scope), name);
    if (const auto found = w.series.find(key); found != w.series.end()) {
        return found->second;
    }
    w.upsertSeries.bind(1, engine).bind(2, static_cast<int>(scope)).bind(3, name);
    const std::int64_t id = w.upsertSeries.step() == SQLITE_ROW ? w.upsertSeries.int64(0) : -1;
    if (id < 0) {
        error = w.upsertSeries.error();
    }
    w.upsertSeries.reset();
    if (id >= 0) {
        w.series.emplace(std::move(key), id);
    }
    return id;
}

} // namespace gaetwae::console

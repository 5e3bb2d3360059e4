#pragma once

#include "gui/storage/history_types.hpp"

#include "shared/protocol/admin_messages.hpp"
#include "shared/protocol/histogram.hpp"
#include "shared/protocol/stats.hpp"

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

struct sqlite3;

namespace gaetwae::console {

namespace history {
struct PackedFrame;
}

// The console's history of engine stats frames, events and audit records in one SQLite file.
//
// Writes: append() only queues (thread-safe, never blocks on I/O); ONE writer thread owns the
// write connection and commits everything queued in ONE transaction per flush interval (WAL,
// synchronous=NORMAL). Frames re-sent after a reconnect replace their earlier copy.
// Reads: any thread; they share one read connection behind a mutex, so they never wait for the
// writer (WAL readers see the last committed flush).
// Rollups and retention (maintain()): each minute is also rolled up into one row (counts and
// intervals summed, histograms merged, activeRequests/activeConnections = MAX, instance state and
// configVersion = LAST) once it is 10 s old; a frame arriving later re-rolls its minute. Seconds
// are kept rawRetentionMs, rollups rollupRetentionMs; frames older than the kept seconds are
// ignored. A second at time t belongs to the minute ending at ceil(t / 60 s) * 60 s.
// Reads take each minute from exactly ONE of the two tables, so nothing counts twice: kept
// seconds where the range cuts a minute, rollups for whole minutes (60x fewer rows) and for
// minutes whose seconds are gone, which count whole when the range overlaps them.
// Failure: open() reports a one-line reason and the console goes on without history; a store
// that is not open accepts appends and answers reads with nothing.
class HistoryStore {
public:
    struct Options {
        std::string path;
        std::int64_t flushIntervalMs = 1000;
        std::int64_t maintainIntervalMs = 10 * 60'000; // the writer's own maintain(); 0: never
        std::int64_t rawRetentionMs = 7LL * 24 * 3600'000;
        std::int64_t rollupRetentionMs = 90LL * 24 * 3600'000; // at least rawRetentionMs
        std::int64_t eventRetentionMs = 90LL * 24 * 3600'000;  // events and audit records
        std::size_t queueCapacity = 100'000;                   // items (a frame, an event or a record each)
        int busyTimeoutMs = 2000;
        std::function<std::int64_t()> clock; // epoch ms for periodic maintenance; system clock if empty
    };

    explicit HistoryStore(Options options);
    ~HistoryStore(); // flushes what is queued, stops the writer, closes
    HistoryStore(const HistoryStore&) = delete;
    HistoryStore& operator=(const HistoryStore&) = delete;

    // Opens or creates the file (and its folder), migrates an older schema and starts the
    // writer. False with e.g. "history database /x/h.db is locked by another program" when the
    // file is corrupt, locked, unwritable or from a newer console.
    bool open(std::string* error = nullptr);
    bool isOpen() const;
    void close(); // as the destructor; the store can be opened again. open/close: one thread.
    const std::string& path() const { return m_options.path; }

    // ---- writes (thread-safe, non-blocking). Beyond queueCapacity the oldest item is dropped.
    void append(const std::string& engine, const protocol::StatsFrame& frame);
    void append(const std::string& engine, const protocol::EventRecord& event);
    void append(const std::string& engine, const protocol::AuditRecord& record);
    // Blocks until everything appended before the call is committed; false if a write failed
    // since the previous flush() (see lastError()).
    bool flush();
    // Flushes, then rolls up the minutes ended by nowMs - 10 s and deletes what is past its
    // retention at nowMs; runs on the writer thread (which also runs it every
    // maintainIntervalMs with Options::clock), blocks until done.
    bool maintain(std::int64_t nowMs);
    std::uint64_t droppedCount() const; // items lost to the queue cap or to a failed write
    std::string lastError() const;      // of the last failed write or maintenance, "" if none

    // ---- reads (thread-safe). Ranges [fromMs, toMs] are inclusive. stepMs > 0 folds points into
    // buckets (E - stepMs, E] with E a multiple of stepMs, each point timed at E; steps that are
    // whole minutes read rollups. stepMs = 0: one point per kept second or stored minute.
    std::vector<SeriesPoint> series(const std::string& engine, Scope scope, const std::string& name,
                                    std::int64_t fromMs, std::int64_t toMs, std::int64_t stepMs = 0) const;
    std::vector<EnginePoint> engineSeries(const std::string& engine, std::int64_t fromMs, std::int64_t toMs,
                                          std::int64_t stepMs = 0) const;
    // The range's histograms merged: its percentiles are exact (at bucket resolution) for the
    // range, to the second where seconds are kept.
    protocol::LatencyHistogram latency(const std::string& engine, Scope scope, const std::string& name,
                                       std::int64_t fromMs, std::int64_t toMs,
                                       HistogramKind kind = HistogramKind::Latency) const;
    // The newest `limit` events of the range (of the given kinds, all when empty), oldest first.
    std::vector<protocol::EventRecord> events(const std::string& engine, std::int64_t fromMs,
                                              std::int64_t toMs, const std::vector<std::string>& kinds = {},
                                              std::size_t limit = 10'000) const;
    std::vector<protocol::AuditRecord> audit(const std::string& engine, std::int64_t fromMs,
                                             std::int64_t toMs) const; // oldest first
    std::vector<std::string> engines() const;
    std::vector<std::string> names(const std::string& engine, Scope scope) const;
    std::optional<TimeRange> timeRange(const std::string& engine) const; // of stored frames
    // The newest frame time stored or queued: where a backfill after reconnect starts.
    std::optional<std::int64_t> lastFrameTime(const std::string& engine) const;
    // Writes a header row and one row per point (stepMs as in series()) with p50/p95/p99 in ms
    // from that point's histograms; written to a temporary file, then renamed into place.
    bool exportCsv(const std::string& engine, Scope scope, const std::string& name, std::int64_t fromMs,
                   std::int64_t toMs, const std::string& path, std::string* error = nullptr,
                   std::int64_t stepMs = 0) const;

private:
    struct FrameItem {
        std::string engine;
        std::unique_ptr<history::PackedFrame> frame; // packed by append(): small and cheap to queue
    };
    struct EventItem {
        std::string engine;
        protocol::EventRecord event;
    };
    struct AuditItem {
        std::string engine;
        protocol::AuditRecord record;
    };
    using Item = std::variant<FrameItem, EventItem, AuditItem>;
    struct Writer; // writer-thread state: statements, id caches, watermarks (history_store_writer.hpp)

    void enqueue(Item item);
    void writerLoop();
    // On the writer thread: one transaction for the batch / one for the maintenance.
    bool writeBatch(std::vector<Item>& batch, std::string& error);
    bool runMaintenance(std::int64_t nowMs, std::string& error);
    bool writeFrame(const FrameItem& item, std::string& error);
    bool rerollDirtyMinutes();
    std::int64_t engineId(const std::string& engine, std::string& error);
    std::int64_t seriesId(std::int64_t engine, Scope scope, const std::string& name, std::string& error);
    void forgetIds(); // drops the cached engine and series ids
    void closeConnections();
    // Reads: the caller holds m_readMutex.
    std::optional<std::int64_t> findSeries(const std::string& engine, Scope scope,
                                           const std::string& name) const;
    std::optional<std::int64_t> findEngine(const std::string& engine) const;

    Options m_options;
    sqlite3* m_writeDb = nullptr; // writer thread only, once open() has returned
    std::unique_ptr<Writer> m_writer;

    mutable std::mutex m_readMutex;
    sqlite3* m_readDb = nullptr;

    mutable std::mutex m_queueMutex; // guards everything down to m_thread
    std::condition_variable m_wake;  // writer: work to do; flush/maintain callers: work done
    bool m_open = false;
    bool m_stopping = false;
    std::deque<Item> m_queue;
    std::map<std::string, std::int64_t> m_queuedLastFrame;
    std::uint64_t m_dropped = 0;
    std::uint64_t m_flushRequested = 0; // tickets: a flush waits until done >= its ticket
    std::uint64_t m_flushDone = 0;
    bool m_writeFailed = false;               // since the last flush()
    std::optional<std::int64_t> m_maintainAt; // a maintain() call waiting for the writer
    std::uint64_t m_maintainRequested = 0;
    std::uint64_t m_maintainDone = 0;
    bool m_maintainOk = true;
    std::string m_lastError;
    std::thread m_thread;
};

} // namespace gaetwae::console

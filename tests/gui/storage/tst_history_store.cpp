// HistoryStore: frames, events and audit records round trip exactly; minute rollups and
// retention with an injected "now"; exact percentiles over any range; schema migration;
// clear errors for files it cannot use; duplicates; CSV export; persistence; bounded queue.
#include "gui/storage/history_rollup.hpp"
#include "gui/storage/history_schema.hpp"
#include "gui/storage/history_store.hpp"

#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

#include <sqlite3.h>

#include <atomic>
#include <random>
#include <thread>

using namespace gaetwae;
using namespace gaetwae::console;
using protocol::LatencyHistogram;
using protocol::StatsFrame;
using protocol::TrafficStats;

namespace {

constexpr std::int64_t kSecond = 1000;
constexpr std::int64_t kMinute = 60 * kSecond;
constexpr std::int64_t kDay = 24 * 3600 * kSecond;
constexpr std::int64_t kBase = 28'333'333 * kMinute; // a minute boundary in late 2023
const std::string kEngine = "127.0.0.1:9901";

std::int64_t frameTime(int index) {
    return kBase + index * kSecond;
}

// The latency values of frame `index`, from their own generator: the percentile test records
// them again into its expected histogram without going through the store's merging.
std::vector<std::uint64_t> latencyValues(int index) {
    std::mt19937_64 rng(static_cast<std::uint64_t>(index) * 7919 + 1);
    std::vector<std::uint64_t> values(20 + rng() % 30);
    for (auto& value : values) {
        value = (std::uint64_t{1} << (rng() % 22)) + rng() % 5000;
    }
    return values;
}

TrafficStats traffic(std::mt19937_64& rng, const std::vector<std::uint64_t>& latencies) {
    TrafficStats t;
    t.requests = latencies.size();
    for (auto& count : t.responses) {
        count = rng() % 10;
    }
    if (rng() % 2 == 0) {
        t.errors["upstream_timeout"] = 1 + rng() % 3;
    }
    t.errors["connect_failed"] = rng() % 4;
    t.retries = rng() % 5;
    t.bytesIn = rng() % 100'000;
    t.bytesOut = rng() % 1'000'000 + (std::uint64_t{1} << 63); // counters use all 64 bits
    t.activeRequests = static_cast<std::int64_t>(rng() % 50);
    for (const auto value : latencies) {
        t.latency.record(value);
        t.upstream.record(value / 2);
    }
    return t;
}

StatsFrame makeFrame(int index) {
    std::mt19937_64 rng(static_cast<std::uint64_t>(index));
    StatsFrame frame;
    frame.timeMs = frameTime(index);
    frame.configVersion = 3 + static_cast<std::uint64_t>(index / 50);
    frame.activeConnections = static_cast<std::int64_t>(rng() % 500);
    frame.total = traffic(rng, latencyValues(index));
    frame.routes["api"] = traffic(rng, latencyValues(index + 100'000));
    frame.routes["web, static"] = traffic(rng, {});
    frame.pools["backend"] = traffic(rng, latencyValues(index + 200'000));
    for (const char* id : {"a", "b"}) {
        protocol::InstanceStats instance;
        static_cast<TrafficStats&>(instance) = traffic(rng, latencyValues(index + 300'000));
        instance.pool = "backend";
        instance.id = id;
        instance.weight = static_cast<std::uint32_t>(index % 10);
        instance.state = index % 3 == 0 ? "draining" : "enabled";
        instance.healthy = index % 2 == 0;
        instance.ejected = index % 5 == 0;
        instance.breaker = index % 7 == 0 ? "half_open" : "closed";
        instance.slowStart = 0.5 + index * 0.001;
        instance.latencyEwmaMs = index * 1.25 + 0.1;
        frame.instances.push_back(instance);
    }
    return frame;
}

InstanceState stateOf(const protocol::InstanceStats& instance) {
    return {instance.weight,  instance.state,     instance.healthy,      instance.ejected,
            instance.breaker, instance.slowStart, instance.latencyEwmaMs};
}

QByteArray describe(const LatencyHistogram& histogram) {
    return QByteArray::fromStdString(histogram.toJson().dump());
}

// What the store should return for frames [first, last] folded into one point.
SeriesPoint folded(const std::vector<StatsFrame>& frames, int first, int last, std::int64_t timeMs,
                   const std::function<const TrafficStats&(const StatsFrame&)>& pick) {
    SeriesPoint point;
    point.timeMs = timeMs;
    for (int i = first; i <= last; ++i) {
        const TrafficStats& t = pick(frames[static_cast<std::size_t>(i)]);
        auto& p = point.traffic;
        p.activeRequests = i == first ? t.activeRequests : std::max(p.activeRequests, t.activeRequests);
        point.intervalMs += frames[static_cast<std::size_t>(i)].intervalMs;
        p.requests += t.requests;
        for (std::size_t c = 0; c < 5; ++c) {
            p.responses[c] += t.responses[c];
        }
        for (const auto& [code, count] : t.errors) {
            p.errors[code] += count;
        }
        p.retries += t.retries;
        p.bytesIn += t.bytesIn;
        p.bytesOut += t.bytesOut;
        p.latency.merge(t.latency);
        p.upstream.merge(t.upstream);
    }
    return point;
}

const TrafficStats& totalOf(const StatsFrame& frame) {
    return frame.total;
}
const TrafficStats& apiOf(const StatsFrame& frame) {
    return frame.routes.at("api");
}

std::vector<StatsFrame> framesUpTo(int last) {
    std::vector<StatsFrame> frames(1); // index 0 unused: frame i is at kBase + i s
    for (int i = 1; i <= last; ++i) {
        frames.push_back(makeFrame(i));
    }
    return frames;
}

sqlite3* openRaw(const QString& path) {
    sqlite3* db = nullptr;
    sqlite3_open(path.toUtf8().constData(), &db);
    return db;
}

} // namespace

class TestHistoryStore : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_dir;

    HistoryStore::Options options(const QString& file = "history.db") const {
        HistoryStore::Options o;
        o.path = m_dir.filePath(file).toStdString();
        o.maintainIntervalMs = 0; // tests call maintain() with their own "now"
        o.busyTimeoutMs = 50;
        return o;
    }

    static std::int64_t rowCount(const std::string& path, const char* table) {
        sqlite3* db = openRaw(QString::fromStdString(path));
        sqlite::Statement count(db, std::string("SELECT count(*) FROM ") + table);
        const std::int64_t n = count.ok() && count.step() == SQLITE_ROW ? count.int64(0) : -1;
        count = {};
        sqlite3_close(db);
        return n;
    }

private slots:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    void histogramBlob_data();
    void histogramBlob();
    void migrationSteps();
    void planRead_data();
    void planRead();
    void framesRoundTrip();
    void eventsAndAudit();
    void duplicateFramesAreNotDuplicated();
    void seriesSteps();
    void rollupAndRetention();
    void exactPercentiles_data();
    void exactPercentiles();
    void migratesVersion1Database();
    void openFailures_data();
    void openFailures();
    void lockedFile_data();
    void lockedFile();
    void csvExport();
    void persistsAcrossReopen();
    void queueCapDropsOldest();
    void writerFlushesAndMaintainsOnItsOwn();
    void readsWhileWriting();
};

void TestHistoryStore::histogramBlob_data() {
    QTest::addColumn<QVector<quint64>>("values");
    QTest::addColumn<quint64>("repeat");
    QTest::newRow("empty") << QVector<quint64>{} << quint64{1};
    QTest::newRow("one value") << QVector<quint64>{1500} << quint64{1};
    QTest::newRow("exact buckets") << QVector<quint64>{0, 1, 2, 3, 7, 15} << quint64{3};
    auto spread = latencyValues(7);
    QTest::newRow("spread") << QVector<quint64>(spread.begin(), spread.end()) << quint64{1};
    QTest::newRow("overflow bucket") << QVector<quint64>{std::uint64_t{1} << 40, 5} << quint64{2};
    QTest::newRow("huge counts") << QVector<quint64>{100, 90'000} << (quint64{1} << 40);
}

void TestHistoryStore::histogramBlob() {
    QFETCH(QVector<quint64>, values);
    QFETCH(quint64, repeat);
    LatencyHistogram histogram;
    for (const auto value : values) {
        histogram.record(value, repeat);
    }
    const std::string blob = history::encodeHistogram(histogram);
    QCOMPARE(blob.empty(), histogram.empty());
    LatencyHistogram decoded;
    decoded.record(1); // decoding replaces, it does not add
    QVERIFY(history::decodeHistogram(blob, decoded));
    QVERIFY2(decoded == histogram, describe(decoded));
    if (!blob.empty()) {
        QVERIFY(!history::decodeHistogram(blob.substr(0, blob.size() - 1), decoded));
        QVERIFY(!history::decodeHistogram("\x02" + blob.substr(1), decoded));
        QVERIFY(!history::decodeHistogram(blob + '\x01', decoded));
    }
}

void TestHistoryStore::migrationSteps() {
    const auto steps = history::migrationSteps();
    QCOMPARE(static_cast<int>(steps.size()), history::kSchemaVersion);
    for (std::size_t i = 0; i < steps.size(); ++i) {
        QCOMPARE(steps[i].version, static_cast<int>(i) + 1);
        QVERIFY(!steps[i].description.empty());
    }
    sqlite3* db = openRaw(m_dir.filePath("steps.db"));
    std::string error;
    QCOMPARE(history::userVersion(db), 0);
    QVERIFY2(history::migrateTo(db, 1, &error), error.c_str());
    QCOMPARE(history::userVersion(db), 1);
    QVERIFY2(history::migrateTo(db, history::kSchemaVersion, &error), error.c_str());
    QCOMPARE(history::userVersion(db), history::kSchemaVersion);
    QVERIFY(!history::migrateTo(db, 1, &error)); // never down
    QVERIFY(error.find("newer") != std::string::npos);
    QVERIFY(!history::migrateTo(db, history::kSchemaVersion + 1, &error));
    sqlite3_close(db);
}

Q_DECLARE_METATYPE(std::vector<history::ReadRange>)

void TestHistoryStore::planRead_data() {
    using history::ReadRange;
    constexpr std::int64_t M = kMinute;
    QTest::addColumn<qint64>("rolledUpTo");
    QTest::addColumn<qint64>("rawDeletedTo");
    QTest::addColumn<qint64>("fromMs");
    QTest::addColumn<qint64>("toMs");
    QTest::addColumn<bool>("wholeMinutes");
    QTest::addColumn<std::vector<ReadRange>>("plan");
    QTest::newRow("nothing rolled up") << qint64(0) << qint64(0) << qint64(10 * M + 5000) << qint64(20 * M)
                                       << true << std::vector<ReadRange>{{false, 10 * M + 5000, 20 * M}};
    QTest::newRow("steps of seconds") << qint64(30 * M) << qint64(0) << qint64(10 * M) << qint64(20 * M)
                                      << false << std::vector<ReadRange>{{false, 10 * M, 20 * M}};
    // t = 10 min is the last second of the minute ending then: not a whole minute of the range.
    QTest::newRow("whole minutes") << qint64(30 * M) << qint64(0) << qint64(10 * M) << qint64(20 * M) << true
                                   << std::vector<ReadRange>{{false, 10 * M, 10 * M}, {true, 11 * M, 20 * M}};
    QTest::newRow("minutes cut at both ends")
        << qint64(30 * M) << qint64(0) << qint64(10 * M + 500) << qint64(20 * M + 500) << true
        << std::vector<ReadRange>{
               {false, 10 * M + 500, 11 * M}, {true, 12 * M, 20 * M}, {false, 20 * M + 1, 20 * M + 500}};
    QTest::newRow("rollups end before the range")
        << qint64(15 * M) << qint64(0) << qint64(10 * M) << qint64(20 * M) << true
        << std::vector<ReadRange>{
               {false, 10 * M, 10 * M}, {true, 11 * M, 15 * M}, {false, 15 * M + 1, 20 * M}};
    QTest::newRow("seconds gone") << qint64(30 * M) << qint64(12 * M) << qint64(10 * M + 500)
                                  << qint64(20 * M) << true
                                  << std::vector<ReadRange>{{true, 11 * M, 12 * M}, {true, 13 * M, 20 * M}};
    QTest::newRow("seconds gone, steps of seconds")
        << qint64(30 * M) << qint64(12 * M) << qint64(10 * M + 500) << qint64(20 * M) << false
        << std::vector<ReadRange>{{true, 11 * M, 12 * M}, {false, 12 * M + 1, 20 * M}};
    QTest::newRow("an old minute overlapped by one ms")
        << qint64(30 * M) << qint64(12 * M) << qint64(5 * M) << qint64(11 * M + 1) << false
        << std::vector<ReadRange>{{true, 5 * M, 12 * M}};
    QTest::newRow("empty range") << qint64(30 * M) << qint64(12 * M) << qint64(20 * M) << qint64(10 * M)
                                 << true << std::vector<ReadRange>{};
}

void TestHistoryStore::planRead() {
    QFETCH(qint64, rolledUpTo);
    QFETCH(qint64, rawDeletedTo);
    QFETCH(qint64, fromMs);
    QFETCH(qint64, toMs);
    QFETCH(bool, wholeMinutes);
    QFETCH(std::vector<history::ReadRange>, plan);
    const auto actual = history::planRead(fromMs, toMs, wholeMinutes, {rolledUpTo, rawDeletedTo});
    QString text;
    for (const auto& range : actual) {
        text += QString("%1 %2..%3; ").arg(range.rollup ? "rollup" : "raw").arg(range.fromMs).arg(range.toMs);
    }
    QVERIFY2(actual == plan, qPrintable(text));
}

void TestHistoryStore::framesRoundTrip() {
    HistoryStore store(options("roundtrip.db"));
    std::string error;
    QVERIFY2(store.open(&error), error.c_str());
    QVERIFY(store.isOpen());
    const auto frames = framesUpTo(3);
    for (int i = 1; i <= 3; ++i) {
        store.append(kEngine, frames[static_cast<std::size_t>(i)]);
    }
    auto other = makeFrame(2);
    other.routes.clear();
    store.append("10.0.0.2:9901", other);
    QVERIFY(store.flush());
    QCOMPARE(store.lastError(), std::string());

    struct Case {
        Scope scope;
        std::string name;
        std::function<const TrafficStats&(const StatsFrame&)> pick;
        int instance; // index into frame.instances, -1 for none
    };
    const std::vector<Case> cases = {
        {Scope::Total, "", totalOf, -1},
        {Scope::Route, "api", apiOf, -1},
        {Scope::Route, "web, static",
         [](const StatsFrame& f) -> const TrafficStats& { return f.routes.at("web, static"); }, -1},
        {Scope::Pool, "backend",
         [](const StatsFrame& f) -> const TrafficStats& { return f.pools.at("backend"); }, -1},
        {Scope::Instance, "backend/a",
         [](const StatsFrame& f) -> const TrafficStats& { return f.instances[0]; }, 0},
        {Scope::Instance, "backend/b",
         [](const StatsFrame& f) -> const TrafficStats& { return f.instances[1]; }, 1},
    };
    for (const auto& c : cases) {
        const auto points = store.series(kEngine, c.scope, c.name, frameTime(1), frameTime(3));
        QCOMPARE(points.size(), std::size_t{3});
        for (int i = 1; i <= 3; ++i) {
            const auto& frame = frames[static_cast<std::size_t>(i)];
            const auto& point = points[static_cast<std::size_t>(i - 1)];
            QCOMPARE(point.timeMs, frame.timeMs);
            QCOMPARE(point.intervalMs, frame.intervalMs);
            QVERIFY2(point.traffic == c.pick(frame), c.name.c_str());
            QVERIFY2(point.traffic.latency == c.pick(frame).latency, describe(point.traffic.latency));
            const InstanceState expected =
                c.instance < 0 ? InstanceState{}
                               : stateOf(frame.instances[static_cast<std::size_t>(c.instance)]);
            QVERIFY2(point.instance == expected, c.name.c_str());
        }
    }
    // Inclusive bounds; another engine's rows stay apart.
    QCOMPARE(store.series(kEngine, Scope::Total, "", frameTime(2), frameTime(2)).size(), std::size_t{1});
    QCOMPARE(store.series("10.0.0.2:9901", Scope::Total, "", 0, frameTime(9)).size(), std::size_t{1});
    QVERIFY(store.series("nobody", Scope::Total, "", 0, frameTime(9)).empty());
    QVERIFY(store.series(kEngine, Scope::Route, "nothing", 0, frameTime(9)).empty());

    const auto engine = store.engineSeries(kEngine, 0, frameTime(9));
    QCOMPARE(engine.size(), std::size_t{3});
    for (int i = 1; i <= 3; ++i) {
        const auto& frame = frames[static_cast<std::size_t>(i)];
        const EnginePoint expected{frame.timeMs, frame.intervalMs, frame.activeConnections,
                                   frame.configVersion};
        QVERIFY(engine[static_cast<std::size_t>(i - 1)] == expected);
    }
    QCOMPARE(store.engines(), (std::vector<std::string>{"10.0.0.2:9901", kEngine}));
    QCOMPARE(store.names(kEngine, Scope::Route), (std::vector<std::string>{"api", "web, static"}));
    QCOMPARE(store.names(kEngine, Scope::Instance), (std::vector<std::string>{"backend/a", "backend/b"}));
    QCOMPARE(store.names(kEngine, Scope::Total), (std::vector<std::string>{""}));
    QVERIFY(store.names("10.0.0.2:9901", Scope::Route).empty());
    QVERIFY(store.timeRange(kEngine) == (TimeRange{frameTime(1), frameTime(3)}));
    QCOMPARE(store.lastFrameTime(kEngine), std::optional<std::int64_t>(frameTime(3)));
    QCOMPARE(store.lastFrameTime("nobody"), std::optional<std::int64_t>());
    QVERIFY(!store.timeRange("nobody"));
}

void TestHistoryStore::eventsAndAudit() {
    HistoryStore store(options("events.db"));
    QVERIFY(store.open());
    std::vector<protocol::EventRecord> events;
    for (int i = 1; i <= 6; ++i) {
        protocol::EventRecord e;
        e.kind = i % 2 == 0 ? "health" : "breaker";
        e.sequence = static_cast<std::uint64_t>(i);
        e.timeMs = frameTime(i);
        e.pool = "backend";
        e.instance = i % 3 == 0 ? "b" : "a";
        e.from = "closed";
        e.to = "open";
        e.detail = "5 consecutive failures, \"quoted\"";
        if (i == 2) {
            e.data = {{"failures", 5}, {"nested", {{"x", {1, 2}}}}};
        }
        events.push_back(e);
        store.append(kEngine, e);
    }
    protocol::AuditRecord record;
    record.version = 7;
    record.timeMs = frameTime(3);
    record.client = "admin 127.0.0.1:51234";
    record.summary = "pool.put backend; instance.setWeight backend/a 3";
    record.diff =
        nlohmann::json::parse(R"([{"op":"replace","path":"/pools/0/instances/0/weight","value":3}])");
    store.append(kEngine, record);
    QVERIFY(store.flush());

    QVERIFY(store.events(kEngine, 0, frameTime(99)) == events);
    const auto health = store.events(kEngine, 0, frameTime(99), {"health"});
    QCOMPARE(health.size(), std::size_t{3});
    QVERIFY(health[0] == events[1] && health[2] == events[5]);
    const auto newest = store.events(kEngine, 0, frameTime(99), {"health", "breaker"}, 2);
    QCOMPARE(newest.size(), std::size_t{2});
    QVERIFY(newest[0] == events[4] && newest[1] == events[5]); // the newest two, oldest first
    QCOMPARE(store.events(kEngine, frameTime(2), frameTime(3)).size(), std::size_t{2});
    QVERIFY(store.events(kEngine, 0, frameTime(99), {"config"}).empty());

    const auto records = store.audit(kEngine, 0, frameTime(99));
    QCOMPARE(records.size(), std::size_t{1});
    QVERIFY(records[0] == record);
    QVERIFY(store.audit(kEngine, frameTime(4), frameTime(99)).empty());
}

void TestHistoryStore::duplicateFramesAreNotDuplicated() {
    const auto o = options("duplicates.db");
    HistoryStore store(o);
    QVERIFY(store.open());
    const auto frame = makeFrame(1);
    protocol::EventRecord event;
    event.kind = "health";
    event.sequence = 1;
    event.timeMs = frameTime(1);
    store.append(kEngine, frame);
    store.append(kEngine, frame); // the same batch
    store.append(kEngine, event);
    QVERIFY(store.flush());
    store.append(kEngine, frame); // a later batch: a backfill after reconnect
    store.append(kEngine, event);
    QVERIFY(store.flush());

    const auto points = store.series(kEngine, Scope::Total, "", 0, frameTime(9));
    QCOMPARE(points.size(), std::size_t{1});
    QVERIFY(points[0].traffic == frame.total);
    QVERIFY(store.latency(kEngine, Scope::Total, "", 0, frameTime(9)) == frame.total.latency);
    QCOMPARE(store.events(kEngine, 0, frameTime(9)).size(), std::size_t{1});
    QCOMPARE(rowCount(o.path, "samples_1s"), std::int64_t{6}); // total, 2 routes, 1 pool, 2 instances
    QCOMPARE(rowCount(o.path, "engine_1s"), std::int64_t{1});
}

void TestHistoryStore::seriesSteps() {
    HistoryStore store(options("steps-read.db"));
    QVERIFY(store.open());
    const auto frames = framesUpTo(120);
    for (int i = 1; i <= 120; ++i) {
        store.append(kEngine, frames[static_cast<std::size_t>(i)]);
    }
    QVERIFY(store.flush());

    const auto points = store.series(kEngine, Scope::Route, "api", kBase, kBase + 2 * kMinute, 10 * kSecond);
    QCOMPARE(points.size(), std::size_t{12});
    for (int k = 1; k <= 12; ++k) {
        const auto expected = folded(frames, 10 * (k - 1) + 1, 10 * k, kBase + k * 10 * kSecond, apiOf);
        QVERIFY2(points[static_cast<std::size_t>(k - 1)] == expected, qPrintable(QString::number(k)));
    }
    // Instance state: the last of the step. Gauges: the max.
    const auto instance =
        store.series(kEngine, Scope::Instance, "backend/b", kBase, kBase + 2 * kMinute, kMinute);
    QCOMPARE(instance.size(), std::size_t{2});
    QVERIFY(instance[0].instance == stateOf(frames[60].instances[1]));
    QVERIFY(instance[1].instance == stateOf(frames[120].instances[1]));
    QCOMPARE(instance[1].intervalMs, kMinute);
    const auto engine = store.engineSeries(kEngine, kBase, kBase + 2 * kMinute, kMinute);
    QCOMPARE(engine.size(), std::size_t{2});
    std::int64_t maxConnections = 0;
    for (int i = 1; i <= 60; ++i) {
        maxConnections = std::max(maxConnections, frames[static_cast<std::size_t>(i)].activeConnections);
    }
    QVERIFY(engine[0] == (EnginePoint{kBase + kMinute, kMinute, maxConnections, frames[60].configVersion}));

    // Once the minutes are rolled up (seconds kept), every read gives the same answers.
    const auto minutes = store.series(kEngine, Scope::Route, "api", kBase, kBase + 2 * kMinute, kMinute);
    const auto latency = store.latency(kEngine, Scope::Route, "api", kBase, kBase + 2 * kMinute);
    QVERIFY(store.maintain(kBase + 5 * kMinute));
    QCOMPARE(rowCount(store.path(), "samples_1m"), std::int64_t{2 * 6});
    QCOMPARE(rowCount(store.path(), "samples_1s"), std::int64_t{120 * 6});
    QVERIFY(store.series(kEngine, Scope::Route, "api", kBase, kBase + 2 * kMinute, 10 * kSecond) == points);
    QVERIFY(store.series(kEngine, Scope::Route, "api", kBase, kBase + 2 * kMinute, kMinute) == minutes);
    QVERIFY(store.series(kEngine, Scope::Instance, "backend/b", kBase, kBase + 2 * kMinute, kMinute) ==
            instance);
    QVERIFY(store.engineSeries(kEngine, kBase, kBase + 2 * kMinute, kMinute) == engine);
    QVERIFY(store.latency(kEngine, Scope::Route, "api", kBase, kBase + 2 * kMinute) == latency);
    QCOMPARE(store.series(kEngine, Scope::Route, "api", kBase, kBase + 2 * kMinute).size(), std::size_t{120});
}

void TestHistoryStore::rollupAndRetention() {
    const auto o = options("rollup.db");
    auto store = std::make_unique<HistoryStore>(o);
    QVERIFY(store->open());
    auto frames = framesUpTo(120);
    for (int i = 1; i <= 120; ++i) {
        store->append(kEngine, frames[static_cast<std::size_t>(i)]);
    }
    protocol::EventRecord event;
    event.kind = "config";
    event.timeMs = frameTime(1);
    store->append(kEngine, event);
    QVERIFY(store->flush());
    const auto minutes = store->series(kEngine, Scope::Total, "", kBase, kBase + 2 * kMinute, kMinute);
    QCOMPARE(minutes.size(), std::size_t{2});
    QVERIFY(minutes[0] == folded(frames, 1, 60, kBase + kMinute, totalOf));
    QVERIFY(minutes[1] == folded(frames, 61, 120, kBase + 2 * kMinute, totalOf));

    // Seven days and half a minute after the first minute: both minutes are rolled up, and the
    // seconds of the first are gone.
    QVERIFY(store->maintain(kBase + kMinute + 7 * kDay + 30 * kSecond));
    QCOMPARE(rowCount(o.path, "samples_1s"), std::int64_t{60 * 6});
    QCOMPARE(rowCount(o.path, "samples_1m"), std::int64_t{2 * 6});
    QCOMPARE(rowCount(o.path, "engine_1s"), std::int64_t{60});
    QCOMPARE(rowCount(o.path, "engine_1m"), std::int64_t{2});
    const auto total = store->series(kEngine, Scope::Total, "", kBase, kBase + 2 * kMinute);
    QCOMPARE(total.size(), std::size_t{61});
    QVERIFY(total[0] == folded(frames, 1, 60, kBase + kMinute, totalOf));
    QCOMPARE(total[0].intervalMs, kMinute);
    QCOMPARE(total[1].timeMs, frameTime(61));
    QVERIFY(total[1].traffic == frames[61].total);
    // Whole-minute steps now read the rollups: the same numbers.
    QVERIFY(store->series(kEngine, Scope::Total, "", kBase, kBase + 2 * kMinute, kMinute) == minutes);
    const auto instance = store->series(kEngine, Scope::Instance, "backend/a", kBase, kBase + kMinute);
    QCOMPARE(instance.size(), std::size_t{1});
    QVERIFY(instance[0].instance == stateOf(frames[60].instances[0])); // state: the last
    const auto engine = store->engineSeries(kEngine, kBase, kBase + kMinute);
    QCOMPARE(engine.size(), std::size_t{1});
    QCOMPARE(engine[0].configVersion, frames[60].configVersion);
    QVERIFY(store->timeRange(kEngine) == (TimeRange{kBase + kMinute, frameTime(120)}));

    // A frame of a minute whose seconds are gone, sent again, is ignored: nothing counts twice,
    // also after a reopen.
    const auto before = store->latency(kEngine, Scope::Total, "", kBase, kBase + 2 * kMinute);
    store->append(kEngine, frames[30]);
    QVERIFY(store->flush());
    store = std::make_unique<HistoryStore>(o);
    QVERIFY(store->open());
    store->append(kEngine, frames[31]);
    QVERIFY(store->flush());
    QCOMPARE(rowCount(o.path, "samples_1s"), std::int64_t{60 * 6});
    QVERIFY(store->latency(kEngine, Scope::Total, "", kBase, kBase + 2 * kMinute) == before);
    QVERIFY(store->maintain(kBase + kMinute + 7 * kDay + 30 * kSecond)); // again: a no-op
    QVERIFY(store->series(kEngine, Scope::Total, "", kBase, kBase + 2 * kMinute) == total);

    // A changed frame of a rolled-up minute whose seconds are kept rewrites that rollup.
    auto changed = makeFrame(5);
    changed.timeMs = frameTime(90);
    frames[90] = changed;
    store->append(kEngine, changed);
    QVERIFY(store->flush());
    QVERIFY(store->series(kEngine, Scope::Total, "", kBase, kBase + 2 * kMinute, kMinute)[1] ==
            folded(frames, 61, 120, kBase + 2 * kMinute, totalOf));
    QVERIFY(store->latency(kEngine, Scope::Total, "", frameTime(61), frameTime(120)) ==
            folded(frames, 61, 120, 0, totalOf).traffic.latency);
    std::int64_t maxConnections = 0;
    for (int i = 61; i <= 120; ++i) {
        maxConnections = std::max(maxConnections, frames[static_cast<std::size_t>(i)].activeConnections);
    }
    QCOMPARE(store->engineSeries(kEngine, frameTime(61), frameTime(120), kMinute)[0].activeConnections,
             maxConnections);

    QVERIFY(store->maintain(kBase + 2 * kMinute + 7 * kDay));
    QCOMPARE(rowCount(o.path, "samples_1s"), std::int64_t{0});
    QCOMPARE(rowCount(o.path, "samples_1m"), std::int64_t{12});
    QVERIFY(store->series(kEngine, Scope::Total, "", kBase, kBase + 2 * kMinute)[1] ==
            folded(frames, 61, 120, kBase + 2 * kMinute, totalOf));

    // Rollups live 90 days; events too.
    QVERIFY(store->maintain(kBase + kMinute + 90 * kDay));
    QCOMPARE(rowCount(o.path, "samples_1m"), std::int64_t{6});
    QCOMPARE(store->series(kEngine, Scope::Total, "", kBase, kBase + 2 * kMinute).size(), std::size_t{1});
    QVERIFY(store->events(kEngine, 0, frameTime(999)).empty());
    QVERIFY(store->maintain(kBase + 2 * kMinute + 90 * kDay));
    QCOMPARE(rowCount(o.path, "samples_1m"), std::int64_t{0});
    QCOMPARE(rowCount(o.path, "engine_1m"), std::int64_t{0});
    QVERIFY(store->engines().empty()); // nothing left refers to it
    QVERIFY(store->names(kEngine, Scope::Route).empty());
    QVERIFY(!store->timeRange(kEngine));

    // The store goes on: new frames are stored.
    auto later = makeFrame(1);
    later.timeMs = kBase + 2 * kMinute + 90 * kDay;
    store->append(kEngine, later);
    QVERIFY(store->flush());
    QCOMPARE(store->series(kEngine, Scope::Total, "", later.timeMs, later.timeMs).size(), std::size_t{1});
    QCOMPARE(store->lastError(), std::string());
}

void TestHistoryStore::exactPercentiles_data() {
    QTest::addColumn<qint64>("fromMs");
    QTest::addColumn<qint64>("toMs");
    QTest::addColumn<int>("first"); // the frames the range covers
    QTest::addColumn<int>("last");
    // After maintenance: minute 1's seconds are gone; minutes 2-4 have seconds and rollups.
    QTest::newRow("seconds only") << qint64(frameTime(65)) << qint64(frameTime(119)) << 65 << 119;
    QTest::newRow("one second") << qint64(frameTime(75)) << qint64(frameTime(75)) << 75 << 75;
    QTest::newRow("rollup without seconds") << qint64(frameTime(1)) << qint64(frameTime(60)) << 1 << 60;
    QTest::newRow("rollup with seconds kept") << qint64(frameTime(61)) << qint64(frameTime(120)) << 61 << 120;
    QTest::newRow("seconds, rollups, seconds")
        << qint64(frameTime(90)) << qint64(frameTime(230)) << 90 << 230;
    QTest::newRow("old rollup then seconds") << qint64(frameTime(1)) << qint64(frameTime(100)) << 1 << 100;
    QTest::newRow("everything") << qint64(kBase - kDay) << qint64(kBase + kDay) << 1 << 240;
    // A minute whose seconds are gone counts whole when the range overlaps it.
    QTest::newRow("part of an old minute") << qint64(frameTime(30)) << qint64(frameTime(70)) << 1 << 70;
}

void TestHistoryStore::exactPercentiles() {
    QFETCH(qint64, fromMs);
    QFETCH(qint64, toMs);
    QFETCH(int, first);
    QFETCH(int, last);
    HistoryStore store(options(QString("percentiles-%1.db").arg(QTest::currentDataTag()).replace(' ', '-')));
    QVERIFY(store.open());
    for (int i = 1; i <= 240; ++i) {
        store.append(kEngine, makeFrame(i));
    }
    QVERIFY(store.maintain(kBase + kMinute + 7 * kDay));

    LatencyHistogram expected;
    LatencyHistogram expectedUpstream;
    for (int i = first; i <= last; ++i) {
        for (const auto value : latencyValues(i)) {
            expected.record(value);
        }
        for (const auto value : latencyValues(i + 100'000)) {
            expectedUpstream.record(value / 2);
        }
    }
    const auto actual = store.latency(kEngine, Scope::Total, "", fromMs, toMs);
    QVERIFY2(actual == expected, describe(actual));
    for (const double q : {0.0, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0}) {
        QCOMPARE(actual.percentile(q), expected.percentile(q));
    }
    const auto upstream = store.latency(kEngine, Scope::Route, "api", fromMs, toMs, HistogramKind::Upstream);
    QVERIFY2(upstream == expectedUpstream, describe(upstream));
    QCOMPARE(upstream.percentile(0.99), expectedUpstream.percentile(0.99));
}

void TestHistoryStore::migratesVersion1Database() {
    const QString path = m_dir.filePath("v1.db");
    const auto frames = framesUpTo(120);
    {
        sqlite3* db = openRaw(path);
        std::string error;
        QVERIFY2(history::migrateTo(db, 1, &error), error.c_str());
        QVERIFY(sqlite::exec(db, "INSERT INTO engines (id, name) VALUES (1, '127.0.0.1:9901');"
                                 "INSERT INTO series (id, engine_id, scope, name) VALUES (1, 1, 0, '');"
                                 "INSERT INTO events VALUES (1, 1699999981000, 1, 'health', 'backend', 'a', "
                                 "'healthy', 'unhealthy', 'timeout', NULL);"));
        {
            sqlite::Statement sample(db, "INSERT INTO samples_1s (series_id, time_ms, " +
                                             std::string(history::kSampleColumns) + ") VALUES (" +
                                             QString("?, ").repeated(22).toStdString() + "?)");
            sqlite::Statement engine(db, "INSERT INTO engine_1s VALUES (1, ?, ?, ?, ?)");
            QVERIFY(sample.ok() && engine.ok());
            for (int i = 1; i <= 120; ++i) {
                const auto& frame = frames[static_cast<std::size_t>(i)];
                sample.bind(1, 1).bind(2, frame.timeMs);
                history::bindSample(sample, 3,
                                    history::packSample(Scope::Total, "", frame.intervalMs, frame.total));
                QVERIFY(sample.run());
                engine.bind(1, frame.timeMs).bind(2, frame.intervalMs).bind(3, frame.configVersion);
                engine.bind(4, frame.activeConnections);
                QVERIFY(engine.run());
            }
        }
        QCOMPARE(history::userVersion(db), 1);
        sqlite3_close(db);
    }

    HistoryStore store(options("v1.db"));
    std::string error;
    QVERIFY2(store.open(&error), error.c_str());
    {
        sqlite3* db = openRaw(path);
        QCOMPARE(history::userVersion(db), history::kSchemaVersion);
        sqlite3_close(db);
    }
    const auto points = store.series(kEngine, Scope::Total, "", kBase, kBase + 2 * kMinute);
    QCOMPARE(points.size(), std::size_t{120});
    QVERIFY(points[41].traffic == frames[42].total);
    QCOMPARE(store.events(kEngine, 0, frameTime(99)).size(), std::size_t{1});
    // Version 2's rollups work on the old rows.
    const auto whole = store.latency(kEngine, Scope::Total, "", kBase, kBase + 2 * kMinute);
    QVERIFY(store.maintain(kBase + kMinute + 7 * kDay));
    const auto rolled = store.series(kEngine, Scope::Total, "", kBase, kBase + 2 * kMinute);
    QCOMPARE(rolled.size(), std::size_t{61});
    QVERIFY(rolled[0] == folded(frames, 1, 60, kBase + kMinute, totalOf));
    QVERIFY(store.latency(kEngine, Scope::Total, "", kBase, kBase + 2 * kMinute) == whole);
    auto next = makeFrame(121);
    store.append(kEngine, next);
    QVERIFY(store.flush());
    QCOMPARE(store.lastFrameTime(kEngine), std::optional<std::int64_t>(frameTime(121)));
    QCOMPARE(store.names(kEngine, Scope::Route), (std::vector<std::string>{"api", "web, static"}));
}

enum class Setup { RandomBytes, NewerSchema, ParentIsFile, PathIsFolder, OtherProgram };

void TestHistoryStore::openFailures_data() {
    QTest::addColumn<QString>("file");
    QTest::addColumn<int>("setup");
    QTest::addColumn<QString>("cause");
    QTest::newRow("random bytes") << "corrupt.db" << int(Setup::RandomBytes)
                                  << "is not a SQLite database (corrupt?)";
    QTest::newRow("newer schema") << "newer.db" << int(Setup::NewerSchema)
                                  << "was written by a newer gaetwae-console (schema version 99";
    QTest::newRow("unwritable path") << "plain-file/history.db" << int(Setup::ParentIsFile)
                                     << "cannot be created";
    QTest::newRow("path is a folder") << "a-folder" << int(Setup::PathIsFolder) << "cannot be opened";
    QTest::newRow("another program's database")
        << "other.db" << int(Setup::OtherProgram) << "is a SQLite database of another program";
}

void TestHistoryStore::openFailures() {
    QFETCH(QString, file);
    QFETCH(int, setup);
    QFETCH(QString, cause);
    switch (static_cast<Setup>(setup)) {
    case Setup::RandomBytes: {
        QFile out(m_dir.filePath(file));
        QVERIFY(out.open(QIODevice::WriteOnly));
        std::mt19937 rng(42);
        QByteArray bytes(8192, Qt::Uninitialized);
        for (auto& byte : bytes) {
            byte = static_cast<char>(rng());
        }
        out.write(bytes);
        break;
    }
    case Setup::NewerSchema: {
        sqlite3* db = openRaw(m_dir.filePath(file));
        QVERIFY(history::migrateTo(db, history::kSchemaVersion));
        QVERIFY(sqlite::exec(db, "PRAGMA user_version = 99; CREATE TABLE from_the_future (x)"));
        sqlite3_close(db);
        break;
    }
    case Setup::ParentIsFile: {
        QFile out(m_dir.filePath("plain-file"));
        QVERIFY(out.open(QIODevice::WriteOnly));
        break;
    }
    case Setup::PathIsFolder:
        QVERIFY(QDir(m_dir.path()).mkpath(file));
        break;
    case Setup::OtherProgram: {
        sqlite3* db = openRaw(m_dir.filePath(file));
        QVERIFY(sqlite::exec(db, "CREATE TABLE contacts (name TEXT)"));
        sqlite3_close(db);
        break;
    }
    }
    const auto before = QFileInfo(m_dir.filePath(file)).size();

    HistoryStore store(options(file));
    std::string error;
    QVERIFY(!store.open(&error));
    const QString message = QString::fromStdString(error);
    QVERIFY2(message.startsWith("history database " + m_dir.filePath(file)), qPrintable(message));
    QVERIFY2(message.contains(cause), qPrintable(message));
    QVERIFY(!message.contains('\n'));
    QVERIFY(!store.isOpen());
    QCOMPARE(QFileInfo(m_dir.filePath(file)).size(), before); // left alone

    // The console goes on without history.
    store.append(kEngine, makeFrame(1));
    QVERIFY(!store.flush());
    QVERIFY(!store.maintain(kBase));
    QVERIFY(store.series(kEngine, Scope::Total, "", 0, kBase).empty());
    QVERIFY(store.engines().empty());
    QVERIFY(!store.lastFrameTime(kEngine));
    QVERIFY(!store.exportCsv(kEngine, Scope::Total, "", 0, kBase, m_dir.filePath("x.csv").toStdString()) ||
            QFile::exists(m_dir.filePath("x.csv")));
}

void TestHistoryStore::lockedFile_data() {
    QTest::addColumn<bool>("existingHistory");
    QTest::newRow("new file, rollback journal") << false;
    QTest::newRow("history database in WAL mode") << true;
}

void TestHistoryStore::lockedFile() {
    QFETCH(bool, existingHistory);
    const QString file = existingHistory ? "locked-history.db" : "locked-new.db";
    const QString path = m_dir.filePath(file);
    if (existingHistory) {
        HistoryStore first(options(file));
        QVERIFY(first.open());
        first.append(kEngine, makeFrame(1));
    }
    // Another program holds the file exclusively.
    sqlite3* holder = openRaw(path);
    QVERIFY(sqlite::exec(holder, existingHistory ? "PRAGMA locking_mode = EXCLUSIVE;"
                                                   "INSERT OR REPLACE INTO meta VALUES ('probe', 1)"
                                                 : "PRAGMA locking_mode = EXCLUSIVE; CREATE TABLE t (x);"
                                                   "INSERT INTO t VALUES (1)"));
    {
        HistoryStore store(options(file));
        std::string error;
        QVERIFY(!store.open(&error));
        QCOMPARE(QString::fromStdString(error), "history database " + path + " is locked by another program");
    }
    sqlite3_close(holder);
    if (existingHistory) {
        HistoryStore store(options(file));
        std::string error;
        QVERIFY2(store.open(&error), error.c_str());
        QCOMPARE(store.series(kEngine, Scope::Total, "", 0, frameTime(9)).size(), std::size_t{1});
    }
}

void TestHistoryStore::csvExport() {
    HistoryStore store(options("csv.db"));
    QVERIFY(store.open());
    const auto frames = framesUpTo(3);
    for (int i = 1; i <= 3; ++i) {
        store.append(kEngine, frames[static_cast<std::size_t>(i)]);
    }
    QVERIFY(store.flush());
    auto readLines = [](const QString& path) {
        QFile in(path);
        return in.open(QIODevice::ReadOnly) ? QString::fromUtf8(in.readAll()).split('\n', Qt::SkipEmptyParts)
                                            : QStringList();
    };
    auto ms = [](std::uint64_t micros) {
        return QString::number(static_cast<double>(micros) / 1000.0, 'f', 3);
    };

    const QString path = m_dir.filePath("api.csv");
    std::string error;
    QVERIFY2(
        store.exportCsv(kEngine, Scope::Route, "api", frameTime(1), frameTime(3), path.toStdString(), &error),
        error.c_str());
    auto lines = readLines(path);
    QCOMPARE(lines.size(), 4);
    QCOMPARE(lines[0], "time_ms,time_utc,interval_ms,requests,responses_1xx,responses_2xx,responses_3xx,"
                       "responses_4xx,responses_5xx,errors,retries,bytes_in,bytes_out,active_requests,"
                       "p50_ms,p95_ms,p99_ms,upstream_p50_ms,upstream_p95_ms,upstream_p99_ms");
    for (int i = 1; i <= 3; ++i) {
        const auto& t = frames[static_cast<std::size_t>(i)].routes.at("api");
        std::uint64_t errors = 0;
        for (const auto& [code, count] : t.errors) {
            errors += count;
        }
        QStringList expected{QString::number(frameTime(i)), QString("2023-11-14T22:13:0%1.000Z").arg(i),
                             "1000", QString::number(t.requests)};
        for (const auto count : t.responses) {
            expected << QString::number(count);
        }
        expected << QString::number(errors) << QString::number(t.retries) << QString::number(t.bytesIn)
                 << QString::number(t.bytesOut) << QString::number(t.activeRequests);
        for (const auto* h : {&t.latency, &t.upstream}) {
            expected << ms(h->percentile(0.5)) << ms(h->percentile(0.95)) << ms(h->percentile(0.99));
        }
        QCOMPARE(lines[i], expected.join(','));
    }

    // Instance series carry their state; a step aggregates; empty histograms leave cells empty.
    QVERIFY(store.exportCsv(kEngine, Scope::Instance, "backend/a", 0, frameTime(9), path.toStdString()));
    lines = readLines(path);
    QVERIFY(lines[0].endsWith(",weight,state,healthy,ejected,breaker"));
    const auto& a3 = frames[3].instances[0];
    QVERIFY2(lines[3].endsWith(QString(",%1,%2,%3,%4,%5")
                                   .arg(a3.weight)
                                   .arg(QString::fromStdString(a3.state))
                                   .arg(a3.healthy ? 1 : 0)
                                   .arg(a3.ejected ? 1 : 0)
                                   .arg(QString::fromStdString(a3.breaker))),
             qPrintable(lines[3]));
    QVERIFY(store.exportCsv(kEngine, Scope::Route, "web, static", 0, frameTime(9), path.toStdString(),
                            nullptr, kMinute));
    lines = readLines(path);
    QCOMPARE(lines.size(), 2);
    QVERIFY2(lines[1].startsWith(QString::number(kBase + kMinute) + ",2023-11-14T22:14:00.000Z,3000,0,"),
             qPrintable(lines[1]));
    QVERIFY2(lines[1].endsWith(",,,,,,"), qPrintable(lines[1]));

    const std::string unwritable = m_dir.filePath("no-such-folder/x.csv").toStdString();
    QVERIFY(!store.exportCsv(kEngine, Scope::Total, "", 0, frameTime(9), unwritable, &error));
    QVERIFY2(error.find(unwritable) != std::string::npos, error.c_str());
}

void TestHistoryStore::persistsAcrossReopen() {
    auto o = options("persist.db");
    o.flushIntervalMs = 3'600'000; // only flush(), close and the destructor write
    const auto frames = framesUpTo(6);
    {
        HistoryStore store(o);
        QVERIFY(store.open());
        for (int i = 1; i <= 5; ++i) {
            store.append(kEngine, frames[static_cast<std::size_t>(i)]);
        }
        // Queued frames count for backfill already.
        QCOMPARE(store.lastFrameTime(kEngine), std::optional<std::int64_t>(frameTime(5)));
    } // the destructor flushes
    HistoryStore store(o);
    QVERIFY(store.open());
    const auto points = store.series(kEngine, Scope::Instance, "backend/b", 0, frameTime(9));
    QCOMPARE(points.size(), std::size_t{5});
    QVERIFY(points[4].instance == stateOf(frames[5].instances[1]));
    QCOMPARE(store.lastFrameTime(kEngine), std::optional<std::int64_t>(frameTime(5)));
    store.append(kEngine, frames[6]);
    store.close();
    QVERIFY(!store.isOpen());
    QVERIFY(store.open());
    QCOMPARE(store.lastFrameTime(kEngine), std::optional<std::int64_t>(frameTime(6)));
    QVERIFY(store.latency(kEngine, Scope::Total, "", frameTime(6), frameTime(6)) == frames[6].total.latency);
}

void TestHistoryStore::queueCapDropsOldest() {
    auto o = options("cap.db");
    o.flushIntervalMs = 3'600'000;
    o.queueCapacity = 5;
    HistoryStore store(o);
    QVERIFY(store.open());
    for (int i = 1; i <= 8; ++i) {
        store.append(kEngine, makeFrame(i));
    }
    QCOMPARE(store.droppedCount(), std::uint64_t{3});
    QVERIFY(store.flush());
    const auto points = store.series(kEngine, Scope::Total, "", 0, frameTime(99));
    QCOMPARE(points.size(), std::size_t{5});
    QCOMPARE(points.front().timeMs, frameTime(4)); // the oldest went
    QCOMPARE(store.droppedCount(), std::uint64_t{3});
}

void TestHistoryStore::writerFlushesAndMaintainsOnItsOwn() {
    auto o = options("periodic.db");
    o.flushIntervalMs = 10;
    o.maintainIntervalMs = 10;
    auto now = std::make_shared<std::atomic<std::int64_t>>(kBase);
    o.clock = [now] { return now->load(); };
    HistoryStore store(o);
    QVERIFY(store.open());
    for (int i = 1; i <= 120; ++i) {
        store.append(kEngine, makeFrame(i));
    }
    QTRY_COMPARE_WITH_TIMEOUT(store.series(kEngine, Scope::Total, "", 0, frameTime(999)).size(),
                              std::size_t{120}, 10'000);
    now->store(kBase + 2 * kMinute + 7 * kDay);
    QTRY_COMPARE_WITH_TIMEOUT(store.series(kEngine, Scope::Total, "", 0, frameTime(999)).size(),
                              std::size_t{2}, 10'000);
    QCOMPARE(store.lastError(), std::string());
}

void TestHistoryStore::readsWhileWriting() {
    auto o = options("concurrent.db");
    o.flushIntervalMs = 5;
    HistoryStore store(o);
    QVERIFY(store.open());
    std::atomic<bool> done = false;
    std::atomic<bool> monotonic = true;
    std::atomic<int> reads = 0;
    std::thread reader([&] {
        std::size_t seen = 0;
        while (!done) {
            const auto points = store.series(kEngine, Scope::Route, "api", 0, frameTime(9999), 10 * kSecond);
            const auto count = store.latency(kEngine, Scope::Route, "api", 0, frameTime(9999)).count();
            monotonic = monotonic && count >= seen;
            seen = count;
            ++reads;
        }
    });
    for (int i = 1; i <= 300; ++i) {
        store.append(kEngine, makeFrame(i));
        if (i % 50 == 0) {
            QVERIFY(store.flush());
        }
    }
    QTRY_VERIFY_WITH_TIMEOUT(reads > 10, 10'000);
    done = true;
    reader.join();
    QVERIFY(monotonic);
    QCOMPARE(store.series(kEngine, Scope::Route, "api", 0, frameTime(9999)).size(), std::size_t{300});
}

QTEST_GUILESS_MAIN(TestHistoryStore)
#include "tst_history_store.moc"

// The watch window after a change: before/after error rate and p99 from stats frames.
#include "gui/client/change_watch.hpp"

#include <QtTest>

using namespace gaetwae;
using namespace gaetwae::console;

namespace {

// One frame per second ending at `timeMs`: `requests` answers, `errors` of them 5xx, each
// taking `micros` (pool "api" carries the same traffic).
protocol::StatsFrame frameAt(std::int64_t timeMs, std::uint64_t requests, std::uint64_t errors, std::uint64_t micros) {
    protocol::StatsFrame frame;
    frame.timeMs = timeMs;
    frame.total.requests = requests;
    frame.total.responses[1] = requests - errors;
    frame.total.responses[4] = errors;
    frame.total.latency.record(micros, requests);
    frame.pools["api"] = frame.total;
    return frame;
}

} // namespace

class TestChangeWatch : public QObject {
    Q_OBJECT

private slots:
    void comparesTheSameScopeBeforeAndAfter() {
        std::deque<protocol::StatsFrame> frames;
        const std::int64_t change = 1'000'000;
        for (int s = -30; s < 0; ++s) {
            frames.push_back(frameAt(change + (s + 1) * 1000, 100, 1, 2'000)); // 1% errors, 2 ms
        }
        for (int s = 0; s < 10; ++s) {
            frames.push_back(frameAt(change + (s + 1) * 1000, 100, 10, 9'000)); // 10% errors, 9 ms
        }
        const auto comparison = compareAround(frames, change, 60'000);
        QCOMPARE(comparison.windowMs, std::int64_t(10'000)); // only 10 s have passed
        QCOMPARE(comparison.before.requests, std::uint64_t(3000));
        QCOMPARE(comparison.after.requests, std::uint64_t(1000));
        QCOMPARE(comparison.before.errorRate(), 0.01);
        QCOMPARE(comparison.after.errorRate(), 0.10);
        QCOMPARE(comparison.before.requestsPerSecond(), 100.0);
        // p99 is the upper bound of the bucket holding the value (within 6.25%).
        QVERIFY(comparison.before.p99Ms() >= 2.0 && comparison.before.p99Ms() <= 2.0 * 1.0625);
        QVERIFY(comparison.after.p99Ms() >= 9.0 && comparison.after.p99Ms() <= 9.0 * 1.0625);
        QVERIFY(comparison.looksWorse());
        QCOMPARE(compareAround(frames, change, 60'000, "api").after.errors, std::uint64_t(100));
        QCOMPARE(compareAround(frames, change, 60'000, "other").after.requests, std::uint64_t(0));
    }

    void aHarmlessChangeDoesNotLookWorse() {
        std::deque<protocol::StatsFrame> frames;
        for (int s = 0; s < 20; ++s) {
            frames.push_back(frameAt((s + 1) * 1000, 50, 0, 3'000));
        }
        QVERIFY(!compareAround(frames, 10'000, 10'000).looksWorse());
        // Too little traffic after the change to judge.
        std::deque<protocol::StatsFrame> quiet{frameAt(1000, 100, 0, 1000), frameAt(2000, 5, 5, 50'000)};
        QVERIFY(!compareAround(quiet, 1000, 10'000).looksWorse());
    }
};

QTEST_GUILESS_MAIN(TestChangeWatch)
#include "tst_change_watch.moc"

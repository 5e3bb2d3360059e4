// The load generator against real backends on 127.0.0.1: the closed model counts every
// request, the open model holds its rate (steps and ramps), and coordinated omission is
// corrected: a backend stall shows in the latency measured from when requests were due, not in
// the latency measured from when they could be sent. Histograms merge exactly.
#include "engine/loadgen/load_generator.hpp"
#include "tests/support/fake_backend.hpp"

#include <QtTest>

#include <atomic>
#include <chrono>
#include <mutex>
#include <random>

using namespace gaetwae;
using namespace gaetwae::engine::loadgen;
using namespace gaetwae::test;
using namespace std::chrono_literals;

namespace {

double ms(std::uint64_t micros) {
    return static_cast<double>(micros) / 1000.0;
}

LoadPlan planFor(const FakeBackend& backend) {
    LoadPlan plan;
    plan.port = backend.port();
    plan.connections = 4;
    plan.threads = 2;
    return plan;
}

} // namespace

class TestLoadGenerator : public QObject {
    Q_OBJECT

private slots:
    void closedModelCountsEveryRequest() {
        FakeBackend backend("b");
        LoadPlan plan = planFor(backend);
        plan.duration = 1500ms;
        plan.requests = {RequestTemplate{"GET", "/a", {{"X-Test", "1"}}, "", 3},
                         RequestTemplate{"POST", "/b", {}, "payload", 1}};
        std::vector<IntervalStats> live;
        LoadGenerator generator(plan);
        const auto result = generator.run([&](const IntervalStats& second) { live.push_back(second); });
        QCOMPARE(live.size(), std::size_t(2)); // one report per second of the plan
        QVERIFY(result.total.completed > 100);
        QCOMPARE(result.total.completed, backend.requestsReceived()); // every request, exactly
        QCOMPARE(result.total.sent, result.total.completed);
        QCOMPARE(result.total.responses[1], result.total.completed);
        QVERIFY(result.total.errors.empty());
        QCOMPARE(result.total.corrected, result.total.uncorrected); // closed: nothing was late
        std::uint64_t perSecond = 0;
        for (const auto& second : result.seconds) {
            perSecond += second.completed;
        }
        QCOMPARE(perSecond, result.total.completed);
        // The mix follows its weights (3:1) and carries method, headers and body.
        std::uint64_t posts = 0;
        for (const auto& request : backend.received()) {
            if (request.method == "POST") {
                ++posts;
                QCOMPARE(request.target, std::string("/b"));
                QCOMPARE(request.body, std::string("payload"));
            } else {
                QCOMPARE(request.header("X-Test"), std::string("1"));
            }
        }
        const double share = static_cast<double>(posts) / static_cast<double>(result.total.completed);
        QVERIFY2(share > 0.15 && share < 0.35, qPrintable(QString::number(share)));
    }

    void openModelHoldsItsScheduledRate() {
        FakeBackend backend("b");
        LoadPlan plan = planFor(backend);
        plan.model = LoadPlan::Model::Open;
        std::string error;
        QVERIFY(parseSchedule("1s@200,1s@200-400", plan.schedule, error));
        QCOMPARE(plan.length(), std::chrono::milliseconds(2000));
        QCOMPARE(plan.rateAt(1500ms), 300.0);
        LoadGenerator generator(plan);
        std::vector<IntervalStats> live;
        const auto result = generator.run([&](const IntervalStats& second) { live.push_back(second); });
        QCOMPARE(live.size(), std::size_t(2));
        QCOMPARE(live[0].targetRps, 200.0);
        QCOMPARE(live[1].targetRps, 300.0); // the ramp's middle
        // 200 + 300 requests were due; all were sent and answered.
        QVERIFY2(result.total.completed >= 495 && result.total.completed <= 505,
                 qPrintable(QString::number(result.total.completed)));
        QCOMPARE(result.total.completed, backend.requestsReceived());
        QVERIFY(!parseSchedule("10@200", plan.schedule, error));
        QVERIFY(!parseSchedule("1s@fast", plan.schedule, error));
    }

    void aStallShowsInCorrectedLatencyOnly() {
        // The backend freezes for one second from the 20th request on: everything that arrives
        // until then waits for the end of the freeze, as a paused server would make it.
        std::atomic<int> count{0};
        std::mutex mutex;
        std::optional<std::chrono::steady_clock::time_point> frozenUntil;
        FakeBackend backend("b", [&](const ReceivedRequest&) {
            Reply reply;
            const auto now = std::chrono::steady_clock::now();
            std::lock_guard lock(mutex);
            if (++count == 20) {
                frozenUntil = now + 1s;
            }
            if (frozenUntil && now < *frozenUntil) {
                reply.delay = std::chrono::duration_cast<std::chrono::milliseconds>(*frozenUntil - now);
            }
            return reply;
        });
        // wrk2's demonstration: one connection at a constant rate, 400 requests/s for 1.2 s.
        LoadPlan plan = planFor(backend);
        plan.connections = 1;
        plan.threads = 1;
        plan.model = LoadPlan::Model::Open;
        plan.schedule = {RateStep{1200ms, 400, 400}}; // 480 requests, one every 2.5 ms
        LoadGenerator generator(plan);
        const auto result = generator.run();
        QCOMPARE(result.total.completed, std::uint64_t(480));
        const auto& corrected = result.total.corrected;
        const auto& uncorrected = result.total.uncorrected;
        qInfo("corrected p50 %.1f ms p99 %.1f ms; uncorrected p50 %.1f ms p99 %.1f ms", ms(corrected.percentile(0.5)),
              ms(corrected.percentile(0.99)), ms(uncorrected.percentile(0.5)), ms(uncorrected.percentile(0.99)));
        // Requests due during the freeze waited for it: the corrected view shows the second.
        QVERIFY(corrected.percentile(0.99) >= 1'000'000);
        QVERIFY(corrected.percentile(0.5) >= 100'000);
        // Measured from when they could be sent, only the one request sent into the freeze was
        // slow: the stall all but disappears, which is the omission being corrected above.
        QVERIFY(uncorrected.percentile(0.99) < 50'000);
        QVERIFY(uncorrected.maxBound() >= 1'000'000);
    }

    void histogramsOfSecondsMergeIntoTheHistogramOfTheWhole() {
        std::mt19937 random(5);
        std::lognormal_distribution<double> latency(8.0, 1.5);
        protocol::LatencyHistogram whole;
        std::vector<protocol::LatencyHistogram> parts(7);
        for (int i = 0; i < 50'000; ++i) {
            const auto value = static_cast<std::uint64_t>(latency(random));
            whole.record(value);
            parts[static_cast<std::size_t>(i) % parts.size()].record(value);
        }
        protocol::LatencyHistogram merged;
        for (const auto& part : parts) {
            merged.merge(part);
        }
        QCOMPARE(merged, whole);
        for (const double q : {0.5, 0.9, 0.99, 0.999}) {
            QCOMPARE(merged.percentile(q), whole.percentile(q));
        }
        // And through the JSON lines the generator writes.
        IntervalStats a;
        a.corrected = parts[0];
        IntervalStats b;
        protocol::LatencyHistogram::fromJson(a.toJson(0).at("latency"), b.corrected);
        QCOMPARE(b.corrected, parts[0]);
    }
};

QTEST_GUILESS_MAIN(TestLoadGenerator)
#include "tst_load_generator.moc"

// Traffic keeps flowing when instances die, fail, slow down and come back: ejection and return
// with slow start, circuit breakers with bounded half-open probes, latency-aware balancing, and
// active health checks, all through real sockets.
#include "tests/support/event_recorder.hpp"
#include "tests/support/fake_backend.hpp"
#include "tests/support/load.hpp"
#include "tests/support/test_client.hpp"
#include "tests/support/test_gateway.hpp"

#include <fmt/format.h>

#include <QtTest>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

using namespace gaetwae::test;
using Kind = gaetwae::engine::core::EngineEvent::Kind;

namespace {

std::string poolYaml(const std::vector<const FakeBackend*>& backends, const std::string& policies,
                     const std::string& top = "") {
    std::string yaml = "listeners: [{address: \"127.0.0.1:0\"}]\naccess_log: {enabled: false}\n" + top +
                       "routes: [{name: all, match: {path_prefix: /}, pool: p}]\n"
                       "pools:\n  - name: p\n" +
                       policies + "    instances:\n";
    for (const auto* backend : backends) {
        yaml += fmt::format("      - {{id: {}, address: \"{}\"}}\n", backend->name(), backend->address());
    }
    return yaml;
}


double share(const std::map<std::string, std::uint64_t>& counts, const std::string& id) {
    std::uint64_t total = 0;
    for (const auto& [k, v] : counts) {
        total += v;
    }
    const auto it = counts.find(id);
    return total == 0 || it == counts.end() ? 0.0 : static_cast<double>(it->second) / static_cast<double>(total);
}

std::map<std::string, std::uint64_t> minus(std::map<std::string, std::uint64_t> after,
                                           const std::map<std::string, std::uint64_t>& before) {
    for (auto& [k, v] : after) {
        const auto it = before.find(k);
        v -= it == before.end() ? 0 : it->second;
    }
    return after;
}

gaetwae::engine::core::Engine::InstanceStatus statusOf(TestGateway& gateway, const std::string& id) {
    for (const auto& status : gateway.engine().instanceStatuses()) {
        if (status.id == id) {
            return status;
        }
    }
    return {};
}

} // namespace

class TestResilience : public QObject {
    Q_OBJECT

private slots:
    void killingAnInstanceUnderLoadFailsNoRequest() {
        auto a = std::make_unique<FakeBackend>("a");
        auto b = std::make_unique<FakeBackend>("b");
        auto c = std::make_unique<FakeBackend>("c");
        const std::uint16_t bPort = b->port();
        const std::string policies = R"(    strategy: weighted_round_robin
    outlier_detection: {consecutive_connect_failures: 2, base_ejection_time: 500ms}
    health_check: {type: tcp, interval: 200ms, unhealthy_interval: 100ms, timeout: 200ms, rise: 2, fall: 2}
    slow_start: {window: 3s, min_percent: 10}
    retry: {attempts: 2, backoff_base: 1ms, backoff_max: 5ms}
)";
        TestGateway gateway(poolYaml({a.get(), b.get(), c.get()}, policies), {2, nullptr, 7, std::nullopt});
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        EventRecorder events(gateway.engine().events());

        const auto started = std::chrono::steady_clock::now();
        KeepAliveLoad load(gateway.port(), 4, 20s);
        QVERIFY2(load.waitForMore(500, 10s), load.lastError().c_str());

        // Kill b: connections refused and open ones cut.
        const auto killedAt = std::chrono::steady_clock::now();
        b->stop();
        b.reset();
        const auto out = events.waitFor(
            [](const auto& e) {
                return e.instance == "b" && ((e.kind == Kind::Ejection && e.to == "ejected") ||
                                             (e.kind == Kind::Health && e.to == "unhealthy"));
            },
            10s);
        QVERIFY2(out, "b was never taken out");
        // Within the thresholds: two refused connects, or two failed checks 200 ms apart.
        QVERIFY(std::chrono::steady_clock::now() - killedAt < 3s);
        const auto beforeOutage = load.byBackend();
        QVERIFY2(load.waitForMore(500, 10s), load.lastError().c_str());
        QCOMPARE(minus(load.byBackend(), beforeOutage)["b"], std::uint64_t(0)); // no traffic while out

        // b comes back at the same address: probes and checks notice, and it ramps up slowly.
        b = std::make_unique<FakeBackend>("b", FakeBackend::Handler{}, bPort);
        QVERIFY2(events.waitFor(
                     [](const auto& e) {
                         return e.instance == "b" && ((e.kind == Kind::Ejection && e.to == "serving") ||
                                                      (e.kind == Kind::Health && e.to == "healthy"));
                     },
                     10s),
                 "b never returned");
        QTRY_VERIFY_WITH_TIMEOUT(statusOf(gateway, "b").healthy && !statusOf(gateway, "b").ejected, 10000);
        const double factor = statusOf(gateway, "b").slowStartFactor;
        QVERIFY2(factor < 1.0, qPrintable(QString("slow start factor %1").arg(factor)));
        const auto rejoined = load.byBackend();
        QVERIFY2(load.waitForMore(300, 10s), load.lastError().c_str());
        auto early = minus(load.byBackend(), rejoined);
        QVERIFY2(early["b"] > 0, qPrintable(QString("b gets traffic again (breaker %1, slow start %2)")
                                                .arg(QString::fromStdString(statusOf(gateway, "b").breaker))
                                                .arg(statusOf(gateway, "b").slowStartFactor)));

        load.join(); // until the 20 s are up
        QVERIFY(std::chrono::steady_clock::now() - started >= 20s);
        QCOMPARE(load.failures(), std::uint64_t(0));
        qInfo("%llu requests over 20 s, none failed; b served %llu right after rejoining (round robin would give a third)",
              static_cast<unsigned long long>(load.ok()), static_cast<unsigned long long>(early["b"]));
        QVERIFY2(share(early, "b") < 0.3, "slow start holds b below its full share at first");
        QTRY_VERIFY_WITH_TIMEOUT(statusOf(gateway, "b").slowStartFactor == 1.0, 10000);
    }

    void failingInstanceTripsItsBreakerAndProbesAreBounded() {
        std::atomic<int> mode{0}; // 0: 500 at once, 1: 500 after release, 2: healthy
        FakeBackend bad("bad", [&](const ReceivedRequest&) {
            Reply reply;
            reply.status = mode == 2 ? 200 : 500;
            reply.action = mode == 1 ? Reply::Action::WaitForRelease : Reply::Action::Respond;
            return reply;
        });
        const std::string policies = R"(    circuit_breaker: {consecutive_failures: 5, open_timeout: 1s, max_open_timeout: 4s, half_open_requests: 2, success_threshold: 2}
    retry: {attempts: 0}
)";
        gaetwae::engine::core::ManualClock clock;
        TestGateway gateway(poolYaml({&bad}, policies), {1, &clock, 3, std::nullopt});
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        EventRecorder events(gateway.engine().events());

        TestClient client(gateway.port());
        for (int i = 0; i < 5; ++i) {
            QCOMPARE(client.get("/")->status, 500); // the backend's own answers pass through
        }
        QVERIFY(events.waitFor(isEvent(Kind::Breaker, "bad", "open"), 5s));
        const auto refused = client.get("/");
        QCOMPARE(refused->status, 503);
        QCOMPARE(refused->json()["error"].get<std::string>(), std::string("circuit_open"));
        QCOMPARE(bad.requestsReceived(), std::uint64_t(5));
        QCOMPARE(statusOf(gateway, "bad").breaker, std::string("open"));

        // After the open timeout: five concurrent requests, only two probes reach the backend.
        clock.advance(std::chrono::milliseconds(1200));
        mode = 1;
        std::vector<std::unique_ptr<TestClient>> clients;
        for (int i = 0; i < 5; ++i) {
            clients.push_back(std::make_unique<TestClient>(gateway.port()));
            QVERIFY(clients.back()->sendRaw("GET / HTTP/1.1\r\nHost: h\r\n\r\n"));
        }
        QVERIFY(bad.waitForRequests(7, 10s));
        QVERIFY(events.waitFor(isEvent(Kind::Breaker, "bad", "half_open"), 5s));
        int turnedAway = 0;
        std::vector<TestClient*> waiting;
        for (auto& c : clients) {
            c->setTimeout(300ms);
            if (const auto response = c->readResponse()) {
                QCOMPARE(response->status, 503);
                ++turnedAway;
            } else {
                waiting.push_back(c.get()); // a probe, held by the backend
            }
        }
        QCOMPARE(turnedAway, 3);
        QCOMPARE(waiting.size(), size_t(2));
        bad.release();
        for (auto* c : waiting) {
            c->setTimeout(10s);
            QCOMPARE(c->readResponse()->status, 500);
        }
        QCOMPARE(bad.requestsReceived(), std::uint64_t(7));
        QVERIFY(events.waitFor(
            [](const auto& e) { return e.kind == Kind::Breaker && e.from == "half_open" && e.to == "open"; }, 5s));

        // Healthy again: after the (doubled) timeout two good probes close the breaker.
        mode = 2;
        clock.advance(std::chrono::milliseconds(2500));
        QCOMPARE(client.get("/")->status, 200);
        QCOMPARE(client.get("/")->status, 200);
        QVERIFY(events.waitFor(isEvent(Kind::Breaker, "bad", "closed"), 5s));
        QCOMPARE(statusOf(gateway, "bad").breaker, std::string("closed"));
        QCOMPARE(client.get("/")->status, 200);
    }

    void slowInstanceGetsLittleTrafficAndIsNotStarved_data() {
        QTest::addColumn<QString>("strategy");
        QTest::newRow("least_ewma_latency") << "least_ewma_latency";
        QTest::newRow("power_of_two") << "power_of_two";
    }
    void slowInstanceGetsLittleTrafficAndIsNotStarved() {
        QFETCH(QString, strategy);
        std::atomic<bool> slow{true};
        FakeBackend f1("fast1"), f2("fast2");
        FakeBackend s("slow", [&](const ReceivedRequest&) {
            Reply reply;
            reply.headers.emplace_back("Server", "slow");
            reply.body = "slow";
            reply.delay = slow ? std::chrono::milliseconds(200) : std::chrono::milliseconds(0);
            return reply;
        });
        const std::string policies = "    strategy: " + strategy.toStdString() +
                                     "\n    latency: {decay: 500ms, probe_interval: 200ms}\n    retry: {attempts: 0}\n";
        TestGateway gateway(poolYaml({&f1, &s, &f2}, policies), {2, nullptr, 11, std::nullopt});
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        KeepAliveLoad load(gateway.port(), 8, 60s);
        QVERIFY2(load.waitForMore(500, 20s), load.lastError().c_str()); // warm-up: latencies measured
        const auto warm = load.byBackend();
        QVERIFY2(load.waitForMore(3000, 30s), load.lastError().c_str());
        const auto measured = minus(load.byBackend(), warm);
        qInfo("%s with one instance 200 ms slower: slow share %.2f%%", qPrintable(strategy),
              share(measured, "slow") * 100);
        QVERIFY2(share(measured, "slow") < 0.10, qPrintable(QString("slow share %1").arg(share(measured, "slow"))));

        // It recovers: it is measured again and wins its share back.
        slow = false;
        bool recovered = false;
        const auto deadline = std::chrono::steady_clock::now() + 20s;
        while (!recovered && std::chrono::steady_clock::now() < deadline) {
            const auto before = load.byBackend();
            QVERIFY2(load.waitForMore(600, 10s), load.lastError().c_str());
            recovered = share(minus(load.byBackend(), before), "slow") > 0.2;
        }
        load.stop();
        QVERIFY2(recovered, "the recovered instance is still starved");
        QCOMPARE(load.failures(), std::uint64_t(0));
    }

    void activeChecksTakeAnInstanceOutAndBack() {
        std::atomic<bool> sick{false};
        FakeBackend a("a", [&](const ReceivedRequest& request) {
            Reply reply;
            reply.headers.emplace_back("Server", "a");
            if (request.target == "/healthz") {
                reply.status = sick ? 503 : 200;
                reply.body = sick ? "degraded" : "ok";
            }
            return reply;
        });
        FakeBackend b("b", [](const ReceivedRequest&) {
            Reply reply;
            reply.headers.emplace_back("Server", "b");
            reply.body = "ok";
            return reply;
        });
        const std::string policies = R"(    health_check: {path: /healthz, expected_statuses: ["200-299"], body_contains: ok, interval: 100ms, unhealthy_interval: 50ms, timeout: 500ms, rise: 2, fall: 2}
)";
        TestGateway gateway(poolYaml({&a, &b}, policies));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        EventRecorder events(gateway.engine().events());
        QVERIFY(a.waitForRequests(2, 5s)); // checks are running
        sick = true;
        QVERIFY(events.waitFor(isEvent(Kind::Health, "a", "unhealthy"), 5s));
        TestClient client(gateway.port());
        for (int i = 0; i < 10; ++i) {
            QCOMPARE(client.get("/")->header("Server"), std::string("b"));
        }
        sick = false;
        QVERIFY(events.waitFor(isEvent(Kind::Health, "a", "healthy"), 5s));
        std::set<std::string> seen;
        for (int i = 0; i < 4; ++i) {
            seen.insert(client.get("/")->header("Server"));
        }
        QCOMPARE(seen, (std::set<std::string>{"a", "b"}));
        const auto checks = a.received();
        const auto check = std::find_if(checks.begin(), checks.end(),
                                        [](const auto& r) { return r.target == "/healthz"; });
        QVERIFY(check != checks.end());
        QCOMPARE(check->header("User-Agent"), std::string("gaetwae-health-check"));
    }
};

QTEST_GUILESS_MAIN(TestResilience)
#include "tst_resilience.moc"

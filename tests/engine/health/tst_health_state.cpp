// The pure health state machines: active-check hysteresis, circuit breaker, outlier detection.
#include "engine/health/circuit_breaker.hpp"
#include "engine/health/health_tracker.hpp"
#include "engine/health/outlier_detector.hpp"

#include <QtTest>

using namespace gaetwae::engine;
using namespace gaetwae::engine::health;
using namespace std::chrono_literals;

namespace {

gaetwae::model::CircuitBreakerConfig breakerConfig() {
    gaetwae::model::CircuitBreakerConfig config;
    config.consecutiveFailures = 3;
    config.openTimeout = 1s;
    config.maxOpenTimeout = 5s;
    config.halfOpenRequests = 2;
    config.successThreshold = 2;
    return config;
}

} // namespace

class TestHealthState : public QObject {
    Q_OBJECT

private slots:
    void riseAndFall() {
        HealthTracker tracker;
        QVERIFY(!tracker.record(false, 2, 3));
        QVERIFY(!tracker.record(false, 2, 3));
        QVERIFY(!tracker.record(true, 2, 3)); // a success resets the failure streak
        QVERIFY(!tracker.record(false, 2, 3));
        QVERIFY(!tracker.record(false, 2, 3));
        QVERIFY(tracker.record(false, 2, 3)); // third failure in a row: down
        QVERIFY(!tracker.healthy());
        QVERIFY(!tracker.record(true, 2, 3));
        QVERIFY(tracker.record(true, 2, 3)); // second success in a row: up
        QVERIFY(tracker.healthy());
    }

    void breakerTripsAndRecovers() {
        BreakerMachine breaker(breakerConfig());
        const auto t0 = core::TimePoint(100s);
        std::optional<BreakerTransition> t;
        breaker.record(false, t0, 0.5, t);
        breaker.record(false, t0, 0.5, t);
        QVERIFY(!t);
        breaker.record(true, t0, 0.5, t); // streak broken
        breaker.record(false, t0, 0.5, t);
        breaker.record(false, t0, 0.5, t);
        QVERIFY(!t);
        breaker.record(false, t0, 0.5, t);
        QVERIFY(t && t->from == BreakerState::Closed && t->to == BreakerState::Open);
        QCOMPARE(t->openUntil, t0 + 1s); // jitter 0.5 is the midpoint: exactly the base
        t.reset();
        QVERIFY(!breaker.tryAcquire(t0 + 999ms, t));
        QVERIFY(breaker.tryAcquire(t0 + 1s, t));
        QVERIFY(t && t->to == BreakerState::HalfOpen);
        QVERIFY(breaker.tryAcquire(t0 + 1s, t));
        QVERIFY(!breaker.tryAcquire(t0 + 1s, t)); // half-open admits two probes, no more
        t.reset();
        breaker.record(true, t0 + 1s, 0.5, t);
        QVERIFY(!t);
        breaker.record(true, t0 + 1s, 0.5, t);
        QVERIFY(t && t->to == BreakerState::Closed);
        QCOMPARE(breaker.trips(), 0u);
    }

    void openTimeoutGrowsWithRepeatedTripsAndIsCapped() {
        BreakerMachine breaker(breakerConfig());
        auto now = core::TimePoint(100s);
        std::vector<std::chrono::milliseconds> timeouts;
        for (int trip = 0; trip < 5; ++trip) {
            std::optional<BreakerTransition> t;
            if (trip == 0) {
                for (int i = 0; i < 3; ++i) {
                    breaker.record(false, now, 0.5, t);
                }
            } else {
                QVERIFY(breaker.tryAcquire(breaker.openUntil(), t)); // half-open probe...
                now = breaker.openUntil();
                breaker.record(false, now, 0.5, t); // ...fails: open again, longer
            }
            QVERIFY(t && t->to == BreakerState::Open);
            timeouts.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(t->openUntil - now));
        }
        QCOMPARE(timeouts, (std::vector<std::chrono::milliseconds>{1s, 2s, 4s, 5s, 5s}));
        // Jitter spreads the timeout by +-10%.
        BreakerMachine jittered(breakerConfig());
        std::optional<BreakerTransition> t;
        for (int i = 0; i < 3; ++i) {
            jittered.record(false, now, 0.0, t);
        }
        QCOMPARE(t->openUntil - now, std::chrono::duration_cast<core::Nanoseconds>(900ms));
    }

    void errorRatioOverTheWindow() {
        auto config = breakerConfig();
        config.consecutiveFailures = 0;
        config.errorRatio = 0.5;
        config.minRequests = 10;
        config.window = 10s;
        BreakerMachine breaker(config);
        auto now = core::TimePoint(1000s);
        std::optional<BreakerTransition> t;
        for (int i = 0; i < 9; ++i) { // 5 failures in 9: ratio reached, too few requests
            breaker.record(i % 2 == 0, now, 0.5, t);
        }
        QVERIFY(!t);
        breaker.record(false, now, 0.5, t); // 10 requests, 5 failures
        QVERIFY(t && t->to == BreakerState::Open);

        BreakerMachine aging(config);
        t.reset();
        for (int i = 0; i < 10; ++i) {
            aging.record(false, now, 0.5, t); // would trip...
            if (t) {
                break;
            }
        }
        QVERIFY(t);
        BreakerMachine old(config);
        t.reset();
        for (int i = 0; i < 6; ++i) {
            old.record(false, now, 0.5, t);
        }
        now += 11s; // ...those failures left the window
        for (int i = 0; i < 10; ++i) {
            old.record(i < 6, now, 0.5, t);
        }
        QVERIFY(!t); // 4 in 10 now; with the 6 old ones it would be 10 in 16 and trip
    }

    void sharedBreakerIsLockFreeWhenClosed() {
        CircuitBreaker breaker(breakerConfig());
        std::optional<BreakerTransition> t;
        const auto now = core::TimePoint(5s);
        for (int i = 0; i < 1000; ++i) {
            QVERIFY(breaker.tryAcquire(now, t));
            breaker.record(true, now, 0.5, t);
        }
        QVERIFY(!t);
        QVERIFY(breaker.state() == BreakerState::Closed);
        // A reload must not close an open breaker.
        for (int i = 0; i < 3; ++i) {
            breaker.record(false, now, 0.5, t);
        }
        QVERIFY(breaker.state() == BreakerState::Open);
        breaker.reconfigure(breakerConfig());
        QVERIFY(breaker.state() == BreakerState::Open);
    }

    void outlierCountersFireOncePerStreak() {
        gaetwae::model::OutlierDetectionConfig config;
        config.consecutive5xx = 0;
        config.consecutiveGatewayFailures = 3;
        config.consecutiveConnectFailures = 2;
        OutlierCounters counters;
        QVERIFY(!counters.record(Outcome::ConnectFailure, config));
        const auto fired = counters.record(Outcome::ConnectFailure, config);
        QVERIFY(fired);
        QCOMPARE(*fired, std::string("2 consecutive connect failures"));
        // A third one is also the third gateway failure in a row; the connect detector stays quiet.
        QCOMPARE(*counters.record(Outcome::ConnectFailure, config), std::string("3 consecutive gateway failures"));
        QVERIFY(!counters.record(Outcome::ConnectFailure, config));
        counters.reset();
        QVERIFY(!counters.record(Outcome::GatewayError, config));
        QVERIFY(!counters.record(Outcome::Success, config)); // success resets
        QVERIFY(!counters.record(Outcome::Reset, config));
        QVERIFY(!counters.record(Outcome::Timeout, config));
        QCOMPARE(*counters.record(Outcome::GatewayError, config), std::string("3 consecutive gateway failures"));
        QVERIFY(!counters.record(Outcome::Overloaded, config)); // 429 is no gateway failure

        config.consecutive5xx = 2;
        OutlierCounters fives;
        QVERIFY(!fives.record(Outcome::ServerError, config));
        QCOMPARE(*fives.record(Outcome::ServerError, config), std::string("2 consecutive 5xx responses"));
    }

    void ejectionTimeGrowsAndIsCapped() {
        gaetwae::model::OutlierDetectionConfig config;
        config.baseEjectionTime = 30s;
        config.maxEjectionTime = 100s;
        config.jitter = 0.1;
        QCOMPARE(ejectionTime(config, 1, 0.5), std::chrono::milliseconds(30s));
        QCOMPARE(ejectionTime(config, 2, 0.5), std::chrono::milliseconds(60s));
        QCOMPARE(ejectionTime(config, 5, 0.5), std::chrono::milliseconds(100s));
        QCOMPARE(ejectionTime(config, 1, 0.0), std::chrono::milliseconds(27s));
        QVERIFY(ejectionTime(config, 1, 0.999) < std::chrono::milliseconds(33s));
    }

    void ejectionShareIsCapped() {
        QVERIFY(mayEject(0, 10, 50));
        QVERIFY(mayEject(4, 10, 50));
        QVERIFY(!mayEject(5, 10, 50));
        QVERIFY(mayEject(0, 3, 10)); // one may always go in pools of two or more
        QVERIFY(!mayEject(1, 3, 10));
        QVERIFY(!mayEject(0, 1, 50)); // a lone instance only with max_ejection_percent 100
        QVERIFY(mayEject(0, 1, 100));
    }

    void statusClassification() {
        QVERIFY(classifyStatus(200) == Outcome::Success);
        QVERIFY(classifyStatus(404) == Outcome::Success);
        QVERIFY(classifyStatus(429) == Outcome::Overloaded);
        QVERIFY(classifyStatus(500) == Outcome::ServerError);
        QVERIFY(classifyStatus(503) == Outcome::GatewayError);
        QVERIFY(!isBreakerFailure(Outcome::Overloaded));
        QVERIFY(isBreakerFailure(Outcome::ConnectFailure));
    }
};

QTEST_APPLESS_MAIN(TestHealthState)
#include "tst_health_state.moc"

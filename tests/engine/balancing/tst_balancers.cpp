// Every balancing strategy, deterministically: a manual clock, fixed seeds, plain vectors.
#include "engine/balancing/balancer_factory.hpp"
#include "engine/balancing/candidates.hpp"
#include "engine/balancing/consistent_hash_balancer.hpp"
#include "engine/balancing/hashing.hpp"

#include <QtTest>

#include <deque>
#include <set>
#include <map>

using namespace gaetwae::engine;
using namespace gaetwae::engine::balancing;
using namespace std::chrono_literals;

namespace {

struct Fixture {
    core::ManualClock clock;
    core::XoshiroRandom random{42};
    PoolSnapshot pool;

    Fixture(gaetwae::model::Strategy strategy, std::vector<std::pair<std::string, std::uint32_t>> instances) {
        pool.name = "p";
        pool.config.strategy = strategy;
        pool.config.latency.probeInterval = 0ms; // probes are tested on their own
        for (const auto& [id, weight] : instances) {
            // Available for an hour already: no slow start unless a test sets it.
            auto state = std::make_shared<health::InstanceState>("p", id, clock.now() - 1h);
            pool.instances.push_back({id, "127.0.0.1:1", weight, state, id});
        }
    }
    std::unique_ptr<Balancer> balancer() { return makeBalancer(pool, clock, random); }
    health::InstanceState& state(std::size_t i) { return *pool.instances[i].state; }
};

std::string sequence(Balancer& balancer, const PoolSnapshot& pool, int picks, std::span<const std::size_t> avoid = {}) {
    std::string out;
    for (int i = 0; i < picks; ++i) {
        const auto index = balancer.pick(pool, RequestKey{}, avoid, nullptr);
        out += index ? pool.instances[*index].id : "-";
    }
    return out;
}

// Picks `picks` times holding `inFlight` requests open (oldest completes first), as a steady load
// does, so load-aware strategies see realistic active counts. Returns picks per instance.
std::map<std::string, int> steadyLoad(Balancer& balancer, Fixture& f, int picks, std::size_t inFlight) {
    std::map<std::string, int> counts;
    std::deque<std::size_t> open;
    for (int i = 0; i < picks; ++i) {
        if (open.size() >= inFlight) {
            f.state(open.front()).activeRequests--;
            open.pop_front();
        }
        const auto index = balancer.pick(f.pool, RequestKey{}, {}, nullptr);
        counts[f.pool.instances[*index].id]++;
        f.state(*index).activeRequests++;
        open.push_back(*index);
    }
    return counts;
}

bool withinShare(int count, int total, double expectedShare, double tolerance) {
    const double share = static_cast<double>(count) / total;
    return std::abs(share - expectedShare) <= tolerance;
}

QString describe(const std::map<std::string, int>& counts) {
    QString out;
    for (const auto& [id, n] : counts) {
        out += QString("%1=%2 ").arg(QString::fromStdString(id)).arg(n);
    }
    return out;
}

class HeaderMap final : public HeaderLookup {
public:
    std::map<std::string, std::string> values;
    std::optional<std::string_view> header(std::string_view name) const override {
        const auto it = values.find(std::string(name));
        return it == values.end() ? std::nullopt : std::optional<std::string_view>(it->second);
    }
};

} // namespace

class TestBalancers : public QObject {
    Q_OBJECT

private slots:
    // ---------------------------------------------------------------- round robin
    void roundRobinRotatesAndSkips() {
        Fixture f(gaetwae::model::Strategy::RoundRobin, {{"a", 1}, {"b", 0}, {"c", 1}, {"d", 1}});
        auto balancer = f.balancer();
        QCOMPARE(sequence(*balancer, f.pool, 6), std::string("acdacd"));
        f.state(2).adminState = gaetwae::model::InstanceState::Draining;
        f.state(3).adminState = gaetwae::model::InstanceState::Disabled;
        QCOMPARE(sequence(*balancer, f.pool, 3), std::string("aaa"));
    }

    void avoidListIsHonouredWhileOthersExist() {
        Fixture f(gaetwae::model::Strategy::RoundRobin, {{"a", 1}, {"b", 1}, {"c", 1}});
        auto balancer = f.balancer();
        const std::array<std::size_t, 1> avoidB{1};
        QCOMPARE(sequence(*balancer, f.pool, 4, avoidB), std::string("acac"));
        const std::array<std::size_t, 3> all{0, 1, 2};
        QVERIFY(balancer->pick(f.pool, {}, all, nullptr).has_value()); // all tried: one is retried
    }

    // ---------------------------------------------------------------- smooth WRR
    void smoothWeightedRoundRobinOrder() {
        Fixture f(gaetwae::model::Strategy::WeightedRoundRobin, {{"a", 5}, {"b", 1}, {"c", 1}});
        auto balancer = f.balancer();
        QCOMPARE(sequence(*balancer, f.pool, 14), std::string("aabacaaaabacaa"));
    }

    // ---------------------------------------------------------------- distributions
    void weightsHoldOverTenThousandPicks_data() {
        QTest::addColumn<int>("strategy");
        QTest::newRow("weighted_round_robin") << int(gaetwae::model::Strategy::WeightedRoundRobin);
        QTest::newRow("random") << int(gaetwae::model::Strategy::Random);
        QTest::newRow("least_connections") << int(gaetwae::model::Strategy::LeastConnections);
        QTest::newRow("power_of_two") << int(gaetwae::model::Strategy::PowerOfTwo);
    }
    void weightsHoldOverTenThousandPicks() {
        QFETCH(int, strategy);
        Fixture f(static_cast<gaetwae::model::Strategy>(strategy), {{"a", 1}, {"b", 2}, {"c", 3}, {"d", 4}});
        auto balancer = f.balancer();
        const auto counts = steadyLoad(*balancer, f, 10'000, 200);
        const double tolerance = strategy == int(gaetwae::model::Strategy::PowerOfTwo) ? 0.03 : 0.02;
        QVERIFY2(withinShare(counts.at("a"), 10'000, 0.1, tolerance), qPrintable(describe(counts)));
        QVERIFY2(withinShare(counts.at("b"), 10'000, 0.2, tolerance), qPrintable(describe(counts)));
        QVERIFY2(withinShare(counts.at("c"), 10'000, 0.3, tolerance), qPrintable(describe(counts)));
        QVERIFY2(withinShare(counts.at("d"), 10'000, 0.4, tolerance), qPrintable(describe(counts)));
    }

    void leastConnectionsUsesGlobalActiveCounts() {
        Fixture f(gaetwae::model::Strategy::LeastConnections, {{"a", 1}, {"b", 1}, {"c", 1}});
        auto balancer = f.balancer();
        f.state(0).activeRequests = 5; // busy from another worker's point of view
        f.state(1).activeRequests = 1;
        f.state(2).activeRequests = 3;
        QCOMPARE(sequence(*balancer, f.pool, 1), std::string("b"));
    }

    void powerOfTwoPrefersTheLessLoaded() {
        Fixture f(gaetwae::model::Strategy::PowerOfTwo, {{"a", 1}, {"b", 1}});
        auto balancer = f.balancer();
        f.state(0).activeRequests = 10;
        QCOMPARE(sequence(*balancer, f.pool, 20), std::string(20, 'b')); // two candidates: always compared
    }

    // ---------------------------------------------------------------- latency aware
    void latencyAwareStrategiesAvoidTheSlowInstance_data() {
        QTest::addColumn<int>("strategy");
        QTest::newRow("least_ewma_latency") << int(gaetwae::model::Strategy::LeastEwmaLatency);
        QTest::newRow("dynamic_score") << int(gaetwae::model::Strategy::DynamicScore);
    }
    void latencyAwareStrategiesAvoidTheSlowInstance() {
        QFETCH(int, strategy);
        Fixture f(static_cast<gaetwae::model::Strategy>(strategy), {{"fast1", 1}, {"slow", 1}, {"fast2", 1}});
        auto balancer = f.balancer();
        const auto tau = f.pool.config.latency.decay;
        for (std::size_t i = 0; i < 3; ++i) { // one measurement each to start from
            f.state(i).latency.record(i == 1 ? 200.0 : 2.0, f.clock.now(), tau);
        }
        std::map<std::string, int> counts;
        for (int i = 0; i < 1000; ++i) {
            const auto index = *balancer->pick(f.pool, {}, {}, nullptr);
            counts[f.pool.instances[index].id]++;
            f.state(index).latency.record(index == 1 ? 200.0 : 2.0, f.clock.now(), tau);
            f.clock.advance(1ms);
        }
        QVERIFY2(counts["slow"] < 100, qPrintable(describe(counts)));
    }

    void slowInstanceIsProbedAndRecovers() {
        Fixture f(gaetwae::model::Strategy::LeastEwmaLatency, {{"fast", 1}, {"once-slow", 1}});
        f.pool.config.latency.probeInterval = 1s;
        f.pool.config.latency.decay = 1s; // recovery takes a few decay periods (ln(500 ms / 2 ms) of them)
        auto balancer = f.balancer();
        const auto tau = f.pool.config.latency.decay;
        f.state(0).latency.record(2.0, f.clock.now(), tau);
        f.state(1).latency.record(500.0, f.clock.now(), tau);
        f.state(0).lastPickedNs = core::toNanos(f.clock.now());
        f.state(1).lastPickedNs = core::toNanos(f.clock.now());
        // Steady traffic, one request every 50 ms: the slow instance is avoided, but probed once
        // it has gone unpicked for the probe interval.
        int probes = 0;
        int slowPicks = 0;
        bool recovered = false;
        for (int i = 0; i < 400; ++i) {
            f.clock.advance(50ms);
            balancing::PickTrace trace;
            const auto index = *balancer->pick(f.pool, {}, {}, &trace);
            probes += trace.note.starts_with("probe") ? 1 : 0;
            slowPicks += index == 1 ? 1 : 0;
            // The slow instance is healthy again from the first probe on: it answers in 1 ms.
            f.state(index).latency.record(index == 1 ? 1.0 : 2.0, f.clock.now(), tau);
            recovered = recovered || (i > 300 && index == 1 && !trace.note.starts_with("probe"));
        }
        QVERIFY2(probes >= 1, qPrintable(QString("probes %1").arg(probes)));
        // Not starved: after good probes it wins picks on its own merit again.
        QVERIFY2(recovered && slowPicks > 100, qPrintable(QString("slow picks %1").arg(slowPicks)));
    }

    void decayTowardPoolMean() {
        const auto t0 = core::TimePoint(10s);
        const double decayed = health::LatencyTracker::decayedToward(500.0, 10.0, t0, t0 + 30s, 10s);
        QVERIFY(decayed < 40.0 && decayed > 10.0);
        QCOMPARE(health::LatencyTracker::decayedToward(500.0, 10.0, t0, t0, 10s), 500.0);
    }

    void fastFailuresDoNotAttract() {
        // A peak-EWMA sample above the average takes over at once: a 1 s penalty for a fast 5xx
        // makes the instance the slowest immediately.
        health::LatencyTracker tracker;
        tracker.record(2.0, core::TimePoint(1s), 10s);
        tracker.record(1000.0, core::TimePoint(1s) + 1ms, 10s);
        QCOMPARE(tracker.peakEwmaMs(), 1000.0);
        QVERIFY(tracker.averageMs() < 10.0);
    }

    // ---------------------------------------------------------------- hashing
    void ipHashIsStableAndWeighted() {
        Fixture f(gaetwae::model::Strategy::IpHash, {{"a", 1}, {"b", 1}, {"c", 2}});
        auto balancer = f.balancer();
        std::map<std::string, int> counts;
        for (int i = 0; i < 10'000; ++i) {
            const std::string ip = "10." + std::to_string(i / 256 % 256) + "." + std::to_string(i % 256) + ".7";
            RequestKey key{ip, "", "/", "", nullptr};
            const auto first = *balancer->pick(f.pool, key, {}, nullptr);
            QCOMPARE(*balancer->pick(f.pool, key, {}, nullptr), first);
            counts[f.pool.instances[first].id]++;
        }
        QVERIFY2(withinShare(counts["a"], 10'000, 0.25, 0.02), qPrintable(describe(counts)));
        QVERIFY2(withinShare(counts["c"], 10'000, 0.50, 0.02), qPrintable(describe(counts)));
    }

    void consistentHashMovesFewKeysWhenAnInstanceJoins_data() {
        QTest::addColumn<int>("algorithm");
        QTest::newRow("ring") << int(gaetwae::model::HashAlgorithm::Ring);
        QTest::newRow("maglev") << int(gaetwae::model::HashAlgorithm::Maglev);
    }
    void consistentHashMovesFewKeysWhenAnInstanceJoins() {
        QFETCH(int, algorithm);
        const auto makeFixture = [&](int n) {
            std::vector<std::pair<std::string, std::uint32_t>> instances;
            for (int i = 0; i < n; ++i) {
                instances.emplace_back("backend-" + std::to_string(i), 1);
            }
            auto f = std::make_unique<Fixture>(gaetwae::model::Strategy::ConsistentHash, instances);
            f->pool.config.consistentHash.algorithm = static_cast<gaetwae::model::HashAlgorithm>(algorithm);
            f->pool.config.consistentHash.boundedLoad = 0;
            return f;
        };
        const auto beforePtr = makeFixture(5);
        const auto afterPtr = makeFixture(6);
        Fixture& before = *beforePtr;
        Fixture& after = *afterPtr;
        ConsistentHashBalancer b1(before.clock, before.random, before.pool);
        ConsistentHashBalancer b2(after.clock, after.random, after.pool);
        std::map<std::string, int> counts;
        int moved = 0;
        constexpr int kKeys = 10'000;
        for (int k = 0; k < kKeys; ++k) {
            const auto h = hash64("user-" + std::to_string(k));
            const auto from = before.pool.instances[b1.home(h)].id;
            const auto to = after.pool.instances[b2.home(h)].id;
            moved += from != to ? 1 : 0;
            counts[to]++;
        }
        const double share = static_cast<double>(moved) / kKeys;
        QVERIFY2(share <= 1.0 / 6 + 0.05, qPrintable(QString("moved %1").arg(share)));
        for (const auto& [id, n] : counts) {
            QVERIFY2(withinShare(n, kKeys, 1.0 / 6, 0.05), qPrintable(describe(counts)));
        }
    }

    void consistentHashOnHeaderCookieAndQuery() {
        Fixture f(gaetwae::model::Strategy::ConsistentHash, {{"a", 1}, {"b", 1}, {"c", 1}});
        f.pool.config.hashOn = {gaetwae::model::HashSource::Header, "X-User"};
        auto balancer = f.balancer();
        HeaderMap headers;
        headers.values["X-User"] = "alice";
        RequestKey key{"1.2.3.4", "", "/", "", &headers};
        const auto alice = *balancer->pick(f.pool, key, {}, nullptr);
        for (int i = 0; i < 10; ++i) {
            QCOMPARE(*balancer->pick(f.pool, key, {}, nullptr), alice);
        }
        // Its instance goes away: the key walks on, and comes home when it returns.
        f.state(alice).ejected = true;
        const auto elsewhere = *balancer->pick(f.pool, key, {}, nullptr);
        QVERIFY(elsewhere != alice);
        f.state(alice).ejected = false;
        QCOMPARE(*balancer->pick(f.pool, key, {}, nullptr), alice);

        QCOMPARE(findCookie("a=1; SESSIONID=abc; b=2", "SESSIONID"), std::optional<std::string_view>("abc"));
        QCOMPARE(findCookie("a=1", "SESSIONID"), std::optional<std::string_view>());
        QCOMPARE(findQueryParameter("x=1&tenant=t9&y", "tenant"), std::optional<std::string_view>("t9"));
    }

    void consistentHashBoundedLoadSpillsHotKeys() {
        Fixture f(gaetwae::model::Strategy::ConsistentHash, {{"a", 1}, {"b", 1}, {"c", 1}, {"d", 1}});
        f.pool.config.hashOn = {gaetwae::model::HashSource::Path, ""};
        f.pool.config.consistentHash.boundedLoad = 1.25;
        auto balancer = f.balancer();
        RequestKey key{"", "", "/hot", "", nullptr};
        std::map<std::string, int> inFlight;
        for (int i = 0; i < 40; ++i) { // 40 concurrent requests for one key
            const auto index = *balancer->pick(f.pool, key, {}, nullptr);
            f.state(index).activeRequests++;
            inFlight[f.pool.instances[index].id]++;
        }
        for (const auto& [id, n] : inFlight) {
            QVERIFY2(n <= std::ceil(1.25 * 40 / 4) + 1, qPrintable(describe(inFlight)));
        }
        QCOMPARE(inFlight.size(), size_t(4));
    }

    // ---------------------------------------------------------------- eligibility
    void panicModeSpreadsOverAllWhenTooFewAreUp() {
        Fixture f(gaetwae::model::Strategy::RoundRobin, {{"a", 1}, {"b", 1}, {"c", 1}, {"d", 1}});
        auto balancer = f.balancer();
        f.state(1).healthy = false;
        f.state(2).ejected = true;
        QCOMPARE(sequence(*balancer, f.pool, 4), std::string("adad")); // 50% up: not below the threshold
        f.state(3).healthy = false;
        PickTrace trace;
        balancer->pick(f.pool, {}, {}, &trace);
        QVERIFY(trace.panic); // 25% up < 50%: health ignored
        QCOMPARE(sequence(*balancer, f.pool, 4).size(), size_t(4));
        std::set<char> seen;
        for (const char c : sequence(*balancer, f.pool, 8)) {
            seen.insert(c);
        }
        QCOMPARE(seen.size(), size_t(4));
        f.pool.config.panicThreshold = 0; // panic disabled: only the healthy one
        QCOMPARE(sequence(*balancer, f.pool, 3), std::string("aaa"));
    }

    void noInstanceCanTakeTraffic() {
        Fixture f(gaetwae::model::Strategy::RoundRobin, {{"a", 1}, {"b", 1}});
        auto balancer = f.balancer();
        f.state(0).adminState = gaetwae::model::InstanceState::Disabled;
        f.state(1).adminState = gaetwae::model::InstanceState::Draining;
        QCOMPARE(sequence(*balancer, f.pool, 1), std::string("-"));
    }

    void slowStartRampsWeight() {
        gaetwae::model::SlowStartConfig config;
        config.window = 10s;
        config.minPercent = 10;
        const auto t0 = core::TimePoint(100s);
        QCOMPARE(slowStartFactor(config, t0, t0), 0.1);
        QCOMPARE(slowStartFactor(config, t0, t0 + 5s), 0.5);
        QCOMPARE(slowStartFactor(config, t0, t0 + 10s), 1.0);
        config.aggression = 2.0; // Envoy: (t/window)^(1/aggression)
        QVERIFY(std::abs(slowStartFactor(config, t0, t0 + 2500ms) - 0.5) < 1e-9);
        config.window = 0s;
        QCOMPARE(slowStartFactor(config, t0, t0), 1.0);

        Fixture f(gaetwae::model::Strategy::WeightedRoundRobin, {{"old", 1}, {"new", 1}});
        f.pool.config.slowStart.window = 10s;
        f.state(1).availableSinceNs = core::toNanos(f.clock.now() - 2s); // 20% into its ramp
        auto balancer = f.balancer();
        std::map<std::string, int> counts;
        for (int i = 0; i < 1200; ++i) {
            counts[f.pool.instances[*balancer->pick(f.pool, {}, {}, nullptr)].id]++;
        }
        QVERIFY2(withinShare(counts["new"], 1200, 0.2 / 1.2, 0.02), qPrintable(describe(counts)));
    }

    void openBreakerExcludesAndHalfOpenBoundsProbes() {
        Fixture f(gaetwae::model::Strategy::RoundRobin, {{"a", 1}, {"b", 1}});
        gaetwae::model::CircuitBreakerConfig config;
        config.consecutiveFailures = 2;
        config.openTimeout = 1s;
        config.halfOpenRequests = 1;
        config.successThreshold = 1;
        f.state(0).breaker.reconfigure(config);
        std::optional<health::BreakerTransition> t;
        f.state(0).breaker.record(false, f.clock.now(), 0.5, t);
        f.state(0).breaker.record(false, f.clock.now(), 0.5, t);
        QVERIFY(t && t->to == health::BreakerState::Open);
        auto balancer = f.balancer();
        PickTrace trace;
        QCOMPARE(*balancer->pick(f.pool, {}, {}, &trace), std::size_t(1));
        QCOMPARE(trace.excluded.at(0).second, std::string("circuit open"));
        f.clock.advance(2s);
        QVERIFY(f.state(0).breaker.wouldAdmit(f.clock.now())); // eligible again: half-open is near
        t.reset();
        QVERIFY(f.state(0).breaker.tryAcquire(f.clock.now(), t));
        QVERIFY(t && t->to == health::BreakerState::HalfOpen);
        QVERIFY(!f.state(0).breaker.tryAcquire(f.clock.now(), t)); // only one probe
        QVERIFY(!f.state(0).breaker.wouldAdmit(f.clock.now()));
    }

    void traceExplainsTheChoice() {
        Fixture f(gaetwae::model::Strategy::LeastConnections, {{"a", 0}, {"b", 1}, {"c", 1}});
        f.state(2).activeRequests = 3;
        auto balancer = f.balancer();
        PickTrace trace;
        QCOMPARE(*balancer->pick(f.pool, {}, {}, &trace), std::size_t(1));
        QCOMPARE(trace.excluded.size(), size_t(1));
        QCOMPARE(trace.excluded[0].second, std::string("weight 0"));
        QCOMPARE(trace.candidates.size(), size_t(2));
        QVERIFY(!trace.note.empty());
    }
};

QTEST_APPLESS_MAIN(TestBalancers)
#include "tst_balancers.moc"

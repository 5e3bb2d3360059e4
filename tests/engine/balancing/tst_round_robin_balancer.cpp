// Round robin: strict rotation over eligible instances, honouring exclusions and the avoid list.
#include "engine/balancing/balancer_factory.hpp"
#include "engine/balancing/round_robin_balancer.hpp"

#include <QtTest>

using namespace gaetwae::engine::balancing;

namespace {

PoolSnapshot makePool(std::initializer_list<std::pair<const char*, std::uint32_t>> instances) {
    PoolSnapshot pool;
    pool.name = "p";
    for (const auto& [id, weight] : instances) {
        pool.instances.push_back(
            {id, "127.0.0.1:1", weight, std::make_shared<gaetwae::engine::health::InstanceState>()});
    }
    return pool;
}

std::string sequence(Balancer& balancer, const PoolSnapshot& pool, int picks, std::span<const std::size_t> avoid = {}) {
    std::string out;
    for (int i = 0; i < picks; ++i) {
        const auto index = balancer.pick(pool, RequestKey{}, avoid, nullptr);
        out += index ? pool.instances[*index].id : "-";
    }
    return out;
}

} // namespace

class TestRoundRobinBalancer : public QObject {
    Q_OBJECT

private slots:
    void rotatesInOrder() {
        const auto pool = makePool({{"a", 1}, {"b", 1}, {"c", 1}, {"d", 1}});
        RoundRobinBalancer balancer;
        QCOMPARE(sequence(balancer, pool, 9), std::string("abcdabcda"));
    }

    void skipsWeightZero() {
        const auto pool = makePool({{"a", 1}, {"b", 0}, {"c", 1}});
        RoundRobinBalancer balancer;
        QCOMPARE(sequence(balancer, pool, 6), std::string("acacac"));
    }

    void evenSpreadOverManyPicks() {
        const auto pool = makePool({{"a", 1}, {"b", 5}, {"c", 1}}); // weights are ignored by plain round robin
        RoundRobinBalancer balancer;
        std::map<std::string, int> counts;
        for (int i = 0; i < 10'000; ++i) {
            counts[pool.instances[*balancer.pick(pool, {}, {}, nullptr)].id]++;
        }
        QVERIFY(std::abs(counts["a"] - 3333) <= 1);
        QVERIFY(std::abs(counts["b"] - 3333) <= 1);
        QVERIFY(std::abs(counts["c"] - 3333) <= 1);
    }

    void avoidsTriedInstancesWhileOthersExist() {
        const auto pool = makePool({{"a", 1}, {"b", 1}, {"c", 1}});
        RoundRobinBalancer balancer;
        const std::array<std::size_t, 1> avoidB{1};
        QCOMPARE(sequence(balancer, pool, 4, avoidB), std::string("acac"));
    }

    void fallsBackToAvoidedWhenNothingElse() {
        const auto pool = makePool({{"a", 1}, {"b", 0}});
        RoundRobinBalancer balancer;
        const std::array<std::size_t, 1> avoidA{0};
        QCOMPARE(sequence(balancer, pool, 2, avoidA), std::string("aa"));
    }

    void nothingEligible() {
        RoundRobinBalancer balancer;
        QCOMPARE(sequence(balancer, makePool({}), 1), std::string("-"));
        QCOMPARE(sequence(balancer, makePool({{"a", 0}, {"b", 0}}), 2), std::string("--"));
    }

    void traceExplainsTheChoice() {
        const auto pool = makePool({{"a", 0}, {"b", 1}});
        RoundRobinBalancer balancer;
        PickTrace trace;
        const auto index = balancer.pick(pool, {}, {}, &trace);
        QCOMPARE(index, std::optional<std::size_t>(1));
        QCOMPARE(trace.candidates.size(), size_t(1));
        QCOMPARE(trace.excluded.size(), size_t(1));
        QCOMPARE(trace.excluded[0].second, std::string("weight 0"));
    }

    void factoryBuildsRoundRobin() {
        const auto pool = makePool({{"a", 1}, {"b", 1}});
        auto balancer = makeBalancer(pool);
        QVERIFY(dynamic_cast<RoundRobinBalancer*>(balancer.get()) != nullptr);
    }
};

QTEST_APPLESS_MAIN(TestRoundRobinBalancer)
#include "tst_round_robin_balancer.moc"

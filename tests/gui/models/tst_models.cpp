// Every console model under QAbstractItemModelTester, fed by a real engine where they show one:
// rows follow engines, pools and instances with exact insert/remove ranges, live columns follow
// traffic, and the events model caps and filters.
#include "gui/app/console_controller.hpp"
#include "gui/models/engines_model.hpp"
#include "gui/models/events_model.hpp"
#include "gui/models/instances_model.hpp"
#include "gui/models/pools_model.hpp"
#include "gui/models/routes_model.hpp"
#include "shared/model/config_codec.hpp"
#include "tests/gui/console_test_support.hpp"
#include "tests/support/fake_backend.hpp"
#include "tests/support/load.hpp"
#include "tests/support/test_client.hpp"
#include "tests/support/test_gateway.hpp"

#include <fmt/format.h>

#include <QAbstractItemModelTester>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

using namespace gaetwae;
using namespace gaetwae::console;
using namespace gaetwae::test;

namespace {

EngineEndpoint endpointFor(const QString& name, TestGateway& gateway) {
    return EngineEndpoint{name, QUrl(QStringLiteral("ws://127.0.0.1:%1/admin").arg(gateway.adminPort())),
                          QString::fromStdString(gateway.adminToken()), {}};
}

QString cell(const QAbstractItemModel& model, int row, int column) {
    return model.index(row, column).data().toString();
}

bool changeAndWait(EngineSession& session, std::vector<protocol::ConfigOperation> operations, QString& message) {
    std::optional<ApplyOutcome> outcome;
    session.change(std::move(operations), [&](ApplyOutcome o) { outcome = std::move(o); });
    [[maybe_unused]] const bool answered = QTest::qWaitFor([&] { return outcome.has_value(); }, 10000);
    message = outcome ? outcome->message : QStringLiteral("no answer");
    return outcome && outcome->applied;
}

protocol::EventRecord makeEvent(std::uint64_t sequence, const std::string& kind, const std::string& instance) {
    protocol::EventRecord e;
    e.sequence = sequence;
    e.kind = kind;
    e.timeMs = 1'795'000'000'000 + static_cast<std::int64_t>(sequence) * 1000;
    e.pool = "p";
    e.instance = instance;
    e.from = "closed";
    e.to = "open";
    return e;
}

} // namespace

class TestModels : public QObject {
    Q_OBJECT

private slots:
    void enginesModelFollowsTheControllersSessions() {
        FakeBackend a("a");
        TestGateway gateway(onePoolYaml({&a}));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        QTemporaryDir dir;
        ConsoleController controller(EngineDirectory(dir.filePath(QStringLiteral("engines.json"))), nullptr,
                                     fastClientOptions());
        EnginesModel model(controller);
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        QCOMPARE(model.rowCount(), 0);

        QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
        QVERIFY(controller.addEngine(endpointFor(QStringLiteral("first"), gateway)));
        EngineEndpoint unreachable = endpointFor(QStringLiteral("second"), gateway);
        unreachable.url.setPort(closedPort());
        QVERIFY(controller.addEngine(unreachable));
        QCOMPARE(model.rowCount(), 2);
        QCOMPARE(inserted.count(), 2);
        QCOMPARE(inserted.at(1).at(1).toInt(), 1);
        QCOMPARE(cell(model, 0, EnginesModel::Name), QStringLiteral("first"));
        QTRY_COMPARE_WITH_TIMEOUT(cell(model, 0, EnginesModel::State), QStringLiteral("connected"), 10000);
        QTRY_VERIFY_WITH_TIMEOUT(cell(model, 1, EnginesModel::State).startsWith(QLatin1String("reconnecting")), 10000);
        QTRY_VERIFY_WITH_TIMEOUT(cell(model, 0, EnginesModel::Rtt).endsWith(QLatin1String("ms")), 5000);
        QTRY_COMPARE_WITH_TIMEOUT(cell(model, 0, EnginesModel::DataAge), QStringLiteral("live"), 5000);
        QCOMPARE(cell(model, 1, EnginesModel::DataAge), QStringLiteral("no data"));
        QVERIFY(!cell(model, 0, EnginesModel::Version).isEmpty());

        // The directory was saved: a new controller finds both.
        EngineDirectory saved(dir.filePath(QStringLiteral("engines.json")));
        QVERIFY(saved.load());
        QCOMPARE(saved.engines().size(), std::size_t(2));

        QSignalSpy removed(&model, &QAbstractItemModel::rowsRemoved);
        QVERIFY(controller.removeEngine(QStringLiteral("first")));
        QCOMPARE(removed.count(), 1);
        QCOMPARE(removed.at(0).at(1).toInt(), 0);
        QCOMPARE(model.rowCount(), 1);
        QCOMPARE(cell(model, 0, EnginesModel::Name), QStringLiteral("second"));
    }

    void poolAndInstanceRowsFollowLiveChanges() {
        FakeBackend a("a"), b("b"), c("c");
        TestGateway gateway(onePoolYaml({&a, &b}), {1, nullptr, 5, std::nullopt});
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        EngineSession session(endpointFor(QStringLiteral("e"), gateway), fastClientOptions());
        PoolsModel pools;
        InstancesModel instances;
        QAbstractItemModelTester poolsTester(&pools, QAbstractItemModelTester::FailureReportingMode::QtTest);
        QAbstractItemModelTester instancesTester(&instances, QAbstractItemModelTester::FailureReportingMode::QtTest);
        pools.setSession(&session);
        instances.setPool(&session, QStringLiteral("p"));
        session.start();
        QTRY_COMPARE_WITH_TIMEOUT(instances.rowCount(), 2, 10000);
        QCOMPARE(pools.rowCount(), 1);
        QCOMPARE(cell(pools, 0, PoolsModel::Name), QStringLiteral("p"));
        QCOMPARE(cell(pools, 0, PoolsModel::Strategy), QStringLiteral("round_robin"));
        QCOMPARE(cell(instances, 1, InstancesModel::Address), QString::fromStdString(b.address()));

        // Traffic shows in the live columns within a frame or two.
        {
            KeepAliveLoad load(gateway.port(), KeepAliveLoad::Options{2, 20s, 200'000, "/"});
            QTRY_VERIFY_WITH_TIMEOUT(cell(pools, 0, PoolsModel::RequestsPerSecond).toDouble() > 0, 10000);
            QTRY_VERIFY_WITH_TIMEOUT(instances.live("a").share > 0.3 && instances.live("b").share > 0.3, 10000);
            QVERIFY(!cell(pools, 0, PoolsModel::P99).isEmpty());
            load.stop();
            QCOMPARE(load.failures(), std::uint64_t(0));
        }
        QCOMPARE(cell(pools, 0, PoolsModel::Instances), QStringLiteral("2 / 2"));

        // An added instance is one inserted row at the end; a removed one, one removed row.
        QSignalSpy inserted(&instances, &QAbstractItemModel::rowsInserted);
        QSignalSpy removed(&instances, &QAbstractItemModel::rowsRemoved);
        QSignalSpy reset(&instances, &QAbstractItemModel::modelReset);
        model::InstanceConfig added;
        added.id = "c";
        added.address = c.address();
        added.weight = 2;
        QString message;
        QVERIFY2(changeAndWait(session, {protocol::putInstance("p", added)}, message), qPrintable(message));
        QTRY_COMPARE_WITH_TIMEOUT(instances.rowCount(), 3, 5000);
        QCOMPARE(inserted.count(), 1);
        QCOMPARE(inserted.at(0).at(1).toInt(), 2);
        QCOMPARE(cell(instances, 2, InstancesModel::Id), QStringLiteral("c"));
        QCOMPARE(cell(instances, 2, InstancesModel::Weight), QStringLiteral("2"));
        QVERIFY2(changeAndWait(session, {protocol::removeInstance("p", "a")}, message), qPrintable(message));
        QTRY_COMPARE_WITH_TIMEOUT(instances.rowCount(), 2, 5000);
        QCOMPARE(removed.count(), 1);
        QCOMPARE(removed.at(0).at(1).toInt(), 0);
        QCOMPARE(reset.count(), 0);

        // Draining shows its progress down to zero requests in flight.
        QVERIFY2(changeAndWait(session, {protocol::setState("p", "b", model::InstanceState::Draining)}, message),
                 qPrintable(message));
        QTRY_COMPARE_WITH_TIMEOUT(cell(instances, 0, InstancesModel::State), QStringLiteral("drained"), 10000);
        QVERIFY(instances.index(0, 0).data(InstancesModel::DrainingRole).toBool());
        QCOMPARE(instances.index(0, 0).data(InstancesModel::BreakerRole).toString(), QStringLiteral("closed"));

        // Another session on the same models: rows are replaced, not mixed.
        pools.setSession(nullptr);
        instances.setPool(nullptr, {});
        QCOMPARE(pools.rowCount(), 0);
        QCOMPARE(instances.rowCount(), 0);
    }

    void routesFollowTheConfigurationInMatchOrder() {
        FakeBackend a("a");
        TestGateway gateway(onePoolYaml({&a}));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        EngineSession session(endpointFor(QStringLiteral("e"), gateway), fastClientOptions());
        RoutesModel routes;
        QAbstractItemModelTester tester(&routes, QAbstractItemModelTester::FailureReportingMode::QtTest);
        routes.setSession(&session);
        session.start();
        QTRY_COMPARE_WITH_TIMEOUT(routes.rowCount(), 1, 10000);
        QCOMPARE(cell(routes, 0, RoutesModel::Match), QStringLiteral("any host /* (any method)"));
        QCOMPARE(cell(routes, 0, RoutesModel::Pool), QStringLiteral("p"));

        // A route put first (index 0) is inserted as row 0: match order is display order.
        model::RouteConfig api;
        api.name = "api";
        api.match.pathPrefix = "/api";
        api.match.methods = {"GET", "POST"};
        api.pool = "p";
        api.stripPrefix = true;
        protocol::ConfigOperation put;
        put.kind = protocol::ConfigOperation::Kind::PutRoute;
        put.value = model::encodeRoute(api);
        put.index = 0;
        QSignalSpy inserted(&routes, &QAbstractItemModel::rowsInserted);
        QString message;
        QVERIFY2(changeAndWait(session, {put}, message), qPrintable(message));
        QTRY_COMPARE_WITH_TIMEOUT(routes.rowCount(), 2, 5000);
        QCOMPARE(inserted.count(), 1);
        QCOMPARE(inserted.at(0).at(1).toInt(), 0);
        QCOMPARE(cell(routes, 0, RoutesModel::Name), QStringLiteral("api"));
        QCOMPARE(cell(routes, 0, RoutesModel::Match), QStringLiteral("any host /api* (GET, POST)"));
        QCOMPARE(cell(routes, 0, RoutesModel::Rewrite), QStringLiteral("strip prefix"));

        // Traffic on the route shows in its row.
        TestClient client(gateway.port());
        for (int i = 0; i < 5; ++i) {
            QCOMPARE(client.get("/api/x")->status, 200);
        }
        QTRY_VERIFY_WITH_TIMEOUT(cell(routes, 0, RoutesModel::RequestsPerSecond).toInt() > 0, 5000);
    }

    void eventsAreCappedAndFiltered() {
        EventsModel events(5);
        QAbstractItemModelTester tester(&events, QAbstractItemModelTester::FailureReportingMode::QtTest);
        EventsFilterModel filter;
        filter.setSourceModel(&events);
        QAbstractItemModelTester filterTester(&filter, QAbstractItemModelTester::FailureReportingMode::QtTest);
        QSignalSpy removed(&events, &QAbstractItemModel::rowsRemoved);
        for (std::uint64_t i = 1; i <= 7; ++i) {
            events.add(QStringLiteral("e"), makeEvent(i, i % 2 == 0 ? "breaker" : "health", "i" + std::to_string(i)));
        }
        QCOMPARE(events.rowCount(), 5);
        QCOMPARE(removed.count(), 2); // the oldest went, one at a time
        QCOMPARE(events.eventAt(0).sequence, std::uint64_t(3));
        QCOMPARE(cell(events, 0, EventsModel::Change), QStringLiteral("closed → open"));

        filter.setKinds({QStringLiteral("breaker")});
        QCOMPARE(filter.rowCount(), 2); // sequences 4 and 6
        filter.setText(QStringLiteral("i6"));
        QCOMPARE(filter.rowCount(), 1);
        filter.setKinds({});
        filter.setText({});
        QCOMPARE(filter.rowCount(), 5);

        // A sampled decision explains itself.
        protocol::EventRecord decision = makeEvent(8, "decision", "b");
        decision.data = nlohmann::json::parse(
            R"({"chosen": "b", "strategy": "least_connections", "note": "", "panic": false,
                "candidates": [{"instance": "a", "weight": 1, "score": 3}, {"instance": "b", "weight": 1, "score": 1}],
                "excluded": [{"instance": "c", "reason": "breaker open"}]})");
        events.add(QStringLiteral("e"), decision);
        const QString why = cell(events, events.rowCount() - 1, EventsModel::Detail);
        QVERIFY2(why.contains(QLatin1String("least_connections chose b")) && why.contains(QLatin1String("a (score 3)")) &&
                     why.contains(QLatin1String("c (breaker open)")),
                 qPrintable(why));
        events.clear();
        QCOMPARE(events.rowCount(), 0);
    }
};

QTEST_MAIN(TestModels)
#include "tst_models.moc"

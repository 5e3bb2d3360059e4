// The pool settings form: it shows the pool's values, turns edits into a merge patch of what
// changed only, and that patch, applied through the change flow, is what the engine runs.
#include "gui/client/engine_session.hpp"
#include "gui/views/pool_settings_dialog.hpp"
#include "tests/gui/console_test_support.hpp"
#include "tests/support/fake_backend.hpp"
#include "tests/support/test_gateway.hpp"

#include <QComboBox>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QtTest>

using namespace gaetwae;
using namespace gaetwae::console;
using namespace gaetwae::test;

class TestPoolSettings : public QObject {
    Q_OBJECT

private slots:
    void mergePatchHasOnlyTheDifferences_data() {
        QTest::addColumn<QString>("before");
        QTest::addColumn<QString>("after");
        QTest::addColumn<QString>("patch");
        QTest::newRow("same") << R"({"a": 1, "b": {"c": 2}})" << R"({"a": 1, "b": {"c": 2}})" << "{}";
        QTest::newRow("changed") << R"({"a": 1, "b": {"c": 2, "d": 3}})" << R"({"a": 1, "b": {"c": 5, "d": 3}})"
                                 << R"({"b": {"c": 5}})";
        QTest::newRow("added") << R"({"a": 1})" << R"({"a": 1, "b": [1, 2]})" << R"({"b": [1, 2]})";
        QTest::newRow("removed") << R"({"a": 1, "b": {"c": 2}})" << R"({"a": 1})" << R"({"b": null})";
        QTest::newRow("nested removed") << R"({"b": {"c": 2, "d": 3}})" << R"({"b": {"d": 3}})"
                                        << R"({"b": {"c": null}})";
        QTest::newRow("array replaced whole") << R"({"on": [502, 503]})" << R"({"on": [503]})" << R"({"on": [503]})";
    }
    void mergePatchHasOnlyTheDifferences() {
        QFETCH(QString, before);
        QFETCH(QString, after);
        QFETCH(QString, patch);
        const auto b = nlohmann::json::parse(before.toStdString());
        const auto a = nlohmann::json::parse(after.toStdString());
        const auto p = PoolSettingsDialog::mergePatch(b, a);
        QCOMPARE(QString::fromStdString(p.dump()), QString::fromStdString(nlohmann::json::parse(patch.toStdString()).dump()));
        auto applied = b;
        applied.merge_patch(p);
        QCOMPARE(applied, a); // RFC 7386 round trip
    }

    void theFormShowsThePoolAndPatchesWhatChanged() {
        model::PoolConfig pool;
        pool.name = "api";
        pool.strategy = model::Strategy::RoundRobin;
        pool.retry.attempts = 2;
        PoolSettingsDialog dialog(pool);
        QCOMPARE(dialog.strategyBox()->currentText(), QStringLiteral("round_robin"));
        QVERIFY(dialog.field("retry/attempts") != nullptr);
        QCOMPARE(dialog.field("retry/attempts")->text(), QStringLiteral("2"));
        QCOMPARE(dialog.patch(), nlohmann::json::object()); // untouched: nothing to send

        dialog.strategyBox()->setCurrentText(QStringLiteral("least_connections"));
        dialog.field("retry/attempts")->setText(QStringLiteral("4"));
        dialog.field("circuit_breaker/open_timeout")->setText(QStringLiteral("7s"));
        const auto patch = dialog.patch();
        QCOMPARE(patch.at("strategy").get<std::string>(), std::string("least_connections"));
        QCOMPARE(patch.at("retry").at("attempts").get<int>(), 4);
        QCOMPARE(patch.at("circuit_breaker").at("open_timeout").get<std::string>(), std::string("7s"));
        QCOMPARE(patch.size(), std::size_t(3));
        QCOMPARE(patch.at("retry").size(), std::size_t(1));
    }

    void thePatchIsWhatTheEngineRuns() {
        FakeBackend a("a");
        TestGateway gateway(onePoolYaml({&a}));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        EngineSession session(EngineEndpoint{QStringLiteral("e"),
                                             QUrl(QStringLiteral("ws://127.0.0.1:%1/admin").arg(gateway.adminPort())),
                                             QString::fromStdString(gateway.adminToken()), {}},
                              fastClientOptions());
        session.start();
        QTRY_VERIFY_WITH_TIMEOUT(session.config().has_value(), 10000);
        PoolSettingsDialog dialog(session.config()->pools.at(0));
        dialog.strategyBox()->setCurrentText(QStringLiteral("power_of_two"));
        dialog.field("health_check/type")->setText(QStringLiteral("tcp"));
        dialog.field("health_check/interval")->setText(QStringLiteral("3s"));
        std::optional<ApplyOutcome> outcome;
        session.change({protocol::patchPool("p", dialog.patch())}, [&](ApplyOutcome o) { outcome = std::move(o); });
        QTRY_VERIFY_WITH_TIMEOUT(outcome.has_value(), 10000);
        QVERIFY2(outcome->applied, qPrintable(outcome->message));
        const model::GatewayConfig config = gateway.engine().config(); // a copy of the running one
        const auto& running = config.pools.at(0);
        QCOMPARE(model::toString(running.strategy), std::string_view("power_of_two"));
        QVERIFY(running.healthCheck.enabled);
        QCOMPARE(model::toString(running.healthCheck.type), std::string_view("tcp"));
        QCOMPARE(running.healthCheck.interval, model::Duration(3000));
        QCOMPARE(running.instances.size(), std::size_t(1)); // a patch leaves the instances alone

        // An invalid value is refused by the shared model before anything is sent.
        PoolSettingsDialog again(session.config()->pools.at(0));
        again.field("retry/attempts")->setText(QStringLiteral("lots"));
        std::optional<ChangePreview> preview;
        session.preview({protocol::patchPool("p", again.patch())}, [&](ChangePreview p) { preview = std::move(p); });
        QTRY_VERIFY_WITH_TIMEOUT(preview.has_value(), 10000);
        QVERIFY(!preview->valid());
        QVERIFY(preview->failure.isEmpty()); // local: the engine was not asked
        QVERIFY2(preview->errors.at(0).pointer.find("attempts") != std::string::npos, preview->errors.at(0).pointer.c_str());
    }
};

QTEST_MAIN(TestPoolSettings)
#include "tst_pool_settings.moc"

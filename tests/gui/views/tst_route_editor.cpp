// The route editor: it shows a route as form + JSON without changing anything untouched, decodes
// every edit with the shared model (problems named by field, OK disabled), offers a valid
// starting block for each policy, and what it produces, applied through the change flow, is
// the route the engine serves: a rate limit added in the console answers 429 on the wire.
#include "gui/client/engine_session.hpp"
#include "gui/views/route_editor_dialog.hpp"
#include "shared/model/config_codec.hpp"
#include "shared/model/route_rules_codec.hpp"
#include "tests/gui/console_test_support.hpp"
#include "tests/support/fake_backend.hpp"
#include "tests/support/test_client.hpp"
#include "tests/support/test_gateway.hpp"

#include <QComboBox>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QtTest>

using namespace gaetwae;
using namespace gaetwae::console;
using namespace gaetwae::test;

namespace {

model::RouteConfig routeFrom(const char* json) {
    model::Diagnostics diagnostics;
    auto route = model::decodeRoute(nlohmann::json::parse(json), "", diagnostics, model::UnknownKeys::Reject);
    if (!diagnostics.empty()) {
        qFatal("bad test route: %s", diagnostics.items().front().message.c_str());
    }
    return route;
}

// A configuration with pools p and q, a consumer with an API key, and `routes` (JSON array).
model::GatewayConfig configWith(const char* routes) {
    auto document = nlohmann::json::parse(
        R"({"listeners": [{"address": "127.0.0.1:0"}], )"
        R"("pools": [{"name": "p", "instances": [{"id": "a", "address": "127.0.0.1:1"}]}, )"
        R"({"name": "q", "instances": [{"id": "b", "address": "127.0.0.1:2"}]}], )"
        R"("consumers": [{"name": "app", "api_keys": ["sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"]}]})");
    document["routes"] = nlohmann::json::parse(routes);
    model::Diagnostics diagnostics;
    auto config = model::decodeGatewayConfig(document, diagnostics);
    if (!diagnostics.empty()) {
        qFatal("bad test config: %s: %s", diagnostics.items().front().pointer.c_str(),
               diagnostics.items().front().message.c_str());
    }
    return config;
}

const char* kOneRoute = R"([{"name": "r", "pool": "p", "match": {"path_prefix": "/r/"}}])";

QString joined(const QStringList& lines) {
    return lines.join(QLatin1Char('\n'));
}

} // namespace

class TestRouteEditor : public QObject {
    Q_OBJECT

private slots:
    void anUntouchedRouteComesBackExactly() {
        const auto route = routeFrom(
            R"({"name": "orders", "pool": "p", "priority": 5, )"
            R"("match": {"hosts": ["api.example.com", "*.example.org"], "path_regex": "^/orders/([0-9]+)$", )"
            R"("methods": ["GET", "PUT"], "headers": {"X-Version": "2"}}, )"
            R"("rate_limit": [{"key": "client_ip", "rate": "10/s", "burst": 5}], )"
            R"("cors": {"allow_origins": ["https://app.example.com"]}, )"
            R"("rewrite": {"replacement": "/v2/orders/$1"}, "x-team": "payments"})");
        model::GatewayConfig config = configWith("[]");
        config.routes.push_back(route);
        RouteEditorDialog dialog(config, std::string("orders"));
        QCOMPARE(dialog.field("name")->text(), QStringLiteral("orders"));
        QVERIFY(dialog.field("name")->isReadOnly()); // renaming would be a new route
        QCOMPARE(dialog.poolBox()->currentText(), QStringLiteral("p"));
        QCOMPARE(dialog.field("hosts")->text(), QStringLiteral("api.example.com, *.example.org"));
        QCOMPARE(dialog.pathKindBox()->currentText(), QStringLiteral("regex"));
        QCOMPARE(dialog.field("path")->text(), QStringLiteral("^/orders/([0-9]+)$"));
        QCOMPARE(dialog.field("methods")->text(), QStringLiteral("GET, PUT"));
        const auto settings = nlohmann::json::parse(dialog.settingsEdit()->toPlainText().toStdString());
        QVERIFY(settings.contains("rate_limit") && settings.contains("cors") && settings.contains("x-team"));
        QCOMPARE(settings.at("match").size(), std::size_t(1)); // only the header condition left there
        QVERIFY2(dialog.problems().isEmpty(), qPrintable(joined(dialog.problems())));
        QVERIFY(dialog.okButton()->isEnabled());
        QCOMPARE(dialog.route(), model::encodeRoute(route));
    }

    void formEditsReachTheRoute() {
        RouteEditorDialog dialog(configWith(kOneRoute), std::nullopt);
        QVERIFY(!dialog.okButton()->isEnabled()); // no name yet
        QVERIFY(joined(dialog.problems()).contains(QStringLiteral("name")));
        dialog.field("name")->setText(QStringLiteral("r"));
        QVERIFY2(joined(dialog.problems()).contains(QStringLiteral("exists already")), qPrintable(joined(dialog.problems())));
        QVERIFY(!dialog.okButton()->isEnabled()); // adding must not replace route r silently
        dialog.field("name")->setText(QStringLiteral("health"));
        dialog.pathKindBox()->setCurrentText(QStringLiteral("exact"));
        dialog.field("path")->setText(QStringLiteral("/healthz"));
        dialog.field("methods")->setText(QStringLiteral("GET, HEAD"));
        QVERIFY2(dialog.okButton()->isEnabled(), qPrintable(joined(dialog.problems())));
        const auto route = dialog.route();
        QCOMPARE(route.at("name").get<std::string>(), std::string("health"));
        QCOMPARE(route.at("pool").get<std::string>(), std::string("p"));
        QCOMPARE(route.at("match").at("path_exact").get<std::string>(), std::string("/healthz"));
        QVERIFY(!route.at("match").contains("path_prefix"));
        QCOMPARE(route.at("match").at("methods"), nlohmann::json::parse(R"(["GET", "HEAD"])"));
        QVERIFY(!route.at("match").contains("hosts")); // empty: any host
    }

    void problemsNameTheFieldAndDisableOk_data() {
        QTest::addColumn<QString>("settings");
        QTest::addColumn<QString>("expected");
        QTest::newRow("not json") << R"({"rate_limit": [)" << "not valid JSON";
        QTest::newRow("not an object") << "[1, 2]" << "JSON object";
        QTest::newRow("bad rate") << R"({"rate_limit": [{"key": "client_ip", "rate": "lots"}]})"
                                  << "rate_limit[0].rate";
        QTest::newRow("unknown field") << R"({"rate_limt": []})" << "rate_limt";
        QTest::newRow("bad cors origin") << R"({"cors": {"allow_origins": ["app.example.com"]}})"
                                         << "cors.allow_origins[0]";
        QTest::newRow("bad header variable") << R"({"request_headers": {"set": {"X-A": "${nope}"}}})"
                                             << "request_headers.set";
        QTest::newRow("bad duration") << R"({"timeouts": {"upstream_response": "soon"}})"
                                      << "timeouts.upstream_response";
        QTest::newRow("whole-config rule") << R"({"strip_prefix": true, "rewrite_prefix": "/x/"})"
                                           << "rewrite_prefix: use either strip_prefix or rewrite_prefix";
    }
    void problemsNameTheFieldAndDisableOk() {
        QFETCH(QString, settings);
        QFETCH(QString, expected);
        RouteEditorDialog dialog(configWith(kOneRoute), std::string("r"));
        QVERIFY(dialog.okButton()->isEnabled());
        dialog.settingsEdit()->setPlainText(settings);
        QVERIFY(!dialog.okButton()->isEnabled());
        const QString problems = joined(dialog.problems());
        QVERIFY2(problems.contains(expected), qPrintable(problems));
        const auto* label = dialog.findChild<QLabel*>(QStringLiteral("problems"));
        QVERIFY(label != nullptr);
        QVERIFY2(label->text().contains(expected), qPrintable(label->text())); // shown to the operator
        dialog.settingsEdit()->setPlainText(QStringLiteral("{}"));
        QVERIFY2(dialog.okButton()->isEnabled(), qPrintable(joined(dialog.problems())));
    }

    void anUnknownPoolIsAProblem() {
        RouteEditorDialog dialog(configWith(kOneRoute), std::string("r"));
        dialog.poolBox()->setCurrentText(QStringLiteral("nope"));
        QVERIFY(!dialog.okButton()->isEnabled());
        QVERIFY2(joined(dialog.problems()).contains(QStringLiteral("pool: route refers to unknown pool 'nope'")),
                 qPrintable(joined(dialog.problems())));
        dialog.poolBox()->setCurrentText(QStringLiteral("q"));
        QVERIFY(dialog.okButton()->isEnabled());
        QCOMPARE(dialog.route().at("pool").get<std::string>(), std::string("q"));
    }

    void everyPolicyTemplateIsAValidStart_data() {
        QTest::addColumn<QString>("key");
        for (const auto& [key, value] : RouteEditorDialog::policyTemplates()) {
            QTest::newRow(key.c_str()) << QString::fromStdString(key);
        }
    }
    void everyPolicyTemplateIsAValidStart() {
        QFETCH(QString, key);
        RouteEditorDialog dialog(configWith(kOneRoute), std::string("r"));
        QVERIFY(dialog.addPolicy(key.toStdString()));
        QVERIFY2(dialog.problems().isEmpty(), qPrintable(joined(dialog.problems())));
        QVERIFY(dialog.okButton()->isEnabled());
        const auto route = dialog.route();
        QCOMPARE(route.at(key.toStdString()), RouteEditorDialog::policyTemplates().find(key.toStdString())->second);
        if (key == QStringLiteral("redirect")) {
            QVERIFY(!route.contains("pool")); // the gateway answers: no pool
        }
        // Twice: refused, the JSON left as it was and the reason shown.
        const QString before = dialog.settingsEdit()->toPlainText();
        QVERIFY(!dialog.addPolicy(key.toStdString()));
        QCOMPARE(dialog.settingsEdit()->toPlainText(), before);
        QVERIFY(dialog.findChild<QLabel*>(QStringLiteral("problems"))->text().contains(QStringLiteral("already")));
    }

    void aNewRouteGoesWhereItCanMatch() {
        model::GatewayConfig config = configWith(
            R"([{"name": "api", "pool": "p", "match": {"path_prefix": "/api/"}}, )"
            R"({"name": "all", "pool": "p", "match": {"path_prefix": "/"}}])");
        RouteEditorDialog adding(config, std::nullopt);
        adding.field("name")->setText(QStringLiteral("new"));
        adding.field("path")->setText(QStringLiteral("/new/"));
        const auto added = adding.change();
        QCOMPARE(added.kind, protocol::ConfigOperation::Kind::PutRoute);
        QCOMPARE(added.index, std::optional<std::size_t>(1)); // before the catch-all, after "api"
        RouteEditorDialog editing(config, std::string("api"));
        editing.field("path")->setText(QStringLiteral("/v2/"));
        QCOMPARE(editing.change().index, std::optional<std::size_t>()); // replaced where it is
        config.routes.pop_back();
        QCOMPARE(model::reachableInsertIndex(config.routes, routeFrom(R"({"name": "n", "pool": "p"})")),
                 std::size_t(1)); // nothing shadows it: the end
        // A higher-priority catch-all shadows every position: the end, and the dialog says why
        // the route would never match (a warning: OK stays enabled, as `--check` only warns).
        config.routes.at(0) = routeFrom(R"({"name": "api", "pool": "p", "priority": 9, "match": {"path_prefix": "/"}})");
        QCOMPARE(model::reachableInsertIndex(config.routes, routeFrom(R"({"name": "n", "pool": "p"})")),
                 std::size_t(1));
        RouteEditorDialog shadowed(config, std::nullopt);
        shadowed.field("name")->setText(QStringLiteral("n"));
        QVERIFY(shadowed.problems().isEmpty());
        QVERIFY(shadowed.okButton()->isEnabled());
        QVERIFY2(joined(shadowed.warnings()).contains(QStringLiteral("can never match")), qPrintable(joined(shadowed.warnings())));
        QVERIFY(shadowed.findChild<QLabel*>(QStringLiteral("problems"))->text().contains(QStringLiteral("can never match")));
        QVERIFY(adding.warnings().isEmpty());
    }

    void anAddedPolicyIsWhatTheEngineServes() {
        FakeBackend a("a");
        TestGateway gateway(onePoolYaml({&a})); // route "all": path_prefix "/"
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        EngineSession session(EngineEndpoint{QStringLiteral("e"),
                                             QUrl(QStringLiteral("ws://127.0.0.1:%1/admin").arg(gateway.adminPort())),
                                             QString::fromStdString(gateway.adminToken()), {}},
                              fastClientOptions());
        session.start();
        QTRY_VERIFY_WITH_TIMEOUT(session.config().has_value(), 10000);

        RouteEditorDialog dialog(*session.config(), std::nullopt);
        dialog.field("name")->setText(QStringLiteral("limited"));
        dialog.field("path")->setText(QStringLiteral("/limited/"));
        QVERIFY(dialog.addPolicy("rate_limit"));
        QString settings = dialog.settingsEdit()->toPlainText();
        settings.replace(QStringLiteral("\"100/s\""), QStringLiteral("\"1/m\"")).replace(QStringLiteral("50"),
                                                                                         QStringLiteral("1"));
        dialog.settingsEdit()->setPlainText(settings);
        QVERIFY2(dialog.okButton()->isEnabled(), qPrintable(joined(dialog.problems())));

        std::optional<ApplyOutcome> outcome;
        session.change({dialog.change()},
                       [&](ApplyOutcome o) { outcome = std::move(o); });
        QTRY_VERIFY_WITH_TIMEOUT(outcome.has_value(), 10000);
        QVERIFY2(outcome->applied, qPrintable(outcome->message));
        const model::GatewayConfig running = gateway.engine().config();
        QCOMPARE(running.routes.size(), std::size_t(2));
        QCOMPARE(running.routes.at(0).name, std::string("limited")); // before the catch-all

        // 1/m with burst 1: two requests pass, the third is refused with the limit's headers.
        for (int i = 0; i < 2; ++i) {
            const auto response = fetch(gateway.port(), "/limited/x");
            QVERIFY(response.has_value());
            QCOMPARE(response->status, 200);
            QCOMPARE(response->header("X-RateLimit-Limit"), std::string("2"));
        }
        const auto refused = fetch(gateway.port(), "/limited/x");
        QVERIFY(refused.has_value());
        QCOMPARE(refused->status, 429);
        QCOMPARE(refused->json().value("error", std::string()), std::string("rate_limited"));
        const auto other = fetch(gateway.port(), "/other"); // the catch-all has no limit
        QVERIFY(other.has_value());
        QCOMPARE(other->status, 200);
        QVERIFY(other->header("X-RateLimit-Limit").empty());

        // Removing it from the console: its requests fall through to the catch-all again.
        outcome.reset();
        session.change({protocol::removeRoute("limited")}, [&](ApplyOutcome o) { outcome = std::move(o); });
        QTRY_VERIFY_WITH_TIMEOUT(outcome.has_value(), 10000);
        QVERIFY2(outcome->applied, qPrintable(outcome->message));
        const auto again = fetch(gateway.port(), "/limited/x");
        QVERIFY(again.has_value());
        QCOMPARE(again->status, 200);
        QVERIFY(again->header("X-RateLimit-Limit").empty());
    }
};

QTEST_MAIN(TestRouteEditor)
#include "tst_route_editor.moc"

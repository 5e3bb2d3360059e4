// The gaetwaed executable: command line, --check, start-up errors, SIGHUP reload under load,
// refused reloads, graceful SIGTERM drain, the built-in demo and `gaetwaed ctl`.
#include "engine/config/config_loader.hpp"
#include "tests/support/engine_process.hpp"
#include "tests/support/fake_backend.hpp"
#include "tests/support/load.hpp"
#include "tests/support/test_client.hpp"

#include <fmt/format.h>

#include <QTemporaryDir>
#include <QtTest>

#include <atomic>
#include <csignal>
#include <fstream>
#include <set>
#include <thread>

using namespace gaetwae::test;

namespace {

std::string yamlFor(const std::vector<const FakeBackend*>& backends, const std::string& extra = "") {
    std::string yaml = "workers: 2\nlisteners: [{address: \"127.0.0.1:0\"}]\naccess_log: {enabled: false}\n" + extra +
                       "routes: [{name: all, match: {path_prefix: /}, pool: p}]\n"
                       "pools:\n  - name: p\n    instances:\n";
    for (const auto* backend : backends) {
        yaml += fmt::format("      - {{id: {}, address: \"{}\"}}\n", backend->name(), backend->address());
    }
    return yaml;
}

QString writeFile(const QTemporaryDir& dir, const QString& name, const std::string& text) {
    const QString path = dir.filePath(name);
    std::ofstream(path.toStdString()) << text;
    return path;
}

} // namespace

class TestGaetwaed : public QObject {
    Q_OBJECT

private slots:
    void helpAndVersion() {
        const auto help = runGaetwaed({"--help"});
        QCOMPARE(help.exitCode, 0);
        QVERIFY(help.output.contains("--check"));
        const auto version = runGaetwaed({"--version"});
        QCOMPARE(version.exitCode, 0);
        QVERIFY(version.output.startsWith("gaetwaed "));
        const auto bad = runGaetwaed({"--frobnicate"});
        QCOMPARE(bad.exitCode, 2);
        QVERIFY(bad.output.contains("unknown option"));
    }

    void checkAcceptsAValidConfig() {
        FakeBackend backend("b");
        QTemporaryDir dir;
        const auto path = writeFile(dir, "ok.yaml", yamlFor({&backend}));
        const auto result = runGaetwaed({"--check", path});
        QVERIFY2(result.exitCode == 0, qPrintable(result.output));
        QVERIFY(result.output.contains("configuration is valid"));
        const auto shipped = runGaetwaed({"--check", QStringLiteral(GAETWAE_SOURCE_DIR "/resources/config/example.yaml")});
        QVERIFY2(shipped.exitCode == 0, qPrintable(shipped.output));
    }

    void checkListsEveryErrorWithItsLine() {
        QTemporaryDir dir;
        const auto path = writeFile(dir, "bad.yaml", R"(listeners:
  - address: 127.0.0.1:0
routes:
  - name: all
    pool: p
pools:
  - name: p
    instances:
      - id: a
        address: 127.0.0.1:9001
        weigth: 3
      - id: b
        address: 127.0.0.1
timeouts:
  client_header: 10
)");
        const auto result = runGaetwaed({"--check", path});
        QCOMPARE(result.exitCode, 1);
        QVERIFY2(result.output.contains(path + ":11:9: pools[0].instances[0].weigth: unknown field 'weigth'"),
                 qPrintable(result.output));
        QVERIFY2(result.output.contains(path + ":15:18: timeouts.client_header:"), qPrintable(result.output));
        QVERIFY(result.output.contains("error(s)"));
    }

    void checkResolvesHosts() {
        QTemporaryDir dir;
        const auto path = writeFile(dir, "dns.yaml", R"(listeners: [{address: "127.0.0.1:0"}]
routes: [{name: all, pool: p}]
pools:
  - name: p
    instances:
      - {id: a, address: "no-such-host.invalid:80"}
)");
        const auto result = runGaetwaed({"--check", path});
        QCOMPARE(result.exitCode, 1);
        QVERIFY2(result.output.contains(path + ":6:") && result.output.contains("cannot resolve host"),
                 qPrintable(result.output));
    }

    void refusesToStartOnBadConfigOrBusyPort() {
        QTemporaryDir dir;
        const auto bad = runGaetwaed({writeFile(dir, "bad.yaml", "listeners: []\npools: []\n")});
        QCOMPARE(bad.exitCode, 1);
        QVERIFY(bad.output.contains("at least one listener"));

        FakeBackend backend("b"); // its port is taken
        const auto busy = runGaetwaed(
            {writeFile(dir, "busy.yaml", "listeners: [{address: \"127.0.0.1:" + std::to_string(backend.port()) +
                                             "\"}]\nroutes: []\npools: []\n")});
        QCOMPARE(busy.exitCode, 1);
        QVERIFY2(busy.output.contains("cannot bind") && busy.output.contains(":1:"), qPrintable(busy.output));
    }

    void reloadUnderLoadDropsNothing() {
        FakeBackend a("a"), b("b");
        EngineProcess engine;
        QVERIFY2(engine.start(yamlFor({&a})), qPrintable(engine.output()));
        KeepAliveLoad load(engine.port(), 4);
        QVERIFY2(load.waitForOk(200, 20s), load.lastError().c_str());
        const std::vector<std::vector<const FakeBackend*>> sets{{&b}, {&a, &b}, {&a}};
        for (int i = 0; i < 10; ++i) {
            const auto before = load.ok();
            QVERIFY(engine.rewriteConfig(yamlFor(sets[i % sets.size()])));
            engine.signal(SIGHUP);
            QVERIFY2(engine.waitForOutput(QRegularExpression(QString("configuration version %1 applied").arg(i + 2)), 20s),
                     qPrintable(engine.output()));
            QVERIFY2(load.waitForOk(before + 100, 20s), load.lastError().c_str());
        }
        // A broken file is refused; traffic carries on with the last good config.
        QVERIFY(engine.rewriteConfig(yamlFor({&b}) + "  - name: p\n"));
        engine.signal(SIGHUP);
        QVERIFY2(engine.waitForOutput(QRegularExpression("reload refused; configuration version 11 stays active"), 20s),
                 qPrintable(engine.output()));
        QVERIFY(engine.output().contains("duplicate pool name 'p'"));
        const auto before = load.ok();
        QVERIFY2(load.waitForOk(before + 100, 20s), load.lastError().c_str());
        load.stop();
        QCOMPARE(load.failures(), std::uint64_t(0));
        QVERIFY(a.requestsReceived() > 0 && b.requestsReceived() > 0);
        qInfo("%llu requests across 10 reloads, none failed", static_cast<unsigned long long>(load.ok()));
    }

    void sigtermDrainsInFlightRequests() {
        FakeBackend backend("b", [](const ReceivedRequest& request) {
            Reply reply;
            if (request.target == "/slow") {
                reply.action = Reply::Action::WaitForRelease;
            }
            reply.body = "done";
            return reply;
        });
        EngineProcess engine;
        QVERIFY2(engine.start(yamlFor({&backend}, "timeouts: {drain: 30s}\n")), qPrintable(engine.output()));
        TestClient idle(engine.port());
        QCOMPARE(idle.get("/")->status, 200); // an idle keep-alive connection: closed at once by the drain

        TestClient slow(engine.port(), 30s);
        QVERIFY(slow.sendRaw("GET /slow HTTP/1.1\r\nHost: h\r\n\r\n"));
        QVERIFY(backend.waitForRequests(2, 10s));
        engine.signal(SIGTERM);
        QVERIFY(engine.waitForOutput(QRegularExpression("draining"), 10s));
        QVERIFY(idle.waitForClose(10s));
        // New clients are turned away while the slow request is still running.
        QTRY_VERIFY_WITH_TIMEOUT(connectionRefused(engine.port()), 10000);
        QVERIFY(engine.exitStatus() == QProcess::NormalExit);

        backend.release();
        const auto response = slow.readResponse();
        QVERIFY2(response, slow.error().c_str());
        QCOMPARE(response->status, 200);
        QCOMPARE(response->body, std::string("done"));
        QCOMPARE(response->header("Connection"), std::string("close"));
        QVERIFY(engine.waitForExit(20s));
        QCOMPARE(engine.exitStatus(), QProcess::NormalExit);
        QCOMPARE(engine.exitCode(), 0);
        QVERIFY(engine.output().contains("stopped"));
    }

    void drainTimeoutCutsStragglers() {
        FakeBackend backend("b", [](const ReceivedRequest&) {
            Reply reply;
            reply.action = Reply::Action::Hang;
            return reply;
        });
        EngineProcess engine;
        QVERIFY2(engine.start(yamlFor({&backend}, "timeouts: {drain: 300ms}\n")), qPrintable(engine.output()));
        TestClient client(engine.port(), 30s);
        QVERIFY(client.sendRaw("GET / HTTP/1.1\r\nHost: h\r\n\r\n"));
        QVERIFY(backend.waitForRequests(1, 10s));
        engine.signal(SIGTERM);
        QVERIFY(engine.waitForExit(20s));
        QCOMPARE(engine.exitCode(), 0);
        QVERIFY(engine.output().contains("drain ended with 1 connection(s) still open"));
        QVERIFY(client.waitForClose(5s));
        backend.release();
    }

    void ctlDrivesARunningEngine() {
        FakeBackend a("a"), b("b");
        EngineProcess engine;
        QVERIFY2(engine.start(yamlFor({&a, &b})), qPrintable(engine.output()));
        QVERIFY(engine.adminPort() != 0);
        auto ctl = [&](QStringList args) {
            return runGaetwaed(QStringList{"ctl", "--url", engine.adminUrl(), "--token-file", engine.tokenPath()} + args);
        };
        auto onDisk = [&] { return gaetwae::engine::config::loadConfigFile(engine.configPath().toStdString()); };

        auto result = ctl({"status"});
        QVERIFY2(result.exitCode == 0, qPrintable(result.output));
        QVERIFY2(result.output.contains("configuration version 1") && result.output.contains("(changes are saved)"),
                 qPrintable(result.output));
        QVERIFY2(QRegularExpression("\\bp\\s+round_robin\\s+2/2").match(result.output).hasMatch(), qPrintable(result.output));

        result = ctl({"pools"});
        QVERIFY2(result.exitCode == 0 && result.output.contains(QString::fromStdString(b.address())),
                 qPrintable(result.output));

        result = ctl({"weight", "p", "a", "5"});
        QVERIFY2(result.exitCode == 0 && result.output.contains("configuration version 2"), qPrintable(result.output));
        QCOMPARE(onDisk().loaded->config.pools[0].instances[0].weight, 5u);

        result = ctl({"drain", "p", "b", "--wait", "10"});
        QVERIFY2(result.exitCode == 0 && result.output.contains("p/b drained"), qPrintable(result.output));
        QVERIFY(onDisk().loaded->config.pools[0].instances[1].state == gaetwae::model::InstanceState::Draining);

        result = ctl({"weight", "p", "nope", "1"});
        QCOMPARE(result.exitCode, 1);
        QVERIFY2(result.output.contains("does not exist"), qPrintable(result.output));
        QCOMPARE(ctl({"weight", "p", "a", "heavy"}).exitCode, 2);
        QCOMPARE(ctl({"frobnicate"}).exitCode, 2);

        // apply: the whole file, validated first where it is, then all or nothing.
        QTemporaryDir dir;
        const std::string admin = "admin: {address: \"127.0.0.1:0\", token_file: \"" + engine.tokenPath().toStdString() + "\"}\n";
        const auto next = yamlFor({&a}, admin);
        const auto nextPath = writeFile(dir, "next.yaml", next);
        result = ctl({"validate", nextPath});
        QVERIFY2(result.exitCode == 0 && result.output.contains("valid;") && result.output.contains("/pools/0/instances/1"),
                 qPrintable(result.output));
        result = ctl({"apply", nextPath});
        QVERIFY2(result.exitCode == 0 && result.output.contains("configuration version 4"), qPrintable(result.output));
        const auto applied = onDisk();
        QVERIFY2(applied.ok(), applied.errorText().c_str());
        QCOMPARE(applied.loaded->config.pools[0].instances.size(), std::size_t(1));

        const auto badPath = writeFile(dir, "bad.yaml", next + "      - {id: a, address: \"127.0.0.1:1\"}\n");
        result = ctl({"apply", badPath});
        QCOMPARE(result.exitCode, 1);
        QVERIFY2(result.output.contains("bad.yaml:") && result.output.contains("duplicate"), qPrintable(result.output));
        QVERIFY2(ctl({"status"}).output.contains("configuration version 4"), "a refused file changed the engine");

        result = ctl({"history"});
        QVERIFY2(result.exitCode == 0 && result.output.contains("set weight of p/a to 5") &&
                     result.output.contains("replace the configuration"),
                 qPrintable(result.output));

        // events: a second ctl waits for the next event while this one changes something.
        QProcess tail;
        tail.setProcessChannelMode(QProcess::MergedChannels);
        tail.start(EngineProcess::binary(), {"ctl", "--url", engine.adminUrl(), "--token-file", engine.tokenPath(),
                                             "events", "--count", "2"});
        QVERIFY(tail.waitForStarted(10000));
        bool saw = false;
        for (int attempt = 0; attempt < 50 && !saw; ++attempt) { // until the subscription is in place
            QCOMPARE(ctl({"weight", "p", "a", QString::number(1 + attempt % 2)}).exitCode, 0);
            saw = tail.waitForFinished(200);
        }
        const auto events = QString::fromUtf8(tail.readAll());
        QVERIFY2(saw, qPrintable(events));
        QCOMPARE(tail.exitCode(), 0);
        QVERIFY2(events.contains(" config "), qPrintable(events));

        // Connection problems are exit 3 with a reason.
        QTemporaryDir other;
        const auto wrongToken = writeFile(other, "token", std::string(64, 'a') + "\n");
        result = runGaetwaed({"ctl", "--url", engine.adminUrl(), "--token-file", wrongToken, "status"});
        QCOMPARE(result.exitCode, 3);
        QVERIFY2(result.output.contains("401"), qPrintable(result.output));
        result = runGaetwaed({"ctl", "--url", QString("ws://127.0.0.1:%1/admin").arg(closedPort()), "--token-file",
                              engine.tokenPath(), "status"});
        QCOMPARE(result.exitCode, 3);
        QVERIFY2(result.output.contains("cannot connect"), qPrintable(result.output));
    }

    void builtInDemoServesOutOfTheBox() {
        // The demo config's fixed ports, as a user runs it; skip nothing: if they are busy the
        // engine must say so, so this test needs them free.
        for (const std::uint16_t port : {8080, 9101, 9102, 9103, 9901}) {
            QVERIFY2(connectionRefused(port), qPrintable(QString("port %1 is in use on this machine").arg(port)));
        }
        QProcess process;
        process.setProcessChannelMode(QProcess::MergedChannels);
        QTemporaryDir state; // the admin token goes to $XDG_STATE_HOME/gaetwae/admin.token
        auto environment = QProcessEnvironment::systemEnvironment();
        environment.insert("XDG_STATE_HOME", state.path());
        process.setProcessEnvironment(environment);
        process.start(EngineProcess::binary(), {"--demo", "--workers", "1"});
        QVERIFY(process.waitForStarted(10000));
        QString output;
        QTRY_VERIFY_WITH_TIMEOUT((output += QString::fromUtf8(process.readAll())).contains("listening on 127.0.0.1:8080"),
                                 20000);
        std::set<std::string> instances;
        TestClient client(8080);
        for (int i = 0; i < 6; ++i) {
            const auto response = client.get("/hello");
            QVERIFY2(response && response->status == 200, client.error().c_str());
            instances.insert(response->json()["instance"].get<std::string>());
            QCOMPARE(response->header("X-Instance"), response->json()["instance"].get<std::string>());
        }
        QCOMPARE(instances, (std::set<std::string>{"demo-1", "demo-2", "demo-3"}));
        // The admin API came up on its default address with a fresh owner-only token.
        QVERIFY(output.contains("admin API on ws://127.0.0.1:9901/admin"));
        const QFileInfo token(state.filePath("gaetwae/admin.token"));
        QVERIFY(token.exists());
        QCOMPARE(token.permissions() & (QFileDevice::ReadGroup | QFileDevice::ReadOther | QFileDevice::WriteGroup |
                                        QFileDevice::WriteOther),
                 QFileDevice::Permissions());
        ::kill(static_cast<pid_t>(process.processId()), SIGINT);
        QVERIFY(process.waitForFinished(20000));
        QCOMPARE(process.exitCode(), 0);
    }
};

QTEST_GUILESS_MAIN(TestGaetwaed)
#include "tst_gaetwaed.moc"

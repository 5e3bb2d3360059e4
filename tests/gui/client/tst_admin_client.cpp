// The console's admin client and engine session against a real in-process engine over real
// sockets: connect, token refusal, reconnect with backfill across an outage, the change flow
// (local and engine validation, apply, conflict, revert) and the engine directory file.
#include "gui/client/admin_client.hpp"
#include "gui/client/engine_directory.hpp"
#include "gui/client/engine_session.hpp"
#include "tests/gui/console_test_support.hpp"
#include "tests/support/fake_backend.hpp"
#include "tests/support/test_gateway.hpp"
#include "tests/support/toggle_proxy.hpp"
#include "tests/support/ws_admin_client.hpp"

#include <fmt/format.h>

#include <QDateTime>
#include <QFileInfo>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include <set>

using namespace gaetwae;
using namespace gaetwae::console;
using namespace gaetwae::test;

namespace {

EngineEndpoint endpointFor(std::uint16_t port, const std::string& token) {
    return EngineEndpoint{QStringLiteral("test"), QUrl(QStringLiteral("ws://127.0.0.1:%1/admin").arg(port)),
                          QString::fromStdString(token), {}};
}

std::uint32_t weightOf(TestGateway& gateway, const std::string& id) {
    for (const auto& pool : gateway.engine().config().pools) {
        for (const auto& instance : pool.instances) {
            if (instance.id == id) {
                return instance.weight;
            }
        }
    }
    return 0;
}

// Runs `start` and spins the event loop until its callback has delivered a value.
template <class T>
std::optional<T> await(const std::function<void(std::function<void(T)>)>& start, int timeoutMs = 10000) {
    std::optional<T> out;
    start([&out](T value) { out = std::move(value); });
    [[maybe_unused]] const bool answered = QTest::qWaitFor([&] { return out.has_value(); }, timeoutMs);
    return out;
}

} // namespace

class TestAdminClient : public QObject {
    Q_OBJECT

private slots:
    void connectsSubscribesAndMeasuresTheRoundTrip() {
        FakeBackend a("a");
        TestGateway gateway(onePoolYaml({&a}));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        AdminClient client(fastClientOptions());
        QSignalSpy ready(&client, &AdminClient::ready);
        QSignalSpy frames(&client, &AdminClient::statsReceived);
        client.open(endpointFor(gateway.adminPort(), gateway.adminToken()));
        QCOMPARE(client.state(), AdminClient::State::Connecting);
        QTRY_COMPARE_WITH_TIMEOUT(client.state(), AdminClient::State::Connected, 10000);
        QCOMPARE(ready.count(), 1);
        QCOMPARE(client.hello().protocolVersion, protocol::kProtocolVersion);
        QVERIFY(client.configVersion() > 0);
        QCOMPARE(client.engineInfo().pid, static_cast<std::int64_t>(QCoreApplication::applicationPid()));
        // Live frames once a second, and pongs for the round trip.
        QTRY_VERIFY_WITH_TIMEOUT(std::any_of(frames.begin(), frames.end(),
                                             [](const QList<QVariant>& args) { return !args.at(1).toBool(); }),
                                 5000);
        QTRY_VERIFY_WITH_TIMEOUT(client.rttMs() >= 0, 5000);
        QVERIFY(client.dataAgeMs() >= 0 && client.dataAgeMs() < 5000);

        // Calls answer through their callback; unknown methods come back as the engine's error.
        const auto unknown = await<RpcOutcome>([&](auto done) { client.call("no.such", nlohmann::json::object(), done); });
        QVERIFY(unknown && unknown->error);
        QCOMPARE(unknown->error->code, protocol::rpc::kMethodNotFound);

        client.close();
        QCOMPARE(client.state(), AdminClient::State::Disconnected);
        const auto closed = await<RpcOutcome>([&](auto done) { client.call("hello", nlohmann::json::object(), done); });
        QVERIFY(closed && closed->error);
        QCOMPARE(closed->error->code, kTransportError);
    }

    void aRefusedTokenStopsRetrying() {
        FakeBackend a("a");
        TestGateway gateway(onePoolYaml({&a}));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        AdminClient client(fastClientOptions());
        QSignalSpy errors(&client, &AdminClient::errorOccurred);
        client.open(endpointFor(gateway.adminPort(), std::string(64, '0')));
        QTRY_COMPARE_WITH_TIMEOUT(client.state(), AdminClient::State::Unauthorized, 10000);
        QVERIFY2(client.lastError().contains(QLatin1String("401")), qPrintable(client.lastError()));
        QCOMPARE(client.nextRetryInMs(), 0); // no retry scheduled: the same token cannot succeed
        QVERIFY(!client.lastError().contains(QString(64, QLatin1Char('0'))));

        // A token file that does not exist yet is retried (the engine may be starting).
        QTemporaryDir dir;
        EngineEndpoint viaFile = endpointFor(gateway.adminPort(), "");
        viaFile.tokenFile = dir.filePath(QStringLiteral("admin.token"));
        client.open(viaFile);
        QTRY_VERIFY_WITH_TIMEOUT(client.lastError().contains(QLatin1String("token file")), 5000);
        QCOMPARE(client.state(), AdminClient::State::Reconnecting);
        QFile file(viaFile.tokenFile);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write(QByteArray::fromStdString(gateway.adminToken() + "\n"));
        file.close();
        QTRY_COMPARE_WITH_TIMEOUT(client.state(), AdminClient::State::Connected, 10000);
    }

    void reconnectsAndBackfillsTheGapWithoutDuplicates() {
        FakeBackend a("a");
        TestGateway gateway(onePoolYaml({&a}));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        ToggleProxy proxy(gateway.adminPort());
        AdminClient client(fastClientOptions());
        std::vector<std::pair<std::int64_t, bool>> frames; // time, backfill
        std::vector<protocol::EventRecord> events;
        connect(&client, &AdminClient::statsReceived, this,
                [&](const protocol::StatsFrame& frame, bool backfill) { frames.emplace_back(frame.timeMs, backfill); });
        connect(&client, &AdminClient::eventReceived, this,
                [&](const protocol::EventRecord& event, bool) { events.push_back(event); });
        client.open(endpointFor(proxy.port(), gateway.adminToken()));
        QTRY_COMPARE_WITH_TIMEOUT(client.state(), AdminClient::State::Connected, 10000);
        QTRY_VERIFY_WITH_TIMEOUT(!frames.empty() && !frames.back().second, 5000);

        // Outage: connections cut, connects refused, while the engine goes on making frames
        // and a configuration change happens.
        proxy.cut();
        QTRY_COMPARE_WITH_TIMEOUT(client.state(), AdminClient::State::Reconnecting, 5000);
        const std::int64_t lastBefore = frames.back().first;
        const std::size_t framesBefore = frames.size();
        std::string heavier = onePoolYaml({&a});
        heavier.insert(heavier.rfind('}'), ", weight: 2");
        const std::string applyError = gateway.apply(heavier);
        QVERIFY2(applyError.empty(), applyError.c_str());
        WsAdminClient direct;
        QVERIFY2(direct.connect(gateway.adminPort(), gateway.adminToken()), direct.error().c_str());
        QTRY_VERIFY_WITH_TIMEOUT(QDateTime::currentMSecsSinceEpoch() > lastBefore + 3500, 10000);
        QVERIFY(proxy.resume());
        QTRY_COMPARE_WITH_TIMEOUT(client.state(), AdminClient::State::Connected, 10000);
        QTRY_VERIFY_WITH_TIMEOUT(frames.size() > framesBefore + 3 && !frames.back().second, 10000);

        // Every frame the engine made since the first one received arrived exactly once, in order.
        const auto history = direct.result("stats.history");
        std::vector<std::int64_t> engineTimes;
        for (const auto& frame : history.at("frames")) {
            const auto time = frame.at("time").get<std::int64_t>();
            if (time >= frames.front().first && time <= frames.back().first) {
                engineTimes.push_back(time);
            }
        }
        std::vector<std::int64_t> received;
        for (const auto& [time, backfill] : frames) {
            received.push_back(time);
        }
        QCOMPARE(received, engineTimes);
        QVERIFY(std::any_of(frames.begin() + static_cast<std::ptrdiff_t>(framesBefore), frames.end(),
                            [](const auto& f) { return f.second; })); // the gap came as backfill
        QVERIFY(proxy.connectionsAccepted() >= 2);
        // The change made during the outage arrived as an event, once.
        QTRY_VERIFY_WITH_TIMEOUT(std::count_if(events.begin(), events.end(),
                                               [](const auto& e) { return e.kind == "config"; }) >= 1,
                                 5000);
        std::set<std::uint64_t> sequences;
        for (const auto& event : events) {
            QVERIFY2(sequences.insert(event.sequence).second, "an event was delivered twice");
        }
    }

    void changesAreValidatedAppliedAndRevertible() {
        FakeBackend a("a"), b("b");
        TestGateway gateway(onePoolYaml({&a, &b}));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        EngineSession session(endpointFor(gateway.adminPort(), gateway.adminToken()), fastClientOptions());
        QSignalSpy poolsChanged(&session, &EngineSession::poolsChanged);
        session.start();
        QTRY_VERIFY_WITH_TIMEOUT(poolsChanged.count() > 0 && session.config().has_value(), 10000);
        QCOMPARE(session.pools().pools.size(), std::size_t(1));
        const std::uint64_t start = session.configVersion();

        // Out of range: the shared model refuses it before anything is sent.
        const auto invalid = await<ChangePreview>(
            [&](auto done) { session.preview({protocol::setWeight("p", "a", 20000)}, done); });
        QVERIFY(invalid && !invalid->valid());
        QVERIFY(invalid->failure.isEmpty());
        QVERIFY2(QString::fromStdString(invalid->errors.at(0).pointer).contains(QLatin1String("weight")),
                 invalid->errors.at(0).pointer.c_str());
        // An unknown instance: refused with the engine's own words.
        const auto missing = await<ChangePreview>(
            [&](auto done) { session.preview({protocol::setWeight("p", "zz", 2)}, done); });
        QVERIFY(missing && !missing->valid());

        // A valid one: the dry run gives the diff; applying creates a version.
        const auto preview = await<ChangePreview>(
            [&](auto done) { session.preview({protocol::setWeight("p", "a", 7)}, done); });
        QVERIFY(preview && preview->valid());
        QCOMPARE(preview->baseVersion, start);
        QCOMPARE(preview->diff.size(), std::size_t(1));
        QCOMPARE(preview->diff.at(0).at("path").get<std::string>(), std::string("/pools/0/instances/0/weight"));
        QCOMPARE(weightOf(gateway, "a"), 1u); // a preview changes nothing
        const auto applied = await<ApplyOutcome>([&](auto done) { session.apply(*preview, done); });
        QVERIFY2(applied && applied->applied, applied ? qPrintable(applied->message) : "no answer");
        QCOMPARE(applied->applied->version, start + 1);
        QCOMPARE(weightOf(gateway, "a"), 7u);
        QTRY_COMPARE_WITH_TIMEOUT(session.configVersion(), start + 1, 5000);

        // Someone else changes b while this console prepares another change: conflict,
        // explained, and nothing overwritten.
        const auto stale = await<ChangePreview>(
            [&](auto done) { session.preview({protocol::setWeight("p", "b", 4)}, done); });
        QVERIFY(stale && stale->valid());
        WsAdminClient other;
        QVERIFY2(other.connect(gateway.adminPort(), gateway.adminToken()), other.error().c_str());
        nlohmann::json params = protocol::encodeOperationParams(protocol::setWeight("p", "b", 9));
        params["expectedVersion"] = start + 1;
        QVERIFY(!other.result("instance.setWeight", params).is_null());
        const auto conflict = await<ApplyOutcome>([&](auto done) { session.apply(*stale, done); });
        QVERIFY(conflict && !conflict->applied && conflict->conflict);
        QCOMPARE(conflict->currentVersion, start + 2);
        QVERIFY2(conflict->message.contains(QStringLiteral("version %1 by").arg(start + 2)), qPrintable(conflict->message));
        QVERIFY2(conflict->message.contains(QLatin1String("weight")), qPrintable(conflict->message));
        QCOMPARE(weightOf(gateway, "b"), 9u);

        // A revert is made against the version it undoes: with b changed since, it is refused
        // rather than silently undoing someone else's change.
        const auto refusedRevert = await<ApplyOutcome>([&](auto done) { session.revert(*applied->applied, done); });
        QVERIFY(refusedRevert && refusedRevert->conflict);
        QCOMPARE(weightOf(gateway, "b"), 9u);
        // Made again on the new state, and reverted right away: everything as before it.
        QTRY_COMPARE_WITH_TIMEOUT(session.configVersion(), start + 2, 5000);
        const auto again = await<ApplyOutcome>([&](auto done) { session.change({protocol::setWeight("p", "a", 3)}, done); });
        QVERIFY2(again && again->applied, again ? qPrintable(again->message) : "no answer");
        QCOMPARE(weightOf(gateway, "a"), 3u);
        const auto reverted = await<ApplyOutcome>([&](auto done) { session.revert(*again->applied, done); });
        QVERIFY2(reverted && reverted->applied, reverted ? qPrintable(reverted->message) : "no answer");
        QCOMPARE(weightOf(gateway, "a"), 7u);
        QCOMPARE(weightOf(gateway, "b"), 9u);
    }

    void theEngineDirectoryIsPrivateAndRoundTrips() {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("conf/engines.json"));
        EngineDirectory directory(path);
        QVERIFY(directory.load()); // missing: empty
        QVERIFY(directory.engines().empty());
        QString error;
        QVERIFY(!directory.put(EngineEndpoint{QStringLiteral("x"), QUrl(QStringLiteral("http://h/admin")), {}, {}}, &error));
        QVERIFY2(error.contains(QLatin1String("ws://")), qPrintable(error));
        QVERIFY(!directory.put(EngineEndpoint{QString(), QUrl(QStringLiteral("ws://h/admin")), {}, {}}, &error));
        QVERIFY(directory.put(EngineEndpoint{QStringLiteral("prod"), QUrl(QStringLiteral("ws://10.0.0.1:9901/admin")),
                                             QStringLiteral("s3cret"), {}}));
        QVERIFY(directory.put(EngineEndpoint{QStringLiteral("local"), QUrl(QStringLiteral("ws://127.0.0.1:9901/admin")),
                                             {}, QStringLiteral("/tmp/t")}));
        QVERIFY2(directory.save(&error), qPrintable(error));
        const QFileInfo info(path);
        QCOMPARE(info.permissions() & (QFileDevice::ReadGroup | QFileDevice::ReadOther | QFileDevice::WriteGroup |
                                       QFileDevice::WriteOther),
                 QFileDevice::Permissions());

        EngineDirectory reloaded(path);
        QVERIFY(reloaded.load(&error));
        QCOMPARE(reloaded.engines(), directory.engines());
        QVERIFY(reloaded.remove(QStringLiteral("prod")));
        QVERIFY(reloaded.save());
        EngineDirectory third(path);
        QVERIFY(third.load());
        QCOMPARE(third.engines().size(), std::size_t(1));
        QCOMPARE(third.engines().front().tokenFile, QStringLiteral("/tmp/t"));

        QFile broken(path);
        QVERIFY(broken.open(QIODevice::WriteOnly | QIODevice::Truncate));
        broken.write("{\"engines\": [{\"name\": 3}]}");
        broken.close();
        QVERIFY(!third.load(&error));
        QVERIFY2(error.contains(path) && error.contains(QLatin1String("engines[0]")), qPrintable(error));
        QVERIFY(third.engines().empty());
    }
};

QTEST_MAIN(TestAdminClient)
#include "tst_admin_client.moc"

// The console end to end against a real gaetwaed process with its demo backends: the
// controller adds an instance, changes a weight and drains, and the engine's own API shows the
// result; then every page of the window renders live data to PNGs under the build tree.
#include "gui/app/console_controller.hpp"
#include "gui/app/main_window.hpp"
#include "gui/models/events_model.hpp"
#include "gui/storage/history_store.hpp"
#include "gui/models/instances_model.hpp"
#include "gui/views/dashboard_page.hpp"
#include "gui/views/history_page.hpp"
#include "gui/views/pools_page.hpp"
#include "gui/widgets/time_series_chart.hpp"
#include "tests/support/engine_process.hpp"
#include "tests/gui/console_test_support.hpp"
#include "tests/support/fake_backend.hpp"
#include "tests/support/load.hpp"
#include "tests/support/test_client.hpp"
#include "tests/support/ws_admin_client.hpp"

#include <fmt/format.h>

#include <QDialog>
#include <QDir>
#include <QPushButton>
#include <QFile>
#include <QImage>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

using namespace gaetwae;
using namespace gaetwae::console;
using namespace gaetwae::test;

namespace {

// A pool of demo backends that `gaetwaed --demo` serves itself, on free loopback ports.
std::string demoYaml(std::uint16_t first, std::uint16_t second) {
    return fmt::format("listeners: [{{address: \"127.0.0.1:0\"}}]\naccess_log: {{enabled: false}}\n"
                       "routes: [{{name: demo, match: {{path_prefix: /}}, pool: demo}}]\n"
                       "pools:\n  - name: demo\n    instances:\n"
                       "      - {{id: demo-1, address: \"127.0.0.1:{}\"}}\n"
                       "      - {{id: demo-2, address: \"127.0.0.1:{}\"}}\n",
                       first, second);
}

const nlohmann::json* findInstance(const nlohmann::json& pools, const std::string& id) {
    for (const auto& pool : pools.at("pools")) {
        for (const auto& instance : pool.at("instances")) {
            if (instance.at("id").get<std::string>() == id) {
                return &instance;
            }
        }
    }
    return nullptr;
}

std::optional<ApplyOutcome> run(const std::function<void(ConsoleController::Done)>& action) {
    std::optional<ApplyOutcome> out;
    action([&out](const ApplyOutcome& outcome) { out = outcome; });
    [[maybe_unused]] const bool answered = QTest::qWaitFor([&] { return out.has_value(); }, 15000);
    return out;
}

std::string readToken(const QString& path) {
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readLine().trimmed().toStdString() : std::string();
}

// True when the image has more than a handful of distinct colours (something was drawn).
bool hasContent(const QImage& image) {
    QSet<QRgb> colours;
    for (int y = 0; y < image.height(); y += 7) {
        for (int x = 0; x < image.width(); x += 7) {
            colours.insert(image.pixel(x, y));
            if (colours.size() > 8) {
                return true;
            }
        }
    }
    return false;
}

} // namespace

class TestConsole : public QObject {
    Q_OBJECT

private:
    EngineProcess m_engine;
    QTemporaryDir m_dir;
    std::unique_ptr<HistoryStore> m_store;
    std::unique_ptr<ConsoleController> m_controller;

private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true); // window settings go to a test location
        const std::uint16_t first = closedPort();
        std::uint16_t second = closedPort();
        while (second == first) {
            second = closedPort();
        }
        QVERIFY2(m_engine.start(demoYaml(first, second), {QStringLiteral("--demo")}), qPrintable(m_engine.output()));
        HistoryStore::Options storeOptions;
        storeOptions.path = m_dir.filePath(QStringLiteral("history.db")).toStdString();
        m_store = std::make_unique<HistoryStore>(storeOptions);
        std::string storeError;
        QVERIFY2(m_store->open(&storeError), storeError.c_str());
        m_controller = std::make_unique<ConsoleController>(EngineDirectory(m_dir.filePath(QStringLiteral("engines.json"))),
                                                           m_store.get(), fastClientOptions());
        QString error;
        QVERIFY2(m_controller->addEngine(EngineEndpoint{QStringLiteral("demo"), QUrl(m_engine.adminUrl()), {},
                                                        m_engine.tokenPath()},
                                         &error),
                 qPrintable(error));
        EngineSession* session = m_controller->session(QStringLiteral("demo"));
        QVERIFY(session != nullptr);
        QTRY_VERIFY_WITH_TIMEOUT(session->client().state() == AdminClient::State::Connected && session->config(), 15000);
    }

    void theControllerAddsReweighsAndDrains() {
        EngineSession* session = m_controller->session(QStringLiteral("demo"));
        InstancesModel instances;
        instances.setPool(session, QStringLiteral("demo"));
        QCOMPARE(instances.rowCount(), 2);

        // Add an instance on a free loopback port: --demo serves it, and traffic reaches it.
        model::InstanceConfig third;
        third.id = "demo-3";
        third.address = fmt::format("127.0.0.1:{}", closedPort());
        third.weight = 2;
        auto added = run([&](auto done) { m_controller->addInstance("demo", "demo", third, done); });
        QVERIFY2(added && added->applied, added ? qPrintable(added->message) : "no answer");
        QTRY_COMPARE_WITH_TIMEOUT(instances.rowCount(), 3, 5000);
        TestClient client(m_engine.port());
        bool reached = false;
        for (int i = 0; i < 40 && !reached; ++i) {
            const auto response = client.get("/hello");
            QVERIFY2(response && response->status == 200, client.error().c_str());
            reached = response->header("X-Instance") == "demo-3";
        }
        QVERIFY2(reached, "the added instance never served a request");

        auto reweighed = run([&](auto done) { m_controller->setWeight("demo", "demo", "demo-1", 5, done); });
        QVERIFY2(reweighed && reweighed->applied, reweighed ? qPrintable(reweighed->message) : "no answer");
        auto drained = run([&](auto done) {
            m_controller->setState("demo", "demo", "demo-2", model::InstanceState::Draining, done);
        });
        QVERIFY2(drained && drained->applied, drained ? qPrintable(drained->message) : "no answer");
        QCOMPARE(drained->applied->version, reweighed->applied->version + 1);
        // Drain progress comes with the stats frames: nothing in flight, so drained at once.
        const int row = instances.rowOf("demo-2");
        QTRY_COMPARE_WITH_TIMEOUT(instances.index(row, InstancesModel::State).data().toString(),
                                  QStringLiteral("drained"), 10000);
        for (int i = 0; i < 20; ++i) {
            const auto response = client.get("/hello");
            QVERIFY(response && response->status == 200);
            QVERIFY(response->header("X-Instance") != "demo-2");
        }

        // The engine's own API (another client) and its config file agree.
        WsAdminClient api;
        QVERIFY2(api.connect(m_engine.adminPort(), readToken(m_engine.tokenPath())), api.error().c_str());
        const auto pools = api.result("pools.list");
        QVERIFY(findInstance(pools, "demo-3") != nullptr);
        QCOMPARE(findInstance(pools, "demo-3")->at("address").get<std::string>(), third.address);
        QCOMPARE(findInstance(pools, "demo-1")->at("weight").get<int>(), 5);
        QCOMPARE(findInstance(pools, "demo-2")->at("state").get<std::string>(), std::string("draining"));
        QFile file(m_engine.configPath());
        QVERIFY(file.open(QIODevice::ReadOnly));
        const QByteArray saved = file.readAll();
        QVERIFY2(saved.contains("demo-3") && saved.contains("draining"), saved.constData());
    }

    void everyPageRendersLiveData() {
        MainWindow window(*m_controller);
        window.resize(1280, 800);
        window.selectEngine(QStringLiteral("demo"));
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        {
            KeepAliveLoad load(m_engine.port(), KeepAliveLoad::Options{2, 30s, 200'000, "/delay/2"});
            // Several seconds of traffic on the charts.
            QTRY_VERIFY_WITH_TIMEOUT(window.dashboard()->requestsChart()->lastDrawnPoints() >= 4, 15000);
            load.stop();
            QCOMPARE(load.failures(), std::uint64_t(0));
        }
        QVERIFY(window.pools()->instancesModel()->rowCount() >= 3);

        // Everything received went to the history store: the same requests, second by second.
        EngineSession* session = m_controller->session(QStringLiteral("demo"));
        QVERIFY(m_store->flush());
        std::uint64_t received = 0;
        for (const auto& frame : session->frames()) {
            received += frame.total.requests;
        }
        std::uint64_t stored = 0;
        const auto points = m_store->series("demo", Scope::Total, "", 0, session->frames().back().timeMs);
        for (const auto& point : points) {
            stored += point.traffic.requests;
        }
        QCOMPARE(points.size(), session->frames().size());
        QCOMPARE(stored, received);

        const QString dir = QStringLiteral(QT_TESTCASE_BUILDDIR "/screenshots");
        QVERIFY(QDir().mkpath(dir));
        const std::pair<MainWindow::Page, QString> pages[] = {{MainWindow::EnginesTab, QStringLiteral("engines")},
                                                              {MainWindow::DashboardTab, QStringLiteral("dashboard")},
                                                              {MainWindow::PoolsTab, QStringLiteral("pools")},
                                                              {MainWindow::EventsTab, QStringLiteral("events")},
                                                              {MainWindow::HistoryTab, QStringLiteral("history")}};
        for (const auto& [page, name] : pages) {
            window.showPage(page);
            if (page == MainWindow::DashboardTab) {
                window.dashboard()->requestsChart()->redraw();
                window.dashboard()->latencyChart()->redraw();
                window.dashboard()->shareChart()->redraw();
            }
            if (page == MainWindow::HistoryTab) {
                QSignalSpy loaded(window.history(), &HistoryPage::loaded);
                window.history()->load(session->frames().front().timeMs - 10'000, session->frames().back().timeMs + 2000,
                                       Scope::Total, "");
                QVERIFY(loaded.wait(10000));
                QVERIFY2(window.history()->summary().contains(QStringLiteral("%1 requests").arg(stored)),
                         qPrintable(window.history()->summary()));
                const QString csv = m_dir.filePath(QStringLiteral("range.csv"));
                QString error;
                QVERIFY2(window.history()->exportCsv(csv, &error), qPrintable(error));
                QFile exported(csv);
                QVERIFY(exported.open(QIODevice::ReadOnly));
                QVERIFY(exported.readAll().count('\n') >= 2); // header and data
                QVERIFY(window.history()->exportChartPng(m_dir.filePath(QStringLiteral("latency.png"))));
            }
            QCoreApplication::processEvents();
            const QImage image = window.grab().toImage();
            QCOMPARE(image.size(), QSize(1280, 800));
            QVERIFY2(hasContent(image), qPrintable(name));
            const QString path = dir + QLatin1Char('/') + name + QStringLiteral(".png");
            QVERIFY2(image.save(path), qPrintable(path));
            qInfo("%s", qPrintable(path));
        }
        QVERIFY(window.events()->rowCount() > 0); // config events of the changes above
    }

    void aChangeFromThePoolsPageIsPreviewedWatchedAndReverted() {
        MainWindow window(*m_controller);
        window.selectEngine(QStringLiteral("demo"));
        window.showPage(MainWindow::PoolsTab);
        window.show();
        EngineSession* session = m_controller->session(QStringLiteral("demo"));
        const std::uint32_t before = session->config()->pools.at(0).instances.at(0).weight;
        QSignalSpy finished(window.pools(), &PoolsPage::changeFinished);
        std::optional<ChangePreview> shown;
        window.pools()->propose({protocol::setWeight("demo", "demo-1", before + 7)}, [&](const ChangePreview& preview) {
            shown = preview; // what the confirmation dialog shows
            return true;
        });
        QVERIFY(finished.wait(10000));
        QVERIFY(shown && shown->valid());
        QCOMPARE(shown->diff.at(0).at("value").get<std::uint32_t>(), before + 7);
        QVERIFY2(finished.at(0).at(0).toString().startsWith(QLatin1String("Applied as version")),
                 qPrintable(finished.at(0).at(0).toString()));
        QTRY_COMPARE_WITH_TIMEOUT(session->config()->pools.at(0).instances.at(0).weight, before + 7, 5000);

        // The watch window is open; its Revert puts the weight back.
        auto* watch = window.pools()->findChild<QDialog*>(QStringLiteral("changeWatch"));
        QVERIFY(watch != nullptr && watch->isVisible());
        auto* revert = watch->findChild<QPushButton*>(QStringLiteral("revert"));
        QVERIFY(revert != nullptr);
        revert->click();
        QVERIFY(finished.wait(10000));
        QVERIFY2(finished.at(1).at(0).toString().startsWith(QLatin1String("Reverted")),
                 qPrintable(finished.at(1).at(0).toString()));
        QTRY_COMPARE_WITH_TIMEOUT(session->config()->pools.at(0).instances.at(0).weight, before, 5000);

        // Declined in the preview: nothing is sent.
        const auto version = session->configVersion();
        window.pools()->propose({protocol::setWeight("demo", "demo-1", before + 1)},
                                [](const ChangePreview&) { return false; });
        QVERIFY(finished.wait(10000));
        QVERIFY(finished.at(2).at(0).toString().startsWith(QLatin1String("Cancelled")));
        QCOMPARE(session->configVersion(), version);
    }

    void theConsoleRunsWhenTheHistoryFileIsUnusable() {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("history.db"));
        QFile corrupt(path);
        QVERIFY(corrupt.open(QIODevice::WriteOnly));
        corrupt.write(QByteArray(8192, 'x'));
        corrupt.close();
        HistoryStore::Options options;
        options.path = path.toStdString();
        HistoryStore store(options);
        std::string error;
        QVERIFY(!store.open(&error));
        QVERIFY2(QString::fromStdString(error).contains(path), error.c_str());

        // As gaetwae-console does: no store, a notice, everything else works.
        ConsoleController controller(EngineDirectory(dir.filePath(QStringLiteral("engines.json"))), nullptr,
                                     fastClientOptions());
        QVERIFY(controller.addEngine(EngineEndpoint{QStringLiteral("demo"), QUrl(m_engine.adminUrl()), {},
                                                    m_engine.tokenPath()}));
        MainWindow window(controller);
        window.setStatus(QStringLiteral("No history: %1").arg(QString::fromStdString(error)));
        window.show();
        QTRY_COMPARE_WITH_TIMEOUT(controller.session(0)->client().state(), AdminClient::State::Connected, 10000);
        QTRY_VERIFY_WITH_TIMEOUT(window.pools()->instancesModel()->rowCount() >= 2, 10000);
        QSignalSpy loaded(window.history(), &HistoryPage::loaded);
        window.showPage(MainWindow::HistoryTab);
        QVERIFY(loaded.count() > 0 || loaded.wait(5000));
        QVERIFY2(window.history()->summary().contains(QLatin1String("not available")),
                 qPrintable(window.history()->summary()));
    }

    void cleanupTestCase() {
        m_controller.reset();
        m_store.reset();
    }
};

QTEST_MAIN(TestConsole)
#include "tst_console.moc"

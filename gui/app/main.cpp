// gaetwae-console: composition root. Parses the command line, opens the engine directory and
// the history store (the console runs without history when the file cannot be used), and
// shows the window.
#include "gui/app/console_controller.hpp"
#include "gui/app/main_window.hpp"
#include "gui/loadtest/load_test_manager.hpp"
#include "gui/storage/history_store.hpp"

#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QSocketNotifier>
#include <QStandardPaths>

#include <csignal>
#include <memory>
#include <sys/socket.h>
#include <unistd.h>

namespace {

// SIGTERM and SIGINT close the window like the user would (layout saved, history flushed).
// A signal handler may only write to a descriptor: the one static the console has.
int g_signalPipe[2] = {-1, -1};

void onTerminate(int) {
    const char byte = 1;
    [[maybe_unused]] const auto written = ::write(g_signalPipe[0], &byte, 1);
}

} // namespace

int main(int argc, char** argv) {
    using namespace gaetwae::console;
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("gaetwae-console"));
    QApplication::setOrganizationName(QStringLiteral("gaetwae"));
    QApplication::setApplicationVersion(QStringLiteral(GAETWAE_VERSION));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Desktop console for gaetwae API gateways."));
    parser.addHelpOption();
    parser.addVersionOption();
    QCommandLineOption engine(QStringLiteral("engine"),
                              QStringLiteral("Add (or update) an engine and select it: NAME=ws://HOST:PORT/admin."),
                              QStringLiteral("name=url"));
    QCommandLineOption tokenFile(QStringLiteral("token-file"),
                                 QStringLiteral("Token file for --engine (default: the local engine's)."),
                                 QStringLiteral("path"));
    QCommandLineOption engines(QStringLiteral("engines-file"),
                               QStringLiteral("The engine list (default: %1).").arg(EngineDirectory::defaultPath()),
                               QStringLiteral("path"));
    QCommandLineOption history(QStringLiteral("history"), QStringLiteral("The SQLite history file."),
                               QStringLiteral("path"));
    QCommandLineOption sessions(QStringLiteral("sessions"),
                                QStringLiteral("The SQLite file of load-test sessions (default: %1).")
                                    .arg(QString::fromStdString(SessionStore::defaultPath())),
                                QStringLiteral("file"));
    parser.addOptions({engine, tokenFile, engines, history, sessions});
    parser.process(app);

    QStringList notices;
    EngineDirectory directory(parser.value(engines));
    QString error;
    if (!directory.load(&error)) {
        notices << QStringLiteral("Engine list not loaded: %1").arg(error);
    }

    QString historyPath = parser.value(history);
    if (historyPath.isEmpty()) {
        historyPath = QStandardPaths::writableLocation(QStandardPaths::AppLocalDataLocation) +
                      QStringLiteral("/history.db");
    }
    HistoryStore::Options storeOptions;
    storeOptions.path = QDir::cleanPath(historyPath).toStdString();
    HistoryStore store(storeOptions);
    std::string storeError;
    const bool stored = store.open(&storeError);
    if (!stored) {
        notices << QStringLiteral("No history: %1").arg(QString::fromStdString(storeError));
    }

    AdminClient::Options clientOptions;
    clientOptions.topics = {"stats", "events", "decisions"}; // decisions: as sampled by each engine
    ConsoleController controller(std::move(directory), stored ? &store : nullptr, clientOptions);
    QString selected;
    if (parser.isSet(engine)) {
        const QString value = parser.value(engine);
        const auto equals = value.indexOf(QLatin1Char('='));
        EngineEndpoint endpoint;
        endpoint.name = equals > 0 ? value.left(equals) : QStringLiteral("local");
        endpoint.url = QUrl(equals > 0 ? value.mid(equals + 1) : value);
        endpoint.tokenFile = parser.isSet(tokenFile) ? parser.value(tokenFile) : EngineDirectory::defaultEngineTokenFile();
        if (!controller.directory().put(endpoint, &error) || !controller.directory().save(&error)) {
            notices << QStringLiteral("--engine: %1").arg(error);
        } else {
            selected = endpoint.name;
        }
    }
    controller.startAll();

    SessionStore sessionStore;
    std::unique_ptr<LoadTestManager> loadTests;
    const std::string sessionsPath =
        parser.isSet(sessions) ? QDir::cleanPath(parser.value(sessions)).toStdString() : SessionStore::defaultPath();
    if (sessionStore.open(sessionsPath, storeError)) {
        loadTests = std::make_unique<LoadTestManager>(sessionStore);
    } else {
        notices << QStringLiteral("No load-test sessions: %1").arg(QString::fromStdString(storeError));
    }

    MainWindow window(controller, loadTests.get());
    if (!selected.isEmpty()) {
        window.selectEngine(selected);
        window.showPage(MainWindow::DashboardTab);
    }
    window.setStatus(notices.join(QStringLiteral(" · ")));
    window.show();

    std::unique_ptr<QSocketNotifier> terminate;
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, g_signalPipe) == 0) {
        terminate = std::make_unique<QSocketNotifier>(g_signalPipe[1], QSocketNotifier::Read);
        QObject::connect(terminate.get(), &QSocketNotifier::activated, &window, [&window] {
            char byte = 0;
            [[maybe_unused]] const auto read = ::read(g_signalPipe[1], &byte, 1);
            window.close();
            QApplication::quit();
        });
        struct sigaction action {};
        action.sa_handler = onTerminate;
        sigemptyset(&action.sa_mask);
        action.sa_flags = SA_RESTART;
        sigaction(SIGTERM, &action, nullptr);
        sigaction(SIGINT, &action, nullptr);
    }
    return QApplication::exec();
}

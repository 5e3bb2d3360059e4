#include "gui/loadtest/load_runner.hpp"

#include <QCoreApplication>
#include <QFile>
#include <QFileInfo>
#include <QStandardPaths>
#include <QTcpSocket>

namespace gaetwae::console {

LoadRunner::LoadRunner(QObject* parent)
    : QObject(parent), m_binary(findLoadBinary()) {}

LoadRunner::~LoadRunner() {
    if (m_process) {
        m_process->disconnect(this);
        m_process->terminate();
        if (!m_process->waitForFinished(5000)) {
            m_process->kill();
            m_process->waitForFinished(2000);
        }
    }
}

QString LoadRunner::findLoadBinary() {
    const auto fromEnv = qEnvironmentVariable("GAETWAE_LOAD");
    if (!fromEnv.isEmpty()) {
        return fromEnv;
    }
    const QString dir = QCoreApplication::applicationDirPath();
    for (const auto& candidate : {dir + QStringLiteral("/gaetwae-load"), dir + QStringLiteral("/../engine/loadgen/gaetwae-load")}) {
        if (QFileInfo(candidate).isExecutable()) {
            return QFileInfo(candidate).canonicalFilePath();
        }
    }
    return QStandardPaths::findExecutable(QStringLiteral("gaetwae-load"));
}

QString LoadRunner::check(const loadtest::LoadTestPlan& plan) const {
    model::Diagnostics diagnostics;
    loadtest::LoadTestPlan decoded;
    // The same checks gaetwae-load makes, made here so nothing starts with a bad plan.
    if (!loadtest::fromJson(loadtest::toJson(plan), decoded, diagnostics) || !loadtest::checkFiles(plan, diagnostics)) {
        return QString::fromStdString(loadtest::describe(diagnostics));
    }
    if (m_binary.isEmpty() || !QFileInfo(m_binary).isExecutable()) {
        return tr("gaetwae-load was not found (install it beside the console, put it on PATH or set GAETWAE_LOAD)");
    }
    const auto target = loadtest::parseTargetUrl(plan.target);
    QTcpSocket probe;
    probe.connectToHost(QString::fromStdString(target->host), target->port);
    if (!probe.waitForConnected(3000)) {
        return tr("target: cannot connect to %1:%2: %3")
            .arg(QString::fromStdString(target->host))
            .arg(target->port)
            .arg(probe.errorString());
    }
    probe.abort();
    return {};
}

bool LoadRunner::start(const loadtest::LoadTestPlan& plan, QString* error) {
    const auto fail = [&](const QString& message) {
        if (error != nullptr) {
            *error = message;
        }
        return false;
    };
    if (m_process) {
        return fail(tr("a run is in progress"));
    }
    m_dir = std::make_unique<QTemporaryDir>();
    const QString planPath = m_dir->filePath(QStringLiteral("plan.json"));
    QFile file(planPath);
    if (!file.open(QIODevice::WriteOnly) || file.write(QByteArray::fromStdString(loadtest::toJson(plan).dump(2))) < 0) {
        return fail(tr("cannot write %1: %2").arg(planPath, file.errorString()));
    }
    file.close();
    m_total.reset();
    m_stopping = false;
    m_stderr.clear();
    m_process = std::make_unique<QProcess>();
    connect(m_process.get(), &QProcess::readyReadStandardOutput, this, &LoadRunner::readLines);
    connect(m_process.get(), &QProcess::readyReadStandardError, this,
            [this] { m_stderr += m_process->readAllStandardError(); });
    connect(m_process.get(), &QProcess::finished, this, &LoadRunner::onFinished);
    m_process->start(m_binary, {QStringLiteral("--plan"), planPath, QStringLiteral("--json")});
    if (!m_process->waitForStarted(5000)) {
        const auto message = m_process->errorString();
        m_process.reset();
        return fail(tr("cannot start %1: %2").arg(m_binary, message));
    }
    return true;
}

void LoadRunner::stop() {
    if (m_process && !m_stopping) {
        m_stopping = true;
        m_process->terminate();
    }
}

void LoadRunner::readLines() {
    while (m_process && m_process->canReadLine()) {
        const auto line = m_process->readLine().trimmed();
        if (line.isEmpty()) {
            continue;
        }
        const auto value = nlohmann::json::parse(line.toStdString(), nullptr, false);
        loadtest::IntervalStats stats;
        if (!loadtest::fromJson(value, stats)) {
            continue; // not a result line
        }
        if (value.contains("total")) {
            m_total = std::move(stats);
        } else {
            emit secondReceived(stats);
        }
    }
}

void LoadRunner::onFinished(int exitCode, QProcess::ExitStatus exitStatus) {
    readLines();
    m_stderr += m_process->readAllStandardError();
    const bool stopped = m_stopping;
    // Keep the process object alive until this handler returns (it is emitting the signal).
    QProcess* process = m_process.release();
    process->deleteLater();
    m_dir.reset();
    RunStatus status = RunStatus::Completed;
    QString error;
    if (exitStatus == QProcess::CrashExit) {
        status = stopped ? RunStatus::Interrupted : RunStatus::Failed;
        error = stopped ? QString() : tr("gaetwae-load crashed");
    } else if (exitCode == 130 || stopped) {
        status = RunStatus::Interrupted;
    } else if (exitCode == 2 || exitCode == 3) {
        status = RunStatus::Failed;
    } else if (exitCode == 1) {
        error = tr("no request completed");
    } else if (exitCode != 0) {
        status = RunStatus::Failed;
    }
    if (status == RunStatus::Failed && error.isEmpty()) {
        error = QString::fromUtf8(m_stderr).trimmed().remove(QStringLiteral("gaetwae-load: "));
        if (error.isEmpty()) {
            error = tr("gaetwae-load exited with status %1").arg(exitCode);
        }
    }
    emit finished(status, m_total, error);
}

} // namespace gaetwae::console

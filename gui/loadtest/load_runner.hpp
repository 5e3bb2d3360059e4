#pragma once

#include "gui/loadtest/session_store.hpp"
#include "shared/loadtest/interval_stats.hpp"
#include "shared/loadtest/plan.hpp"

#include <QObject>
#include <QProcess>
#include <QTemporaryDir>

#include <memory>
#include <optional>

namespace gaetwae::console {

// Runs one load test in a `gaetwae-load --plan FILE --json` child process, so the generator's
// threads and sockets never share the UI thread, and reads its JSON lines as they come: one
// per second, then the total. stop() sends SIGTERM: the generator lets requests in flight
// finish and still reports everything it measured, and the run ends as interrupted.
class LoadRunner : public QObject {
    Q_OBJECT

public:
    explicit LoadRunner(QObject* parent = nullptr);
    ~LoadRunner() override;

    // GAETWAE_LOAD if set, else gaetwae-load beside the console (installed, or in the build
    // tree), else on PATH; "" when none is found.
    static QString findLoadBinary();
    void setLoadBinary(const QString& path) { m_binary = path; }
    QString loadBinary() const { return m_binary; }

    // Everything that can be known before anything runs: the plan's values, its files, the
    // generator binary and the target accepting connections. Empty when the plan can run.
    QString check(const loadtest::LoadTestPlan& plan) const;

    // Starts the run; call check() first (gaetwae-load checks again and fails the run with the
    // same message if something changed in between). False with the reason when it cannot start.
    bool start(const loadtest::LoadTestPlan& plan, QString* error);
    void stop();
    bool running() const { return m_process != nullptr; }

signals:
    void secondReceived(const gaetwae::loadtest::IntervalStats& second);
    // status: Completed, Interrupted (stop() or a signal) or Failed (with the generator's message).
    void finished(gaetwae::console::RunStatus status, const std::optional<gaetwae::loadtest::IntervalStats>& total,
                  const QString& error);

private:
    void readLines();
    void onFinished(int exitCode, QProcess::ExitStatus exitStatus);

    QString m_binary;
    std::unique_ptr<QProcess> m_process;
    std::unique_ptr<QTemporaryDir> m_dir;
    std::optional<loadtest::IntervalStats> m_total;
    bool m_stopping = false;
    QByteArray m_stderr;
};

} // namespace gaetwae::console

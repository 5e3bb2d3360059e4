#pragma once

#include <QProcess>
#include <QRegularExpression>
#include <QStringList>
#include <QTemporaryDir>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace gaetwae::test {

using namespace std::chrono_literals;

// The real gaetwaed binary in a child process, for what only a process can show: signals,
// exit codes, command-line behaviour and memory use. Output (stdout and stderr) is collected.
class EngineProcess {
public:
    EngineProcess();
    ~EngineProcess();
    EngineProcess(const EngineProcess&) = delete;
    EngineProcess& operator=(const EngineProcess&) = delete;

    static QString binary();

    // Writes `yaml` to a config file, starts gaetwaed on it and waits until every listener is
    // bound (listen on port 0 and read the real port from port()). Unless `yaml` has an admin
    // section, the admin API binds 127.0.0.1:0 with its token in the test's directory
    // (adminPort(), tokenPath()); $XDG_STATE_HOME points there too.
    bool start(const std::string& yaml, const QStringList& extraArgs = {}, std::size_t listeners = 1,
               std::chrono::milliseconds timeout = 20s);
    // Replaces the config file atomically (write + rename), as an editor or deploy tool would.
    bool rewriteConfig(const std::string& yaml);
    QString configPath() const;

    std::uint16_t port(std::size_t listener = 0) const;
    std::uint16_t adminPort() const { return m_adminPort; }
    QString tokenPath() const;
    QString adminUrl() const;
    qint64 pid() const { return m_process.processId(); }
    void signal(int signal);

    // Waits until `pattern` has matched `occurrences` times in the output so far.
    bool waitForOutput(const QRegularExpression& pattern, std::chrono::milliseconds timeout, int occurrences = 1);
    int countOutput(const QRegularExpression& pattern);
    bool waitForExit(std::chrono::milliseconds timeout);
    int exitCode() const { return m_process.exitCode(); }
    QProcess::ExitStatus exitStatus() const { return m_process.exitStatus(); }
    QString output();

    // Peak resident memory of the process so far (VmHWM), and now (VmRSS), in bytes; 0 if unknown.
    std::uint64_t peakRssBytes() const;
    std::uint64_t rssBytes() const;

private:
    std::uint64_t statusBytes(std::string_view field) const;
    QTemporaryDir m_dir;
    QProcess m_process;
    QString m_output;
    std::vector<std::uint16_t> m_ports;
    std::uint16_t m_adminPort = 0;
};

struct CommandResult {
    int exitCode = -1;
    QString output;
};
// Runs gaetwaed with `args` to completion (e.g. --check, ctl ...).
CommandResult runGaetwaed(const QStringList& args, std::chrono::milliseconds timeout = 20s);

} // namespace gaetwae::test

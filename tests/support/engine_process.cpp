#include "tests/support/engine_process.hpp"

#include <QFile>
#include <QSaveFile>

#include <csignal>
#include <fstream>

namespace gaetwae::test {

EngineProcess::EngineProcess() {
    m_process.setProcessChannelMode(QProcess::MergedChannels);
    auto environment = QProcessEnvironment::systemEnvironment();
    environment.insert(QStringLiteral("XDG_STATE_HOME"), m_dir.path());
    m_process.setProcessEnvironment(environment);
}

QString EngineProcess::tokenPath() const {
    return m_dir.filePath(QStringLiteral("admin.token"));
}

QString EngineProcess::adminUrl() const {
    return QStringLiteral("ws://127.0.0.1:%1/admin").arg(m_adminPort);
}

EngineProcess::~EngineProcess() {
    if (m_process.state() != QProcess::NotRunning) {
        m_process.kill();
        m_process.waitForFinished(5000);
    }
}

QString EngineProcess::binary() {
    return QStringLiteral(GAETWAED_BINARY);
}

QString EngineProcess::configPath() const {
    return m_dir.filePath(QStringLiteral("gaetwae.yaml"));
}

bool EngineProcess::rewriteConfig(const std::string& yaml) {
    QSaveFile file(configPath());
    if (!file.open(QIODevice::WriteOnly)) {
        return false;
    }
    file.write(yaml.data(), static_cast<qint64>(yaml.size()));
    return file.commit();
}

bool EngineProcess::start(const std::string& yaml, const QStringList& extraArgs, std::size_t listeners,
                          std::chrono::milliseconds timeout) {
    std::string text = yaml;
    if (text.rfind("admin:", 0) != 0 && text.find("\nadmin:") == std::string::npos) {
        text += "\nadmin:\n  address: 127.0.0.1:0\n  token_file: " + tokenPath().toStdString() + "\n";
    }
    if (!rewriteConfig(text)) {
        return false;
    }
    QStringList args = extraArgs;
    args << configPath();
    m_process.start(binary(), args);
    if (!m_process.waitForStarted(10000)) {
        return false;
    }
    // "listening on 127.0.0.1:0 (port 41234)", once per listener, after "serving with".
    const QRegularExpression listening(QStringLiteral("listening on \\S+ \\(port (\\d+)\\)"));
    if (!waitForOutput(QRegularExpression(QStringLiteral("gaetwaed serving with")), timeout)) {
        return false;
    }
    // The "listening on" lines follow, one per listener.
    if (!waitForOutput(listening, timeout, static_cast<int>(listeners))) {
        return false;
    }
    m_ports.clear();
    auto it = listening.globalMatch(m_output);
    while (it.hasNext()) {
        m_ports.push_back(static_cast<std::uint16_t>(it.next().captured(1).toUInt()));
    }
    // "admin API on ws://127.0.0.1:40123/admin", logged before the listeners.
    const auto admin = QRegularExpression(QStringLiteral("admin API on ws://\\S+:(\\d+)/admin")).match(m_output);
    m_adminPort = admin.hasMatch() ? static_cast<std::uint16_t>(admin.captured(1).toUInt()) : 0;
    return !m_ports.empty();
}

std::uint16_t EngineProcess::port(std::size_t listener) const {
    return listener < m_ports.size() ? m_ports[listener] : 0;
}

void EngineProcess::signal(int signal) {
    if (m_process.processId() > 0) {
        ::kill(static_cast<pid_t>(m_process.processId()), signal);
    }
}

QString EngineProcess::output() {
    m_output += QString::fromUtf8(m_process.readAll());
    return m_output;
}

int EngineProcess::countOutput(const QRegularExpression& pattern) {
    output();
    int n = 0;
    auto it = pattern.globalMatch(m_output);
    while (it.hasNext()) {
        it.next();
        ++n;
    }
    return n;
}

bool EngineProcess::waitForOutput(const QRegularExpression& pattern, std::chrono::milliseconds timeout,
                                  int occurrences) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (countOutput(pattern) >= occurrences) {
            return true;
        }
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0 || m_process.state() == QProcess::NotRunning) {
            return countOutput(pattern) >= occurrences;
        }
        m_process.waitForReadyRead(static_cast<int>(std::min<std::int64_t>(left.count(), 200)));
    }
}

bool EngineProcess::waitForExit(std::chrono::milliseconds timeout) {
    const bool finished =
        m_process.state() == QProcess::NotRunning || m_process.waitForFinished(static_cast<int>(timeout.count()));
    output();
    return finished;
}

std::uint64_t EngineProcess::statusBytes(std::string_view field) const {
    std::ifstream status("/proc/" + std::to_string(m_process.processId()) + "/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.starts_with(field) && line.size() > field.size() && line[field.size()] == ':') {
            return std::stoull(line.substr(field.size() + 1)) * 1024; // kB
        }
    }
    return 0;
}

std::uint64_t EngineProcess::peakRssBytes() const {
    return statusBytes("VmHWM");
}

std::uint64_t EngineProcess::rssBytes() const {
    return statusBytes("VmRSS");
}

CommandResult runGaetwaed(const QStringList& args, std::chrono::milliseconds timeout) {
    QProcess process;
    // Never touch the real user's state (the default token path) from a test.
    QTemporaryDir state;
    auto environment = QProcessEnvironment::systemEnvironment();
    environment.insert(QStringLiteral("XDG_STATE_HOME"), state.path());
    process.setProcessEnvironment(environment);
    process.setProcessChannelMode(QProcess::MergedChannels);
    process.start(EngineProcess::binary(), args);
    CommandResult result;
    if (!process.waitForStarted(10000) || !process.waitForFinished(static_cast<int>(timeout.count()))) {
        process.kill();
        process.waitForFinished(5000);
        result.output = QString::fromUtf8(process.readAll()) + QStringLiteral("\n(timed out)");
        return result;
    }
    result.exitCode = process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1;
    result.output = QString::fromUtf8(process.readAll());
    return result;
}

} // namespace gaetwae::test

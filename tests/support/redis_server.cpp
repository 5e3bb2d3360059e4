#include "tests/support/redis_server.hpp"

#include <QStandardPaths>
#include <QTcpServer>
#include <QTcpSocket>

#include <signal.h>

namespace gaetwae::test {

namespace {

std::string encode(const std::vector<std::string>& args) {
    std::string out = "*" + std::to_string(args.size()) + "\r\n";
    for (const auto& arg : args) {
        out += "$" + std::to_string(arg.size()) + "\r\n" + arg + "\r\n";
    }
    return out;
}

} // namespace

RedisServer::RedisServer(std::string password)
    : m_password(std::move(password)) {
    m_process.setProcessChannelMode(QProcess::MergedChannels);
}

RedisServer::~RedisServer() {
    resume(); // a stopped process ignores SIGKILL's cleanup until continued on some kernels
    kill();
}

bool RedisServer::start(std::chrono::milliseconds timeout) {
    const QString binary = QStandardPaths::findExecutable(QStringLiteral("redis-server"));
    if (binary.isEmpty()) {
        m_error = "redis-server is not installed (installer/deps.sh installs it)";
        return false;
    }
    if (m_port == 0) {
        QTcpServer probe;
        if (!probe.listen(QHostAddress(QStringLiteral("127.0.0.1")), 0)) {
            m_error = "cannot find a free port";
            return false;
        }
        m_port = probe.serverPort();
        probe.close();
    }
    QStringList args{QStringLiteral("--port"),       QString::number(m_port),  QStringLiteral("--bind"),
                     QStringLiteral("127.0.0.1"),    QStringLiteral("--save"), QString(),
                     QStringLiteral("--appendonly"), QStringLiteral("no")};
    if (!m_password.empty()) {
        args << QStringLiteral("--requirepass") << QString::fromStdString(m_password);
    }
    m_process.start(binary, args);
    if (!m_process.waitForStarted(5000)) {
        m_error = "redis-server did not start: " + m_process.errorString().toStdString();
        return false;
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (m_process.state() != QProcess::Running) {
            m_error = "redis-server exited: " + m_process.readAll().toStdString();
            return false;
        }
        m_error.clear();
        if (command({"PING"}) == "PONG") {
            return true;
        }
        m_process.waitForReadyRead(50); // lets it start listening; also drains its output
    }
    m_error = "redis-server did not answer PING in time: " + m_error;
    return false;
}

void RedisServer::kill() {
    if (m_process.state() != QProcess::NotRunning) {
        m_process.kill();
        m_process.waitForFinished(5000);
    }
}

void RedisServer::pause() {
    if (m_process.state() == QProcess::Running) {
        ::kill(static_cast<pid_t>(m_process.processId()), SIGSTOP);
    }
}

void RedisServer::resume() {
    if (m_process.state() == QProcess::Running) {
        ::kill(static_cast<pid_t>(m_process.processId()), SIGCONT);
    }
}

std::string RedisServer::command(const std::vector<std::string>& args, int db) {
    QTcpSocket socket;
    socket.connectToHost(QHostAddress(QStringLiteral("127.0.0.1")), m_port);
    if (!socket.waitForConnected(1000)) {
        m_error = "cannot connect to redis: " + socket.errorString().toStdString();
        return {};
    }
    std::string request;
    int replies = 1;
    if (!m_password.empty()) {
        request += encode({"AUTH", m_password});
        ++replies;
    }
    if (db != 0) {
        request += encode({"SELECT", std::to_string(db)});
        ++replies;
    }
    request += encode(args);
    socket.write(request.data(), static_cast<qint64>(request.size()));
    std::string line;
    for (int i = 0; i < replies; ++i) {
        while (!socket.canReadLine()) {
            if (!socket.waitForReadyRead(2000)) {
                m_error = "no reply from redis";
                return {};
            }
        }
        line = socket.readLine().toStdString();
    }
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) {
        line.pop_back();
    }
    return line.empty() ? line : line.substr(1);
}

} // namespace gaetwae::test

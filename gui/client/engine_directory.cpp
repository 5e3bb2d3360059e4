#include "gui/client/engine_directory.hpp"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QSaveFile>
#include <QStandardPaths>

#include <nlohmann/json.hpp>

namespace gaetwae::console {

EngineDirectory::EngineDirectory(QString path) : m_path(path.isEmpty() ? defaultPath() : std::move(path)) {}

QString EngineDirectory::defaultPath() {
    return QStandardPaths::writableLocation(QStandardPaths::GenericConfigLocation) +
           QStringLiteral("/gaetwae/console-engines.json");
}

QString EngineDirectory::defaultEngineTokenFile() {
    QString state = qEnvironmentVariable("XDG_STATE_HOME");
    if (state.isEmpty()) {
        state = QDir::homePath() + QStringLiteral("/.local/state");
    }
    return state + QStringLiteral("/gaetwae/admin.token");
}

const EngineEndpoint* EngineDirectory::find(const QString& name) const {
    for (const auto& engine : m_engines) {
        if (engine.name == name) {
            return &engine;
        }
    }
    return nullptr;
}

bool EngineDirectory::load(QString* error) {
    m_engines.clear();
    QFile file(m_path);
    if (!file.exists()) {
        return true;
    }
    auto fail = [&](const QString& why) {
        if (error) {
            *error = QStringLiteral("%1: %2").arg(m_path, why);
        }
        m_engines.clear();
        return false;
    };
    if (!file.open(QIODevice::ReadOnly)) {
        return fail(file.errorString());
    }
    const auto json = nlohmann::json::parse(file.readAll().toStdString(), nullptr, false);
    if (json.is_discarded() || !json.is_object() || !json.contains("engines") || !json["engines"].is_array()) {
        return fail(QStringLiteral("not a console engine list (expected {\"engines\": [...]})"));
    }
    int index = 0;
    for (const auto& item : json["engines"]) {
        if (!item.is_object() || !item.contains("name") || !item["name"].is_string() || !item.contains("url") ||
            !item["url"].is_string()) {
            return fail(QStringLiteral("engines[%1] needs a string name and url").arg(index));
        }
        EngineEndpoint endpoint;
        endpoint.name = QString::fromStdString(item["name"].get<std::string>());
        endpoint.url = QUrl(QString::fromStdString(item["url"].get<std::string>()));
        endpoint.token = QString::fromStdString(item.value("token", std::string()));
        endpoint.tokenFile = QString::fromStdString(item.value("tokenFile", std::string()));
        QString why;
        if (!put(endpoint, &why)) {
            return fail(QStringLiteral("engines[%1]: %2").arg(index).arg(why));
        }
        ++index;
    }
    return true;
}

bool EngineDirectory::save(QString* error) const {
    nlohmann::json engines = nlohmann::json::array();
    for (const auto& engine : m_engines) {
        nlohmann::json item = nlohmann::json::object();
        item["name"] = engine.name.toStdString();
        item["url"] = engine.url.toString().toStdString();
        if (!engine.token.isEmpty()) {
            item["token"] = engine.token.toStdString();
        }
        if (!engine.tokenFile.isEmpty()) {
            item["tokenFile"] = engine.tokenFile.toStdString();
        }
        engines.push_back(std::move(item));
    }
    nlohmann::json document = nlohmann::json::object();
    document["engines"] = std::move(engines);

    QDir().mkpath(QFileInfo(m_path).absolutePath());
    QSaveFile file(m_path);
    // Owner-only before any byte is written: the file holds tokens.
    if (!file.open(QIODevice::WriteOnly) || !file.setPermissions(QFileDevice::ReadOwner | QFileDevice::WriteOwner)) {
        if (error) {
            *error = QStringLiteral("%1: %2").arg(m_path, file.errorString());
        }
        return false;
    }
    file.write(QByteArray::fromStdString(document.dump(2) + "\n"));
    if (!file.commit()) {
        if (error) {
            *error = QStringLiteral("%1: %2").arg(m_path, file.errorString());
        }
        return false;
    }
    return true;
}

bool EngineDirectory::put(const EngineEndpoint& endpoint, QString* error) {
    auto fail = [&](const QString& why) {
        if (error) {
            *error = why;
        }
        return false;
    };
    if (endpoint.name.trimmed().isEmpty()) {
        return fail(QStringLiteral("the engine needs a name"));
    }
    if (!endpoint.url.isValid() ||
        (endpoint.url.scheme() != QLatin1String("ws") && endpoint.url.scheme() != QLatin1String("wss")) ||
        endpoint.url.host().isEmpty()) {
        return fail(QStringLiteral("'%1' is not a ws:// or wss:// URL").arg(endpoint.url.toString()));
    }
    for (auto& engine : m_engines) {
        if (engine.name == endpoint.name) {
            engine = endpoint;
            return true;
        }
    }
    m_engines.push_back(endpoint);
    return true;
}

bool EngineDirectory::remove(const QString& name) {
    const auto before = m_engines.size();
    std::erase_if(m_engines, [&](const EngineEndpoint& engine) { return engine.name == name; });
    return m_engines.size() != before;
}

} // namespace gaetwae::console

#pragma once

#include "gui/client/admin_client.hpp"

#include <QString>

#include <vector>

namespace gaetwae::console {

// The engines an operator manages, kept in the user's configuration as JSON
// ({"engines": [{"name", "url", "token"?, "tokenFile"?}]}). The file holds tokens, so it is
// written atomically and readable by its owner only (0600) from the first byte on.
class EngineDirectory {
public:
    // `path` empty: <user config dir>/gaetwae/console-engines.json.
    explicit EngineDirectory(QString path = {});

    static QString defaultPath();
    // Where a local engine keeps its token by default ($XDG_STATE_HOME or ~/.local/state).
    static QString defaultEngineTokenFile();

    const QString& path() const { return m_path; }
    const std::vector<EngineEndpoint>& engines() const { return m_engines; }
    const EngineEndpoint* find(const QString& name) const;

    // Reading a missing file gives an empty directory; an unreadable or invalid one an error
    // naming the file (and the directory stays empty rather than guessing).
    bool load(QString* error = nullptr);
    bool save(QString* error = nullptr) const;

    // Adds or replaces (by name). The name must be non-empty and the URL ws:// or wss://.
    bool put(const EngineEndpoint& endpoint, QString* error = nullptr);
    bool remove(const QString& name);

private:
    QString m_path;
    std::vector<EngineEndpoint> m_engines;
};

} // namespace gaetwae::console

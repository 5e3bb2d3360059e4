#pragma once

#include "gui/client/engine_directory.hpp"
#include "gui/client/engine_session.hpp"

#include <QObject>

#include <functional>
#include <memory>
#include <vector>

namespace gaetwae::console {

class HistoryStore;

// The console's composition of engines: the directory of known engines (persisted), one live
// session per engine, and the history store every frame and event is written to. Views and
// models observe it; operator actions go through it so they always take the validated path.
class ConsoleController : public QObject {
    Q_OBJECT
public:
    ConsoleController(EngineDirectory directory, HistoryStore* history, AdminClient::Options options = {},
                      QObject* parent = nullptr);
    ~ConsoleController() override;

    EngineDirectory& directory() { return m_directory; }
    HistoryStore* history() const { return m_history; }

    int sessionCount() const { return static_cast<int>(m_sessions.size()); }
    EngineSession* session(int index) const;
    EngineSession* session(const QString& name) const;
    int indexOf(const QString& name) const;

    void startAll(); // one session per directory entry, connecting

    // Adds (or replaces) an engine, saves the directory and connects.
    bool addEngine(const EngineEndpoint& endpoint, QString* error = nullptr);
    bool removeEngine(const QString& name, QString* error = nullptr);

    using Done = std::function<void(const ApplyOutcome&)>;
    // Operator actions, each validated locally and by the engine, then applied with expectedVersion.
    void addInstance(const QString& engine, const QString& pool, const model::InstanceConfig& instance, Done done);
    void removeInstance(const QString& engine, const QString& pool, const QString& id, Done done);
    void setWeight(const QString& engine, const QString& pool, const QString& id, std::uint32_t weight, Done done);
    void setState(const QString& engine, const QString& pool, const QString& id, model::InstanceState state, Done done);
    void apply(const QString& engine, std::vector<protocol::ConfigOperation> operations, Done done);

signals:
    // Around every change of the session list, for models: about-to signals come first.
    void sessionAboutToBeAdded(int index);
    void sessionAdded(int index);
    void sessionAboutToBeRemoved(int index);
    void sessionRemoved(int index);

private:
    EngineSession* createSession(const EngineEndpoint& endpoint);
    void removeSession(int index); // stops it; models see the exact row go

    EngineDirectory m_directory;
    HistoryStore* m_history = nullptr;
    AdminClient::Options m_options;
    std::vector<std::unique_ptr<EngineSession>> m_sessions;
};

} // namespace gaetwae::console

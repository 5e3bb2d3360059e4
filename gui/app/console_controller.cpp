#include "gui/app/console_controller.hpp"

#include "gui/storage/history_store.hpp"

namespace gaetwae::console {

ConsoleController::ConsoleController(EngineDirectory directory, HistoryStore* history, AdminClient::Options options,
                                     QObject* parent)
    : QObject(parent), m_directory(std::move(directory)), m_history(history), m_options(std::move(options)) {}

ConsoleController::~ConsoleController() = default;

EngineSession* ConsoleController::session(int index) const {
    return index >= 0 && index < sessionCount() ? m_sessions[static_cast<std::size_t>(index)].get() : nullptr;
}

EngineSession* ConsoleController::session(const QString& name) const {
    return session(indexOf(name));
}

int ConsoleController::indexOf(const QString& name) const {
    for (int i = 0; i < sessionCount(); ++i) {
        if (m_sessions[static_cast<std::size_t>(i)]->name() == name) {
            return i;
        }
    }
    return -1;
}

void ConsoleController::startAll() {
    for (const auto& endpoint : m_directory.engines()) {
        if (indexOf(endpoint.name) < 0) {
            createSession(endpoint)->start();
        }
    }
}

EngineSession* ConsoleController::createSession(const EngineEndpoint& endpoint) {
    auto session = std::make_unique<EngineSession>(endpoint, m_options);
    EngineSession* raw = session.get();
    if (m_history != nullptr) {
        const std::string engine = endpoint.name.toStdString();
        connect(raw, &EngineSession::frameAdded, this,
                [this, engine](const protocol::StatsFrame& frame, bool) { m_history->append(engine, frame); });
        connect(raw, &EngineSession::eventAdded, this,
                [this, engine](const protocol::EventRecord& event, bool) { m_history->append(engine, event); });
        connect(raw, &EngineSession::changeApplied, this, [this, engine](const AppliedChange& change) {
            protocol::AuditRecord record;
            record.version = change.version;
            record.timeMs = change.appliedAtMs;
            record.client = "this console";
            record.summary = change.summary.toStdString();
            record.diff = change.diff;
            m_history->append(engine, record);
        });
        // Ask the engine only for what the store does not have yet.
        raw->client().setLastFrameTime(m_history->lastFrameTime(engine).value_or(0));
    }
    const int index = sessionCount();
    emit sessionAboutToBeAdded(index);
    m_sessions.push_back(std::move(session));
    emit sessionAdded(index);
    return raw;
}

void ConsoleController::removeSession(int index) {
    m_sessions[static_cast<std::size_t>(index)]->stop();
    emit sessionAboutToBeRemoved(index);
    m_sessions.erase(m_sessions.begin() + index);
    emit sessionRemoved(index);
}

bool ConsoleController::addEngine(const EngineEndpoint& endpoint, QString* error) {
    if (!m_directory.put(endpoint, error) || !m_directory.save(error)) {
        return false;
    }
    if (const int existing = indexOf(endpoint.name); existing >= 0) {
        removeSession(existing); // replaced: a new session with the new endpoint
    }
    createSession(endpoint)->start();
    return true;
}

bool ConsoleController::removeEngine(const QString& name, QString* error) {
    const int index = indexOf(name);
    if (!m_directory.remove(name) && index < 0) {
        if (error) {
            *error = QStringLiteral("no engine named %1").arg(name);
        }
        return false;
    }
    if (!m_directory.save(error)) {
        return false;
    }
    if (index >= 0) {
        removeSession(index);
    }
    return true;
}

void ConsoleController::apply(const QString& engine, std::vector<protocol::ConfigOperation> operations, Done done) {
    EngineSession* target = session(engine);
    if (target == nullptr) {
        done(ApplyOutcome{std::nullopt, false, 0, QStringLiteral("no engine named %1").arg(engine), {}});
        return;
    }
    target->change(std::move(operations), std::move(done));
}

void ConsoleController::addInstance(const QString& engine, const QString& pool, const model::InstanceConfig& instance,
                                    Done done) {
    apply(engine, {protocol::putInstance(pool.toStdString(), instance)}, std::move(done));
}

void ConsoleController::removeInstance(const QString& engine, const QString& pool, const QString& id, Done done) {
    apply(engine, {protocol::removeInstance(pool.toStdString(), id.toStdString())}, std::move(done));
}

void ConsoleController::setWeight(const QString& engine, const QString& pool, const QString& id, std::uint32_t weight,
                                  Done done) {
    apply(engine, {protocol::setWeight(pool.toStdString(), id.toStdString(), weight)}, std::move(done));
}

void ConsoleController::setState(const QString& engine, const QString& pool, const QString& id,
                                 model::InstanceState state, Done done) {
    apply(engine, {protocol::setState(pool.toStdString(), id.toStdString(), state)}, std::move(done));
}

} // namespace gaetwae::console

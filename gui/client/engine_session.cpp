#include "gui/client/engine_session.hpp"

#include <QDateTime>

namespace gaetwae::console {

namespace {

QString summarize(const std::vector<protocol::ConfigOperation>& operations) {
    QStringList lines;
    for (const auto& operation : operations) {
        lines << QString::fromStdString(protocol::describe(operation));
    }
    return lines.join(QStringLiteral("; "));
}

nlohmann::json transactionParams(std::uint64_t expectedVersion, const std::vector<protocol::ConfigOperation>& ops) {
    protocol::ChangeRequest request;
    request.expectedVersion = expectedVersion;
    request.operations = ops;
    return protocol::toJson(request);
}

// The engine's error data {"errors": [...]} as diagnostics.
std::vector<model::Diagnostic> errorsOf(const protocol::RpcError& error) {
    protocol::ValidateResult decoded;
    model::Diagnostics ignored;
    if (error.data.is_object() && protocol::fromJson(error.data, decoded, ignored)) {
        return decoded.errors;
    }
    return {};
}

} // namespace

EngineSession::EngineSession(EngineEndpoint endpoint, AdminClient::Options options, QObject* parent)
    : QObject(parent), m_endpoint(std::move(endpoint)), m_client(std::move(options), this) {
    connect(&m_client, &AdminClient::stateChanged, this, &EngineSession::stateChanged);
    connect(&m_client, &AdminClient::ready, this, [this] { refresh(); });
    connect(&m_client, &AdminClient::configVersionChanged, this, [this](std::uint64_t version) {
        if (version != m_pools.version && m_client.state() == AdminClient::State::Connected) {
            refresh();
        }
    });
    connect(&m_client, &AdminClient::statsReceived, this,
            [this](const protocol::StatsFrame& frame, bool backfill) { onFrame(frame, backfill); });
    connect(&m_client, &AdminClient::eventReceived, this, [this](const protocol::EventRecord& event, bool backfill) {
        m_events.push_back(event);
        while (m_events.size() > kEventCapacity) {
            m_events.pop_front();
        }
        emit eventAdded(m_events.back(), backfill);
    });
}

void EngineSession::start() {
    m_client.open(m_endpoint);
}

void EngineSession::stop() {
    m_client.close();
}

void EngineSession::onFrame(const protocol::StatsFrame& frame, bool backfill) {
    m_frames.push_back(frame);
    while (m_frames.size() > kFrameCapacity) {
        m_frames.pop_front();
    }
    emit frameAdded(m_frames.back(), backfill);
}

void EngineSession::refresh() {
    if (m_refreshing) {
        m_refreshAgain = true; // one more round once this one is in
        return;
    }
    m_refreshing = true;
    // Both reads go out back to back; the engine answers in order, so they see the same
    // version unless a change lands in between, which the version check below catches.
    auto config = std::make_shared<std::optional<protocol::ConfigGetResult>>();
    m_client.call(protocol::method::kConfigGet, nlohmann::json::object(), [config](const RpcOutcome& outcome) {
        protocol::ConfigGetResult result;
        model::Diagnostics diagnostics;
        if (outcome.ok() && protocol::fromJson(outcome.result, result, diagnostics)) {
            *config = std::move(result);
        }
    });
    m_client.call(protocol::method::kPoolsList, nlohmann::json::object(), [this, config](const RpcOutcome& outcome) {
        m_refreshing = false;
        protocol::PoolsListResult pools;
        model::Diagnostics diagnostics;
        if (outcome.ok() && protocol::fromJson(outcome.result, pools, diagnostics) && config->has_value()) {
            if ((*config)->version != pools.version || pools.version < m_version) {
                m_refreshAgain = true; // a change landed between the reads, or this read is older
            }
            if (pools.version >= m_version) {
                m_config = (*config)->config;
                m_version = pools.version;
                m_pools = std::move(pools);
                emit poolsChanged();
            }
        }
        if (std::exchange(m_refreshAgain, false)) {
            refresh();
        }
    });
}

void EngineSession::preview(std::vector<protocol::ConfigOperation> operations, std::function<void(ChangePreview)> done) {
    ChangePreview preview;
    preview.operations = std::move(operations);
    preview.baseVersion = m_version;
    preview.summary = summarize(preview.operations);
    if (!m_config) {
        preview.failure = QStringLiteral("the configuration of %1 has not been read yet").arg(name());
        done(std::move(preview));
        return;
    }
    // The shared model first: the same rules as the engine, without a round trip. Preserve:
    // a newer engine may know fields this console does not.
    model::Diagnostics local;
    protocol::applyOperations(*m_config, preview.operations, local, model::UnknownKeys::Preserve);
    if (!local.empty()) {
        preview.errors = local.items();
        done(std::move(preview));
        return;
    }
    protocol::ChangeRequest request;
    request.operations = preview.operations;
    nlohmann::json params = protocol::toJson(request);
    params.erase("expectedVersion");
    m_client.call(protocol::method::kValidate, params,
                  [preview = std::move(preview), done = std::move(done)](const RpcOutcome& outcome) mutable {
                      protocol::ValidateResult result;
                      model::Diagnostics diagnostics;
                      if (!outcome.ok()) {
                          preview.failure = QString::fromStdString(outcome.error->message);
                          preview.errors = errorsOf(*outcome.error);
                      } else if (!protocol::fromJson(outcome.result, result, diagnostics)) {
                          preview.failure = QStringLiteral("unreadable validation result from the engine");
                      } else {
                          preview.errors = result.errors;
                          preview.diff = result.diff;
                      }
                      done(std::move(preview));
                  });
}

void EngineSession::apply(const ChangePreview& preview, std::function<void(ApplyOutcome)> done) {
    if (!preview.valid() || !m_config) {
        done(ApplyOutcome{std::nullopt, false, 0, QStringLiteral("the change is not valid; nothing was sent"),
                          preview.errors});
        return;
    }
    AppliedChange change;
    change.previousVersion = preview.baseVersion;
    change.previousConfig = *m_config;
    change.operations = preview.operations;
    change.summary = preview.summary;
    m_client.call(protocol::method::kTransaction, transactionParams(preview.baseVersion, preview.operations),
                  [this, change = std::move(change), done = std::move(done)](const RpcOutcome& outcome) mutable {
                      if (!outcome.ok()) {
                          const auto& error = *outcome.error;
                          if (error.code == protocol::rpc::kConflict) {
                              const std::uint64_t current = error.data.is_object()
                                                                ? error.data.value("currentVersion", std::uint64_t{0})
                                                                : 0;
                              explainConflict(change.previousVersion, current, std::move(done));
                              return;
                          }
                          done(ApplyOutcome{std::nullopt, false, 0, QString::fromStdString(error.message),
                                            errorsOf(error)});
                          return;
                      }
                      protocol::ChangeResult result;
                      model::Diagnostics diagnostics;
                      if (!protocol::fromJson(outcome.result, result, diagnostics)) {
                          done(ApplyOutcome{std::nullopt, false, 0,
                                            QStringLiteral("the engine applied the change but its answer was unreadable"),
                                            {}});
                          refresh();
                          return;
                      }
                      change.version = result.version;
                      change.diff = result.diff;
                      change.appliedAtMs = QDateTime::currentMSecsSinceEpoch();
                      if (m_version == change.previousVersion && result.version > m_version) {
                          // What the engine now runs: the validated operations on the base.
                          model::Diagnostics ignored;
                          m_config = protocol::applyOperations(change.previousConfig, change.operations, ignored,
                                                               model::UnknownKeys::Preserve);
                          m_version = result.version;
                      }
                      refresh();
                      emit changeApplied(change);
                      done(ApplyOutcome{change, false, 0, {}, {}});
                  });
}

void EngineSession::explainConflict(std::uint64_t baseVersion, std::uint64_t currentVersion,
                                    std::function<void(ApplyOutcome)> done) {
    refresh();
    nlohmann::json params = nlohmann::json::object();
    params["limit"] = 20;
    m_client.call(protocol::method::kHistory, params,
                  [baseVersion, currentVersion, done = std::move(done)](const RpcOutcome& outcome) {
                      QStringList who;
                      std::vector<protocol::AuditRecord> records;
                      model::Diagnostics diagnostics;
                      if (outcome.ok() && protocol::fromJson(outcome.result, records, diagnostics)) {
                          for (const auto& record : records) {
                              if (record.version > baseVersion) {
                                  who << QStringLiteral("version %1 by %2: %3")
                                             .arg(record.version)
                                             .arg(QString::fromStdString(record.client),
                                                  QString::fromStdString(record.summary));
                              }
                          }
                      }
                      QString message = QStringLiteral("The configuration changed from version %1 to %2 while this "
                                                       "change was prepared, so it was not applied.")
                                            .arg(baseVersion)
                                            .arg(currentVersion);
                      if (!who.isEmpty()) {
                          message += QStringLiteral(" In between: ") + who.join(QStringLiteral("; ")) + QLatin1Char('.');
                      }
                      message += QStringLiteral(" Review the current state and make the change again.");
                      done(ApplyOutcome{std::nullopt, true, currentVersion, message, {}});
                  });
}

void EngineSession::revert(const AppliedChange& change, std::function<void(ApplyOutcome)> done) {
    ChangePreview preview;
    preview.operations = {protocol::replaceConfig(change.previousConfig)};
    preview.baseVersion = change.version;
    preview.summary = QStringLiteral("revert to version %1 (%2)").arg(change.previousVersion).arg(change.summary);
    apply(preview, std::move(done));
}

void EngineSession::change(std::vector<protocol::ConfigOperation> operations, std::function<void(ApplyOutcome)> done) {
    preview(std::move(operations), [this, done = std::move(done)](ChangePreview preview) mutable {
        if (!preview.valid()) {
            done(ApplyOutcome{std::nullopt, false, 0,
                              preview.failure.isEmpty() ? QStringLiteral("the change is invalid") : preview.failure,
                              preview.errors});
            return;
        }
        apply(preview, std::move(done));
    });
}

} // namespace gaetwae::console

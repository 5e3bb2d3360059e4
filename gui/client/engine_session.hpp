#pragma once

#include "gui/client/admin_client.hpp"

#include "shared/model/config.hpp"
#include "shared/protocol/admin_messages.hpp"
#include "shared/protocol/config_ops.hpp"

#include <QObject>

#include <deque>
#include <functional>
#include <optional>
#include <vector>

namespace gaetwae::console {

// A change on its way to an engine: the operations, the version they were made against, and
// what validation (first local, with the shared model, then the engine's dry run) found.
struct ChangePreview {
    std::vector<protocol::ConfigOperation> operations;
    std::uint64_t baseVersion = 0;
    std::vector<model::Diagnostic> errors; // empty when valid
    nlohmann::json diff = nlohmann::json::array();
    QString summary; // one line per operation
    QString failure; // transport problem, if the engine could not be asked

    bool valid() const { return errors.empty() && failure.isEmpty(); }
};

// A change the engine accepted, with what it takes to undo it.
struct AppliedChange {
    std::uint64_t version = 0;
    std::uint64_t previousVersion = 0;
    model::GatewayConfig previousConfig;
    std::vector<protocol::ConfigOperation> operations;
    nlohmann::json diff = nlohmann::json::array();
    std::int64_t appliedAtMs = 0; // wall clock, comparable with frame times
    QString summary;
};

struct ApplyOutcome {
    std::optional<AppliedChange> applied;
    bool conflict = false;
    std::uint64_t currentVersion = 0; // on conflict
    QString message;                  // why it failed, in words an operator can act on
    std::vector<model::Diagnostic> errors;
};

// Everything the console knows about one engine: its client, the running configuration with
// live pool state, the recent stats frames (for live charts) and the change flow
// validate -> diff -> apply with expectedVersion -> revert. Lives on the UI thread.
class EngineSession : public QObject {
    Q_OBJECT
public:
    static constexpr std::size_t kFrameCapacity = 900; // 15 minutes at 1 Hz, as the engine keeps
    static constexpr std::size_t kEventCapacity = 2048; // as many as the engine keeps

    explicit EngineSession(EngineEndpoint endpoint, AdminClient::Options options = {}, QObject* parent = nullptr);

    AdminClient& client() { return m_client; }
    const AdminClient& client() const { return m_client; }
    const EngineEndpoint& endpoint() const { return m_client.endpoint(); }
    QString name() const { return m_endpoint.name; }

    void start();
    void stop();

    // The last configuration read (config.get) and live pool state (pools.list), same version.
    const std::optional<model::GatewayConfig>& config() const { return m_config; }
    const protocol::PoolsListResult& pools() const { return m_pools; }
    // The newest version known: from reads, or from this console's own applied change (its
    // effect is known before the read that confirms it comes back), so consecutive edits
    // never conflict with each other.
    std::uint64_t configVersion() const { return m_version; }
    const std::deque<protocol::StatsFrame>& frames() const { return m_frames; }
    const std::deque<protocol::EventRecord>& recentEvents() const { return m_events; }
    const protocol::StatsFrame* latestFrame() const { return m_frames.empty() ? nullptr : &m_frames.back(); }
    void refresh(); // reads config and pools again

    // Validates `operations` against the current configuration: locally first (nothing is
    // sent when the shared model already finds errors), then with the engine's dry run.
    void preview(std::vector<protocol::ConfigOperation> operations, std::function<void(ChangePreview)> done);
    // Applies a valid preview with expectedVersion = its base version. A conflict is reported
    // with the version that got in between and who made it; nothing is overwritten.
    void apply(const ChangePreview& preview, std::function<void(ApplyOutcome)> done);
    // Puts back the configuration from before `change`, if nothing else changed since.
    void revert(const AppliedChange& change, std::function<void(ApplyOutcome)> done);
    // preview + apply in one go, for scripted changes (and tests).
    void change(std::vector<protocol::ConfigOperation> operations, std::function<void(ApplyOutcome)> done);

signals:
    void stateChanged(gaetwae::console::AdminClient::State state);
    void poolsChanged();
    void frameAdded(const gaetwae::protocol::StatsFrame& frame, bool backfill);
    void eventAdded(const gaetwae::protocol::EventRecord& event, bool backfill);
    void changeApplied(const gaetwae::console::AppliedChange& change);

private:
    void onFrame(const protocol::StatsFrame& frame, bool backfill);
    void explainConflict(std::uint64_t baseVersion, std::uint64_t currentVersion, std::function<void(ApplyOutcome)> done);

    EngineEndpoint m_endpoint;
    AdminClient m_client;
    std::optional<model::GatewayConfig> m_config;
    protocol::PoolsListResult m_pools;
    std::uint64_t m_version = 0;
    std::deque<protocol::StatsFrame> m_frames;
    std::deque<protocol::EventRecord> m_events;
    bool m_refreshing = false;
    bool m_refreshAgain = false;
};

} // namespace gaetwae::console

#pragma once

#include "shared/protocol/admin_messages.hpp"

#include "gui/models/keyed_table_model.hpp"
#include <QPointer>

#include <map>
#include <string>
#include <vector>

namespace gaetwae::console {

class EngineSession;

// The instances of one pool with their live state: health, breaker, manual state with drain
// progress, active requests, traffic share in the last second, slow-start factor and latency.
// Live columns come from the newest stats frame (1 Hz), configuration from pools.list.
class InstancesModel : public KeyedTableModel {
    Q_OBJECT
public:
    enum Column { Id, Address, Weight, State, Health, Breaker, Active, RequestsPerSecond, Share, SlowStart, Latency,
                  ColumnCount };
    enum Role { InstanceIdRole = Qt::UserRole + 1, BreakerRole, DrainingRole };

    explicit InstancesModel(QObject* parent = nullptr);

    void setPool(EngineSession* session, const QString& pool);
    QString pool() const { return m_pool; }

    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    // Live values of one instance (frame if any, else pools.list), for views and tests.
    struct Live {
        bool healthy = true;
        bool ejected = false;
        std::string breaker = "closed";
        std::string state = "enabled";
        std::uint32_t weight = 0;
        std::int64_t active = 0;
        double requestsPerSecond = 0;
        double share = 0;
        double slowStart = 1.0;
        double latencyMs = 0;
    };
    Live live(const std::string& id) const;

private:
    void sync();
    void trafficChanged();
    void refreshLive(); // once per frame or pools.list, not per cell

    QPointer<EngineSession> m_session;
    QString m_pool;
    std::map<std::string, protocol::InstanceView> m_instances;
    std::map<std::string, Live> m_live; // derived from m_instances and the newest frame
};

} // namespace gaetwae::console

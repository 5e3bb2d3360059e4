#pragma once

#include "shared/protocol/admin_messages.hpp"

#include "gui/models/keyed_table_model.hpp"
#include <QPointer>

#include <map>
#include <string>
#include <vector>

namespace gaetwae::console {

class EngineSession;

// The pools of one engine: configuration (from pools.list) and traffic of the last second
// (from the newest stats frame). Rows follow pool changes with exact insert/remove ranges.
class PoolsModel : public KeyedTableModel {
    Q_OBJECT
public:
    enum Column { Name, Strategy, Instances, Active, RequestsPerSecond, P99, Errors, ColumnCount };
    enum Role { PoolNameRole = Qt::UserRole + 1 };

    explicit PoolsModel(QObject* parent = nullptr);

    void setSession(EngineSession* session); // nullptr: empty
    EngineSession* session() const { return m_session; }

    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    void sync();
    void trafficChanged();

    QPointer<EngineSession> m_session;
    std::map<std::string, protocol::PoolView> m_pools;
};

} // namespace gaetwae::console

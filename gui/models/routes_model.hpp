#pragma once

#include "gui/models/keyed_table_model.hpp"
#include "shared/model/config.hpp"

#include <QPointer>

#include <map>

namespace gaetwae::console {

class EngineSession;

// The routes of one engine in match order (hosts, path prefix, methods, rewrite, target pool)
// with their traffic in the last second from the newest stats frame.
class RoutesModel : public KeyedTableModel {
    Q_OBJECT
public:
    enum Column { Name, Match, Pool, Rewrite, RequestsPerSecond, P99, Errors, ColumnCount };

    explicit RoutesModel(QObject* parent = nullptr);

    void setSession(EngineSession* session);

    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    void sync();

    QPointer<EngineSession> m_session;
    std::map<std::string, model::RouteConfig> m_routes;
};

} // namespace gaetwae::console

#pragma once

#include "gui/client/engine_session.hpp"

#include <QPointer>
#include <QWidget>

class QLabel;
class QTableView;

namespace gaetwae::console {

class InstancesModel;
class PoolsModel;
class RoutesModel;

// Routes, pools and their instances with live state, and every edit an operator makes on them:
// routes added, edited (match, pool and every per-route policy) or removed; instances added,
// removed, weighted, enabled/drained/disabled; pool settings (strategy, health check, breaker,
// retry as a merge patch). Each edit goes validate -> diff preview -> apply with
// expectedVersion -> watch window (error rate and p99 before/after, one-click revert).
class PoolsPage : public QWidget {
    Q_OBJECT
public:
    explicit PoolsPage(QWidget* parent = nullptr);

    void setSession(EngineSession* session);
    PoolsModel* poolsModel() const { return m_pools; }
    InstancesModel* instancesModel() const { return m_instances; }
    RoutesModel* routesModel() const { return m_routes; }

    // The flow behind every button, usable without dialogs: preview, confirm, apply, watch.
    // `confirm` sees the preview and returns whether to apply (the dialog asks the operator).
    void propose(std::vector<protocol::ConfigOperation> operations,
                 const std::function<bool(const ChangePreview&)>& confirm);

signals:
    void changeFinished(const QString& message);

private:
    QString currentPool() const;
    QString currentInstance() const;
    QString currentRoute() const;
    void editRoute(bool adding); // the route editor adds or, prefilled, replaces a route
    void removeRoute();
    void editInstance(bool adding); // the same dialog adds or, prefilled, replaces
    void editWeight();
    void setState(model::InstanceState state);
    void removeInstance();
    void editPool();
    void watch(const AppliedChange& change);
    bool confirmWithDialog(const ChangePreview& preview);

    QPointer<EngineSession> m_session;
    RoutesModel* m_routes = nullptr;
    PoolsModel* m_pools = nullptr;
    InstancesModel* m_instances = nullptr;
    QTableView* m_routeView = nullptr;
    QTableView* m_poolView = nullptr;
    QTableView* m_instanceView = nullptr;
    QLabel* m_status = nullptr;
};

} // namespace gaetwae::console

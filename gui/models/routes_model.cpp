#include "gui/models/routes_model.hpp"

#include "gui/client/engine_session.hpp"
#include "gui/models/traffic_cells.hpp"
#include "shared/model/route_summary.hpp"

#include <QStringList>

namespace gaetwae::console {

namespace {

QString join(const std::vector<std::string>& items, const QString& none) {
    if (items.empty()) {
        return none;
    }
    QStringList out;
    for (const auto& item : items) {
        out << QString::fromStdString(item);
    }
    return out.join(QStringLiteral(", "));
}

} // namespace

RoutesModel::RoutesModel(QObject* parent) : KeyedTableModel(parent) {}

void RoutesModel::setSession(EngineSession* session) {
    if (m_session) {
        disconnect(m_session, nullptr, this, nullptr);
    }
    m_session = session;
    if (session != nullptr) {
        connect(session, &EngineSession::poolsChanged, this, [this] { sync(); });
        connect(session, &EngineSession::frameAdded, this,
                [this] { allRowsChanged(RequestsPerSecond, Errors); });
    }
    sync();
}

void RoutesModel::sync() {
    std::vector<std::string> names;
    std::map<std::string, model::RouteConfig> routes;
    if (m_session && m_session->config()) {
        for (const auto& route : m_session->config()->routes) {
            names.push_back(route.name);
            routes.emplace(route.name, route);
        }
    }
    syncKeys(names, [&] { m_routes = std::move(routes); });
}

int RoutesModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant RoutesModel::data(const QModelIndex& index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid) ||
        role != Qt::DisplayRole) {
        return {};
    }
    const auto it = m_routes.find(keyAt(index.row()));
    if (it == m_routes.end()) {
        return {};
    }
    const model::RouteConfig& route = it->second;
    const TrafficCells cells(m_session ? m_session->latestFrame() : nullptr, &protocol::StatsFrame::routes, route.name);
    switch (index.column()) {
    case Name: return QString::fromStdString(route.name);
    case Match:
        return QStringLiteral("%1 %2%3 (%4)%5")
            .arg(join(route.match.hosts, QStringLiteral("any host")),
                 QString::fromStdString(model::describePath(route.match)),
                 route.match.pathExact.empty() && route.match.pathRegex.empty() ? QStringLiteral("*") : QString(),
                 join(route.match.methods, QStringLiteral("any method")),
                 route.match.headers.empty() && route.match.query.empty()
                     ? QString()
                     : QStringLiteral(" +%1 header/query conditions")
                           .arg(route.match.headers.size() + route.match.query.size()));
    case Pool: return QString::fromStdString(model::describeDestination(route));
    case Rewrite:
        if (!route.rewritePrefix.empty()) {
            return QStringLiteral("%1 → %2").arg(QString::fromStdString(route.match.pathPrefix),
                                                QString::fromStdString(route.rewritePrefix));
        }
        if (route.rewrite) {
            return QStringLiteral("%1 → %2").arg(QString::fromStdString(
                                                     route.rewrite->regex.empty() ? model::describePath(route.match)
                                                                                  : "~" + route.rewrite->regex),
                                                 QString::fromStdString(route.rewrite->replacement));
        }
        return route.stripPrefix ? QStringLiteral("strip prefix") : QString();
    case RequestsPerSecond: return cells.requestsPerSecond();
    case P99: return cells.p99();
    case Errors: return cells.rate([](const protocol::TrafficStats& t) { return t.responses[3] + t.responses[4]; });
    default: return {};
    }
}

QVariant RoutesModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) {
        return {};
    }
    static const char* const names[] = {"Route", "Match", "Pool", "Rewrite", "Req/s", "p99", "4xx+5xx/s"};
    return section >= 0 && section < ColumnCount ? QString::fromLatin1(names[section]) : QVariant();
}

} // namespace gaetwae::console

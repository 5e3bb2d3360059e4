#include "gui/models/pools_model.hpp"

#include "gui/client/engine_session.hpp"
#include "gui/models/traffic_cells.hpp"

namespace gaetwae::console {

PoolsModel::PoolsModel(QObject* parent) : KeyedTableModel(parent) {}

void PoolsModel::setSession(EngineSession* session) {
    if (m_session) {
        disconnect(m_session, nullptr, this, nullptr);
    }
    m_session = session;
    if (session != nullptr) {
        connect(session, &EngineSession::poolsChanged, this, [this] { sync(); });
        connect(session, &EngineSession::frameAdded, this, [this] { trafficChanged(); });
    }
    sync();
}

void PoolsModel::sync() {
    std::vector<std::string> names;
    std::map<std::string, protocol::PoolView> pools;
    if (m_session) {
        for (const auto& pool : m_session->pools().pools) {
            names.push_back(pool.config.name);
            pools.emplace(pool.config.name, pool);
        }
    }
    syncKeys(names, [&] { m_pools = std::move(pools); });
}

void PoolsModel::trafficChanged() {
    allRowsChanged(Instances, Errors);
}

int PoolsModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant PoolsModel::data(const QModelIndex& index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) {
        return {};
    }
    const auto it = m_pools.find(keyAt(index.row()));
    if (it == m_pools.end()) {
        return {};
    }
    const protocol::PoolView& pool = it->second;
    if (role == PoolNameRole) {
        return QString::fromStdString(pool.config.name);
    }
    if (role == Qt::TextAlignmentRole && index.column() >= Instances) {
        return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
    }
    if (role != Qt::DisplayRole) {
        return {};
    }
    const protocol::StatsFrame* frame = m_session ? m_session->latestFrame() : nullptr;
    const TrafficCells cells(frame, &protocol::StatsFrame::pools, pool.config.name);
    const protocol::TrafficStats* traffic = cells.traffic();
    switch (index.column()) {
    case Name: return QString::fromStdString(pool.config.name);
    case Strategy: return QString::fromStdString(std::string(model::toString(pool.config.strategy)));
    case Instances: {
        int up = 0;
        int total = 0;
        if (frame != nullptr) {
            for (const auto& instance : frame->instances) {
                if (instance.pool == pool.config.name) {
                    ++total;
                    up += instance.healthy && !instance.ejected && instance.breaker != "open" ? 1 : 0;
                }
            }
        } else {
            for (const auto& instance : pool.instances) {
                ++total;
                up += instance.healthy && !instance.ejected && instance.breaker != "open" ? 1 : 0;
            }
        }
        return QStringLiteral("%1 / %2").arg(up).arg(total);
    }
    case Active: return QVariant::fromValue(traffic != nullptr ? traffic->activeRequests : pool.activeRequests);
    case RequestsPerSecond: return cells.requestsPerSecond();
    case P99: return cells.p99();
    case Errors: return cells.rate([](const protocol::TrafficStats& t) { return t.responses[4]; });
    default: return {};
    }
}

QVariant PoolsModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) {
        return {};
    }
    static const char* const names[] = {"Pool", "Strategy", "Available", "Active", "Req/s", "p99", "5xx/s"};
    return section >= 0 && section < ColumnCount ? QString::fromLatin1(names[section]) : QVariant();
}

} // namespace gaetwae::console

#include "gui/models/instances_model.hpp"

#include "gui/client/engine_session.hpp"

#include <QColor>

namespace gaetwae::console {

InstancesModel::InstancesModel(QObject* parent) : KeyedTableModel(parent) {}

void InstancesModel::setPool(EngineSession* session, const QString& pool) {
    if (m_session) {
        disconnect(m_session, nullptr, this, nullptr);
    }
    m_session = session;
    m_pool = pool;
    if (session != nullptr) {
        connect(session, &EngineSession::poolsChanged, this, [this] { sync(); });
        connect(session, &EngineSession::frameAdded, this, [this] { trafficChanged(); });
    }
    sync();
}

void InstancesModel::sync() {
    std::vector<std::string> ids;
    std::map<std::string, protocol::InstanceView> instances;
    if (m_session) {
        for (const auto& pool : m_session->pools().pools) {
            if (pool.config.name != m_pool.toStdString()) {
                continue;
            }
            for (const auto& instance : pool.instances) {
                ids.push_back(instance.config.id);
                instances.emplace(instance.config.id, instance);
            }
        }
    }
    syncKeys(ids, [&] {
        m_instances = std::move(instances);
        refreshLive();
    });
}

void InstancesModel::trafficChanged() {
    refreshLive();
    allRowsChanged(Weight, Latency);
}

InstancesModel::Live InstancesModel::live(const std::string& id) const {
    const auto it = m_live.find(id);
    return it == m_live.end() ? Live{} : it->second;
}

void InstancesModel::refreshLive() {
    m_live.clear();
    for (const auto& [id, view] : m_instances) {
        Live& out = m_live[id];
        out.healthy = view.healthy;
        out.ejected = view.ejected;
        out.breaker = view.breaker;
        out.state = std::string(model::toString(view.config.state));
        out.weight = view.config.weight;
        out.active = view.activeRequests;
        out.slowStart = view.slowStart;
        out.latencyMs = view.latencyEwmaMs;
    }
    const protocol::StatsFrame* frame = m_session ? m_session->latestFrame() : nullptr;
    if (frame == nullptr) {
        return;
    }
    const std::string pool = m_pool.toStdString();
    std::uint64_t poolRequests = 0;
    for (const auto& instance : frame->instances) {
        poolRequests += instance.pool == pool ? instance.requests : 0;
    }
    // A frame newer than the last pools.list wins for live values, not for configuration.
    const bool current = frame->configVersion >= m_session->configVersion();
    for (const auto& instance : frame->instances) {
        const auto it = m_live.find(instance.id);
        if (instance.pool != pool || it == m_live.end()) {
            continue;
        }
        Live& out = it->second;
        if (current) {
            out.healthy = instance.healthy;
            out.ejected = instance.ejected;
            out.breaker = instance.breaker;
            out.state = instance.state;
            out.weight = instance.weight;
            out.active = instance.activeRequests;
            out.slowStart = instance.slowStart;
            out.latencyMs = instance.latencyEwmaMs;
        }
        out.requestsPerSecond = static_cast<double>(instance.requests) * 1000.0 / static_cast<double>(frame->intervalMs);
        out.share = poolRequests == 0 ? 0.0 : static_cast<double>(instance.requests) / static_cast<double>(poolRequests);
    }
}

int InstancesModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant InstancesModel::data(const QModelIndex& index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) {
        return {};
    }
    const std::string& id = keyAt(index.row());
    const auto it = m_instances.find(id);
    if (it == m_instances.end()) {
        return {};
    }
    const Live now = live(id);
    switch (role) {
    case InstanceIdRole: return QString::fromStdString(id);
    case BreakerRole: return QString::fromStdString(now.breaker);
    case DrainingRole: return now.state == "draining";
    case Qt::ForegroundRole:
        if (index.column() == Health && (!now.healthy || now.ejected)) {
            return QColor(0xd0, 0x3b, 0x3b);
        }
        if (index.column() == Breaker && now.breaker != "closed") {
            return now.breaker == "open" ? QColor(0xd0, 0x3b, 0x3b) : QColor(0xd9, 0x8e, 0x04);
        }
        return {};
    case Qt::TextAlignmentRole:
        return index.column() >= Active || index.column() == Weight ? QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter)
                                                                     : QVariant();
    case Qt::DisplayRole: break;
    default: return {};
    }
    switch (index.column()) {
    case Id: return QString::fromStdString(id);
    case Address: return QString::fromStdString(it->second.config.address);
    case Weight: return now.weight;
    case State:
        if (now.state == "draining") {
            return now.active == 0 ? QStringLiteral("drained")
                                   : QStringLiteral("draining (%1 in flight)").arg(now.active);
        }
        return QString::fromStdString(now.state);
    case Health: return now.ejected ? QStringLiteral("ejected") : now.healthy ? QStringLiteral("healthy") : QStringLiteral("unhealthy");
    case Breaker: return QString::fromStdString(now.breaker == "half_open" ? std::string("half-open") : now.breaker);
    case Active: return QVariant::fromValue(now.active);
    case RequestsPerSecond: return QString::number(now.requestsPerSecond, 'f', 0);
    case Share: return QStringLiteral("%1 %").arg(now.share * 100.0, 0, 'f', 1);
    case SlowStart: return now.slowStart >= 1.0 ? QString() : QStringLiteral("%1 %").arg(now.slowStart * 100.0, 0, 'f', 0);
    case Latency: return QStringLiteral("%1 ms").arg(now.latencyMs, 0, 'f', 2);
    default: return {};
    }
}

QVariant InstancesModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) {
        return {};
    }
    static const char* const names[] = {"Instance", "Address", "Weight", "State",     "Health", "Breaker",
                                        "Active",   "Req/s",   "Share",  "Slow start", "Latency (EWMA)"};
    return section >= 0 && section < ColumnCount ? QString::fromLatin1(names[section]) : QVariant();
}

} // namespace gaetwae::console

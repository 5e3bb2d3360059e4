#pragma once

#include "engine/metrics/stats_block.hpp"

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace gaetwae::engine::metrics {

// All stats blocks of one worker, by name, kept across config snapshots so totals are cumulative
// for as long as a route, pool or instance exists. The worker resolves blocks when a snapshot
// arrives (never on the request path) and its routing holds them, so a request still running on
// an old snapshot never writes into a freed block. The aggregator reads them under `mutex`.
class WorkerStats {
public:
    StatsBlock& total() { return m_total; }
    std::shared_ptr<StatsBlock> route(const std::string& name);
    std::shared_ptr<StatsBlock> pool(const std::string& name);
    std::shared_ptr<StatsBlock> instance(const std::string& pool, const std::string& id);

    // Forgets blocks whose names are not in the lists (removed routes, pools, instances).
    void retain(const std::vector<std::string>& routes, const std::vector<std::string>& pools,
                const std::vector<std::pair<std::string, std::string>>& instances);

    // For the aggregator (any thread).
    template <class Fn>
    void visit(Fn&& fn) const {
        std::lock_guard lock(m_mutex);
        fn(m_total, m_routes, m_pools, m_instances);
    }

private:
    mutable std::mutex m_mutex;
    StatsBlock m_total;
    std::map<std::string, std::shared_ptr<StatsBlock>> m_routes;
    std::map<std::string, std::shared_ptr<StatsBlock>> m_pools;
    std::map<std::pair<std::string, std::string>, std::shared_ptr<StatsBlock>> m_instances;
};

} // namespace gaetwae::engine::metrics

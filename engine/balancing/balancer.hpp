#pragma once

#include "engine/core/clock.hpp"
#include "engine/health/instance_state.hpp"
#include "shared/model/pool_config.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gaetwae::engine::balancing {

// One instance as the balancer sees it: immutable config plus a pointer to live shared state.
struct InstanceSnapshot {
    std::string id;
    std::string address;
    std::uint32_t weight = 1;
    std::shared_ptr<health::InstanceState> state;
    std::string stickyValue; // opaque cookie value naming this instance (sticky sessions)
};

// An immutable view of a pool, rebuilt whenever membership or config changes (never mutated in
// place), so a pick needs no lock. `config` carries the pool's policies.
struct PoolSnapshot {
    std::string name;
    model::PoolConfig config;
    std::vector<InstanceSnapshot> instances;
};

// Header access for strategies that hash a header or cookie. Implemented by the HTTP layer.
class HeaderLookup {
public:
    virtual ~HeaderLookup() = default;
    virtual std::optional<std::string_view> header(std::string_view name) const = 0;
};

// What a strategy may hash or inspect about a request. Views are valid for the pick only.
struct RequestKey {
    std::string_view clientIp;
    std::string_view host;
    std::string_view path;
    std::string_view query;
    const HeaderLookup* headers = nullptr;
    std::string_view consumer{}; // the authenticated consumer (routes with auth), else empty
};

// Why an instance was chosen, for the admin API's sampled decision log.
struct PickTrace {
    struct Candidate {
        std::size_t index;
        double weight;
        double score; // lower wins for scoring strategies; 0 where it does not apply
    };
    std::vector<Candidate> candidates;
    std::vector<std::pair<std::size_t, std::string>> excluded; // index and reason
    bool panic = false;
    std::string note; // how the choice was made ("smooth weighted round robin", "probe idle"...)
};

// A balancing strategy: one instance per pool and worker, rebuilt with each snapshot. pick() is
// synchronous and reads only the snapshot and shared instance state (a strategy may keep its own
// cursor). Contract:
//  - returns the index of an instance that may take a new request now, or nullopt when none can;
//  - never returns an index listed in `avoid` while another eligible instance exists;
//  - fills `trace` (when given) with the candidates, scores and exclusions behind the choice.
class Balancer {
public:
    virtual ~Balancer() = default;

    virtual std::optional<std::size_t> pick(const PoolSnapshot& pool, const RequestKey& key,
                                            std::span<const std::size_t> avoid, PickTrace* trace) = 0;
};

} // namespace gaetwae::engine::balancing

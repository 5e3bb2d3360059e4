#pragma once

#include "engine/health/instance_state.hpp"
#include "shared/model/config.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace gaetwae::engine::balancing {

// One instance as the balancer sees it: immutable config plus a pointer to live shared state.
struct InstanceSnapshot {
    std::string id;
    std::string address;
    std::uint32_t weight = 1;
    std::shared_ptr<health::InstanceState> state;
};

// An immutable view of a pool, rebuilt whenever membership or config changes (never mutated in
// place), so a pick needs no lock.
struct PoolSnapshot {
    std::string name;
    model::Strategy strategy = model::Strategy::RoundRobin;
    std::vector<InstanceSnapshot> instances;

    // Eligible to receive new requests: positive weight and the instance's state allows it.
    bool eligible(std::size_t index) const {
        const auto& instance = instances[index];
        return instance.weight > 0 && (!instance.state || instance.state->acceptsTraffic());
    }
};

// What a strategy may hash or inspect about a request. Views are valid for the pick only.
struct RequestKey {
    std::string_view clientIp;
    std::string_view host;
    std::string_view path;
    std::string_view query;
};

// Why an instance was chosen, for the admin API's sampled decision log.
struct PickTrace {
    struct Candidate {
        std::size_t index;
        double score;
    };
    std::vector<Candidate> candidates;
    std::vector<std::pair<std::size_t, std::string>> excluded; // index and reason
    std::string note;
};

// A balancing strategy. One instance per pool and worker; pick() is synchronous and only reads the
// snapshot (a strategy may keep its own cursor). Contract:
//  - returns the index of an eligible instance, or nullopt when none is eligible;
//  - never returns an index listed in `avoid` while another eligible instance exists;
//  - fills `trace` (when given) with the candidates and exclusions behind the choice.
class Balancer {
public:
    virtual ~Balancer() = default;

    virtual std::optional<std::size_t> pick(const PoolSnapshot& pool, const RequestKey& key,
                                            std::span<const std::size_t> avoid, PickTrace* trace) = 0;
};

} // namespace gaetwae::engine::balancing

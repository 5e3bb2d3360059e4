#pragma once

#include "engine/balancing/balancer.hpp"

namespace gaetwae::engine::balancing {

// Plain round robin: each eligible instance in turn, ignoring weights (weighted_round_robin honours
// them). The cursor is per worker, like Envoy's thread-local balancers: one keep-alive connection
// sees a strict rotation, the whole gateway an even spread.
class RoundRobinBalancer final : public Balancer {
public:
    std::optional<std::size_t> pick(const PoolSnapshot& pool, const RequestKey& key,
                                    std::span<const std::size_t> avoid, PickTrace* trace) override;

private:
    std::size_t m_next = 0;
};

} // namespace gaetwae::engine::balancing

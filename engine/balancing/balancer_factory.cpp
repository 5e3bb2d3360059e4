#include "engine/balancing/balancer_factory.hpp"

#include "engine/balancing/round_robin_balancer.hpp"

namespace gaetwae::engine::balancing {

std::unique_ptr<Balancer> makeBalancer(const PoolSnapshot& pool) {
    switch (pool.strategy) {
    case model::Strategy::RoundRobin:
        return std::make_unique<RoundRobinBalancer>();
    }
    return std::make_unique<RoundRobinBalancer>();
}

} // namespace gaetwae::engine::balancing

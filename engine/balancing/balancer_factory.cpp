#include "engine/balancing/balancer_factory.hpp"

#include "engine/balancing/consistent_hash_balancer.hpp"
#include "engine/balancing/dynamic_score_balancer.hpp"
#include "engine/balancing/ip_hash_balancer.hpp"
#include "engine/balancing/latency_balancer.hpp"
#include "engine/balancing/least_connections_balancer.hpp"
#include "engine/balancing/power_of_two_balancer.hpp"
#include "engine/balancing/random_balancer.hpp"
#include "engine/balancing/round_robin_balancer.hpp"
#include "engine/balancing/weighted_round_robin_balancer.hpp"

namespace gaetwae::engine::balancing {

std::unique_ptr<Balancer> makeBalancer(const PoolSnapshot& pool, const core::Clock& clock, core::Random& random) {
    switch (pool.config.strategy) {
    case model::Strategy::RoundRobin:
        return std::make_unique<RoundRobinBalancer>(clock, random);
    case model::Strategy::WeightedRoundRobin:
        return std::make_unique<WeightedRoundRobinBalancer>(clock, random);
    case model::Strategy::Random:
        return std::make_unique<RandomBalancer>(clock, random);
    case model::Strategy::LeastConnections:
        return std::make_unique<LeastConnectionsBalancer>(clock, random);
    case model::Strategy::PowerOfTwo:
        return std::make_unique<PowerOfTwoBalancer>(clock, random);
    case model::Strategy::LeastEwmaLatency:
        return std::make_unique<LeastEwmaLatencyBalancer>(clock, random);
    case model::Strategy::DynamicScore:
        return std::make_unique<DynamicScoreBalancer>(clock, random);
    case model::Strategy::IpHash:
        return std::make_unique<IpHashBalancer>(clock, random);
    case model::Strategy::ConsistentHash:
        return std::make_unique<ConsistentHashBalancer>(clock, random, pool);
    }
    return std::make_unique<RoundRobinBalancer>(clock, random);
}

} // namespace gaetwae::engine::balancing

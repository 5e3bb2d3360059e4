#pragma once

#include "engine/balancing/balancer.hpp"

#include <memory>

namespace gaetwae::engine::balancing {

// The only place that maps a configured strategy to its implementation.
std::unique_ptr<Balancer> makeBalancer(const PoolSnapshot& pool);

} // namespace gaetwae::engine::balancing

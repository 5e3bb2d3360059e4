#pragma once

#include "engine/balancing/balancer.hpp"
#include "engine/core/random.hpp"

#include <memory>

namespace gaetwae::engine::balancing {

// The only place that maps a configured strategy to its implementation.
std::unique_ptr<Balancer> makeBalancer(const PoolSnapshot& pool, const core::Clock& clock, core::Random& random);

} // namespace gaetwae::engine::balancing

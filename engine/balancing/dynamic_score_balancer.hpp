#pragma once

#include "engine/balancing/latency_balancer.hpp"

namespace gaetwae::engine::balancing {

// score = average latency * (active requests + 1) / weight: load and speed in one number.
class DynamicScoreBalancer final : public LatencyBalancer {
public:
    DynamicScoreBalancer(const core::Clock& clock, core::Random& random)
        : LatencyBalancer(clock, random, Signal::Average) {}
};

} // namespace gaetwae::engine::balancing

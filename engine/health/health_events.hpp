#pragma once

#include "engine/health/circuit_breaker.hpp"
#include "engine/health/instance_state.hpp"

#include <memory>
#include <string>

namespace gaetwae::engine::health {

// What the data path reports to the control plane. Implementations are thread-safe and return
// quickly (they post work to the control thread).
class HealthEvents {
public:
    virtual ~HealthEvents() = default;
    // The outlier counters of `instance` reached a threshold.
    virtual void ejectionRequested(const std::shared_ptr<InstanceState>& instance, std::string reason) = 0;
    // A circuit breaker changed state.
    virtual void breakerChanged(const InstanceState& instance, const BreakerTransition& transition) = 0;
};

} // namespace gaetwae::engine::health

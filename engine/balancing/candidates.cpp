#include "engine/balancing/candidates.hpp"

#include <algorithm>
#include <cmath>

namespace gaetwae::engine::balancing {

double slowStartFactor(const model::SlowStartConfig& config, core::TimePoint since, core::TimePoint now) {
    if (config.window.count() <= 0 || now <= since) {
        return config.window.count() <= 0 ? 1.0 : static_cast<double>(config.minPercent) / 100.0;
    }
    const double progress = std::chrono::duration<double, std::milli>(now - since).count() /
                            static_cast<double>(config.window.count());
    if (progress >= 1.0) {
        return 1.0;
    }
    const double curve = std::pow(progress, 1.0 / config.aggression);
    return std::max(static_cast<double>(config.minPercent) / 100.0, curve);
}

void selectCandidates(const PoolSnapshot& pool, core::TimePoint now, std::span<const std::size_t> avoid,
                      CandidateSet& out, PickTrace* trace) {
    out.items.clear();
    out.totalWeight = 0;
    out.panic = false;

    // Panic mode: when too few instances are up, spreading load over all of them beats
    // overloading the survivors (Envoy's healthy_panic_threshold).
    std::size_t serving = 0;
    std::size_t up = 0;
    for (const auto& instance : pool.instances) {
        if (instance.weight > 0 && instance.state->enabled()) {
            ++serving;
            up += instance.state->up() ? 1 : 0;
        }
    }
    out.panic = serving > 0 && up * 100 < serving * pool.config.panicThreshold;
    if (trace != nullptr) {
        trace->panic = out.panic;
    }

    auto exclude = [&](std::size_t index, const char* reason) {
        if (trace != nullptr) {
            trace->excluded.emplace_back(index, reason);
        }
    };
    std::size_t avoided = 0;
    for (std::size_t i = 0; i < pool.instances.size(); ++i) {
        const auto& instance = pool.instances[i];
        const auto& state = *instance.state;
        const auto admin = state.adminState.load(std::memory_order_relaxed);
        if (admin != model::InstanceState::Enabled) {
            exclude(i, admin == model::InstanceState::Draining ? "draining" : "disabled");
            continue;
        }
        if (instance.weight == 0) {
            exclude(i, "weight 0");
            continue;
        }
        if (!out.panic && !state.healthy.load(std::memory_order_relaxed)) {
            exclude(i, "unhealthy");
            continue;
        }
        if (!out.panic && state.ejected.load(std::memory_order_relaxed)) {
            exclude(i, "ejected");
            continue;
        }
        if (!state.breaker.wouldAdmit(now)) {
            exclude(i, "circuit open");
            continue;
        }
        if (std::find(avoid.begin(), avoid.end(), i) != avoid.end()) {
            ++avoided;
            continue; // added back below if nothing else qualifies
        }
        const double factor = slowStartFactor(pool.config.slowStart,
                                              core::fromNanos(state.availableSinceNs.load(std::memory_order_relaxed)), now);
        out.items.push_back({i, instance.weight * factor});
        out.totalWeight += instance.weight * factor;
    }
    if (avoided > 0) {
        if (out.items.empty()) {
            // Only already-tried instances remain: better to try one again than to fail.
            for (const std::size_t i : avoid) {
                if (i < pool.instances.size()) {
                    const auto& state = *pool.instances[i].state;
                    if (state.enabled() && pool.instances[i].weight > 0 && (out.panic || state.up()) &&
                        state.breaker.wouldAdmit(now)) {
                        out.items.push_back({i, static_cast<double>(pool.instances[i].weight)});
                        out.totalWeight += pool.instances[i].weight;
                    }
                }
            }
            std::sort(out.items.begin(), out.items.end(), [](const auto& a, const auto& b) { return a.index < b.index; });
            out.items.erase(std::unique(out.items.begin(), out.items.end(),
                                        [](const auto& a, const auto& b) { return a.index == b.index; }),
                            out.items.end());
        } else {
            for (const std::size_t i : avoid) {
                exclude(i, "already tried");
            }
        }
    }
}

std::optional<std::size_t> CandidateBalancer::pick(const PoolSnapshot& pool, const RequestKey& key,
                                                   std::span<const std::size_t> avoid, PickTrace* trace) {
    selectCandidates(pool, m_clock.now(), avoid, m_candidates, trace);
    if (m_candidates.items.empty()) {
        return std::nullopt;
    }
    const std::size_t chosen = choose(pool, key, m_candidates, trace);
    if (trace != nullptr && trace->candidates.empty()) {
        for (const auto& c : m_candidates.items) {
            trace->candidates.push_back({c.index, c.weight, 0.0});
        }
    }
    return chosen;
}

} // namespace gaetwae::engine::balancing

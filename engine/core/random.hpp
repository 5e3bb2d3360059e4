#pragma once

#include <cstdint>

namespace gaetwae::engine::core {

// Randomness, injected like the clock: tests use a fixed seed and get the same picks, jitter and
// backoffs on every run. Not thread-safe: one generator per worker (and one for the control thread).
class Random {
public:
    virtual ~Random() = default;
    virtual std::uint64_t next() = 0;

    // Uniform in [0, 1).
    double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
    // Uniform in [0, bound); bound > 0.
    std::uint64_t below(std::uint64_t bound) {
        __extension__ using Wide = unsigned __int128; // Lemire's multiply-shift, no modulo bias
        return static_cast<std::uint64_t>((static_cast<Wide>(next()) * bound) >> 64);
    }
};

// xoshiro256** seeded through splitmix64: fast, small, and good enough for balancing.
class XoshiroRandom final : public Random {
public:
    explicit XoshiroRandom(std::uint64_t seed);
    std::uint64_t next() override;

private:
    std::uint64_t m_s[4];
};

// A seed from the operating system, for production use.
std::uint64_t randomSeed();

} // namespace gaetwae::engine::core

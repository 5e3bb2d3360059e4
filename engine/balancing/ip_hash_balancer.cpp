#include "engine/balancing/ip_hash_balancer.hpp"

#include "engine/balancing/hashing.hpp"

namespace gaetwae::engine::balancing {

std::size_t IpHashBalancer::choose(const PoolSnapshot& pool, const RequestKey& key, const CandidateSet& candidates,
                                   PickTrace* trace) {
    if (trace != nullptr) {
        trace->note = "ip hash (rendezvous) on " + std::string(key.clientIp);
    }
    return rendezvous(hash64(key.clientIp), pool, candidates);
}

} // namespace gaetwae::engine::balancing

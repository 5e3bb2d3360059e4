#pragma once

#include "shared/model/address.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace gaetwae::engine::net {

// A listening address bound once per worker with SO_REUSEPORT, so the kernel spreads new
// connections over workers without a shared accept lock. Owns the descriptors until each is
// handed to its worker with release().
class BoundListener {
public:
    BoundListener() = default;
    BoundListener(BoundListener&& other) noexcept;
    BoundListener& operator=(BoundListener&& other) noexcept;
    BoundListener(const BoundListener&) = delete;
    BoundListener& operator=(const BoundListener&) = delete;
    ~BoundListener();

    // Binds `count` sockets to `address`. Port 0 picks a free port once and binds the rest to it.
    // On failure returns false and describes the problem ("address already in use" ...).
    bool bind(const model::HostPort& address, std::size_t count, std::string& error);

    std::uint16_t port() const { return m_port; }
    bool isV6() const { return m_v6; }
    std::size_t size() const { return m_fds.size(); }
    // Gives up ownership of descriptor `i` (the worker adopts it).
    int release(std::size_t i);

private:
    void closeAll();

    std::vector<int> m_fds;
    std::uint16_t m_port = 0;
    bool m_v6 = false;
};

} // namespace gaetwae::engine::net

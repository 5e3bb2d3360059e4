#pragma once

#include <cstdint>
#include <vector>

namespace gaetwae::test {

// A listening socket on 127.0.0.1 whose backlog is full and never accepted: connects to it hang
// in SYN-SENT, so an upstream connect times out instead of being refused.
class BlackholeListener {
public:
    BlackholeListener();
    ~BlackholeListener();
    BlackholeListener(const BlackholeListener&) = delete;
    BlackholeListener& operator=(const BlackholeListener&) = delete;

    std::uint16_t port() const { return m_port; }

private:
    int m_listener = -1;
    std::uint16_t m_port = 0;
    std::vector<int> m_fillers;
};

} // namespace gaetwae::test

#pragma once

#include "engine/net/asio.hpp"

#include <cassert>
#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>

namespace gaetwae::engine::http {

// A contiguous read buffer with a consumed prefix and a filled region, compacted lazily.
// Parsers see one contiguous span, so Beast never has to copy a header; the size is bounded by
// the owner (header and body limits), never by what a peer sends.
class ByteBuffer {
public:
    explicit ByteBuffer(std::size_t capacity = 0) { reserve(capacity); }

    const char* data() const { return m_data.get() + m_begin; }
    std::size_t size() const { return m_end - m_begin; }
    bool empty() const { return m_end == m_begin; }
    std::size_t capacity() const { return m_capacity; }
    std::string_view view() const { return {data(), size()}; }

    // Free space after the data, compacting first when that makes room for at least `minimum`
    // bytes. Never grows: call reserve() for that.
    asio::mutable_buffer prepare(std::size_t minimum = 1) {
        if (m_capacity - m_end < minimum && m_begin > 0) {
            compact();
        }
        return {m_data.get() + m_end, m_capacity - m_end};
    }
    void commit(std::size_t n) {
        assert(m_end + n <= m_capacity);
        m_end += n;
    }
    void consume(std::size_t n) {
        assert(n <= size());
        m_begin += n;
        if (m_begin == m_end) {
            m_begin = m_end = 0;
        }
    }
    void clear() { m_begin = m_end = 0; }
    bool full() const { return m_begin == 0 && m_end == m_capacity; }

    // Grows to at least `capacity` bytes, keeping the data.
    void reserve(std::size_t capacity) {
        if (capacity <= m_capacity) {
            return;
        }
        auto fresh = std::make_unique_for_overwrite<char[]>(capacity);
        if (size() > 0) {
            std::memcpy(fresh.get(), data(), size());
        }
        m_end = size();
        m_begin = 0;
        m_data = std::move(fresh);
        m_capacity = capacity;
    }

private:
    void compact() {
        std::memmove(m_data.get(), m_data.get() + m_begin, size());
        m_end -= m_begin;
        m_begin = 0;
    }

    std::unique_ptr<char[]> m_data;
    std::size_t m_capacity = 0;
    std::size_t m_begin = 0;
    std::size_t m_end = 0;
};

} // namespace gaetwae::engine::http

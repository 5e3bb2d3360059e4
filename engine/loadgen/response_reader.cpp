#include "engine/loadgen/response_reader.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <string_view>

namespace gaetwae::engine::loadgen {

namespace {

constexpr std::size_t kMaxHead = 64 * 1024;
constexpr std::size_t kMaxLine = 4096;

bool equalsLower(std::string_view text, std::string_view lower) {
    return text.size() == lower.size() && std::equal(text.begin(), text.end(), lower.begin(), [](char a, char b) {
               return static_cast<char>(a >= 'A' && a <= 'Z' ? a + ('a' - 'A') : a) == b;
           });
}

bool containsLower(std::string_view text, std::string_view lower) {
    if (text.size() < lower.size()) {
        return false;
    }
    for (std::size_t i = 0; i + lower.size() <= text.size(); ++i) {
        if (equalsLower(text.substr(i, lower.size()), lower)) {
            return true;
        }
    }
    return false;
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
        text.remove_prefix(1);
    }
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) {
        text.remove_suffix(1);
    }
    return text;
}

} // namespace

void ResponseReader::reset(bool headRequest) {
    m_state = State::Head;
    m_headRequest = headRequest;
    m_status = 0;
    m_keepAlive = true;
    m_remaining = 0;
    m_bodyBytes = 0;
    m_head.clear();
    m_line.clear();
    m_error.clear();
}

void ResponseReader::fail(std::string message) {
    m_state = State::Failed;
    m_error = std::move(message);
}

void ResponseReader::closed() {
    if (m_state == State::UntilClose) {
        m_state = State::Done;
        m_keepAlive = false;
    } else if (m_state != State::Done) {
        fail(m_state == State::Head && m_head.empty() ? "closed before a response" : "closed mid-response");
    }
}

bool ResponseReader::parseHead(const char* head, std::size_t size) {
    std::string_view text(head, size);
    const auto firstEnd = text.find("\r\n");
    const std::string_view statusLine = text.substr(0, firstEnd);
    // "HTTP/1.1 200 OK"
    if (statusLine.size() < 12 || statusLine.substr(0, 7) != "HTTP/1." || statusLine[8] != ' ') {
        fail("not an HTTP/1.x status line");
        return false;
    }
    const bool http10 = statusLine[7] == '0';
    int status = 0;
    const auto [ptr, ec] = std::from_chars(statusLine.data() + 9, statusLine.data() + 12, status);
    if (ec != std::errc() || ptr != statusLine.data() + 12 || status < 100 || status > 999) {
        fail("bad status code");
        return false;
    }
    m_status = status;
    m_keepAlive = !http10;
    bool chunked = false;
    bool hasLength = false;
    std::uint64_t length = 0;
    std::size_t pos = firstEnd + 2;
    while (pos < text.size()) {
        const auto end = text.find("\r\n", pos);
        const std::string_view line = text.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
        pos = end == std::string_view::npos ? text.size() : end + 2;
        if (line.empty()) {
            break;
        }
        const auto colon = line.find(':');
        if (colon == std::string_view::npos) {
            continue;
        }
        const std::string_view name = line.substr(0, colon);
        const std::string_view value = trim(line.substr(colon + 1));
        if (equalsLower(name, "content-length")) {
            std::uint64_t v = 0;
            const auto [p, e] = std::from_chars(value.data(), value.data() + value.size(), v);
            if (e != std::errc() || p != value.data() + value.size() || (hasLength && v != length)) {
                fail("bad Content-Length");
                return false;
            }
            hasLength = true;
            length = v;
        } else if (equalsLower(name, "transfer-encoding")) {
            chunked = containsLower(value, "chunked");
        } else if (equalsLower(name, "connection")) {
            if (containsLower(value, "close")) {
                m_keepAlive = false;
            } else if (containsLower(value, "keep-alive")) {
                m_keepAlive = true;
            }
        }
    }
    if (status >= 100 && status < 200 && status != 101) {
        m_state = State::Head; // interim: the final response follows
        return true;
    }
    if (m_headRequest || status == 204 || status == 304 || status == 101) {
        m_state = State::Done;
    } else if (chunked) {
        m_state = State::ChunkSize;
    } else if (hasLength) {
        m_remaining = length;
        m_state = length == 0 ? State::Done : State::Length;
    } else {
        m_state = State::UntilClose;
        m_keepAlive = false;
    }
    return true;
}

std::size_t ResponseReader::feedLine(const char* data, std::size_t size, bool& complete) {
    const void* newline = std::memchr(data, '\n', size);
    const std::size_t take = newline != nullptr ? static_cast<std::size_t>(static_cast<const char*>(newline) - data) + 1 : size;
    m_line.append(data, take);
    complete = newline != nullptr;
    if (m_line.size() > kMaxLine) {
        fail("chunk line too long");
    }
    return take;
}

std::size_t ResponseReader::feed(const char* data, std::size_t size) {
    std::size_t used = 0;
    while (used < size && m_state != State::Done && m_state != State::Failed) {
        const char* p = data + used;
        const std::size_t avail = size - used;
        switch (m_state) {
        case State::Head: {
            // Usually the whole head is in one read: parsed in place. Only a head split across
            // reads is gathered in m_head.
            if (m_head.empty()) {
                const auto end = std::string_view(p, avail).find("\r\n\r\n");
                if (end != std::string_view::npos) {
                    used += end + 4;
                    if (!parseHead(p, end + 4)) {
                        return used;
                    }
                    break;
                }
            }
            const std::size_t before = m_head.size();
            const std::size_t take = std::min(avail, kMaxHead + 4 - std::min(before, kMaxHead));
            m_head.append(p, take);
            const auto end = std::string_view(m_head).find("\r\n\r\n", before >= 3 ? before - 3 : 0);
            if (end == std::string_view::npos) {
                used += take;
                if (m_head.size() > kMaxHead) {
                    fail("response head too large");
                }
                break;
            }
            const std::size_t headSize = end + 4;
            used += headSize - before;
            const bool parsed = parseHead(m_head.data(), headSize);
            m_head.clear();
            if (!parsed) {
                return used;
            }
            break;
        }
        case State::Length: {
            const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(m_remaining, avail));
            m_remaining -= take;
            m_bodyBytes += take;
            used += take;
            if (m_remaining == 0) {
                m_state = State::Done;
            }
            break;
        }
        case State::UntilClose:
            m_bodyBytes += avail;
            used += avail;
            break;
        case State::ChunkSize: {
            bool complete = false;
            used += feedLine(p, avail, complete);
            if (!complete || failed()) {
                break;
            }
            std::uint64_t chunk = 0;
            const auto line = trim(std::string_view(m_line).substr(0, m_line.find_first_of(";\r\n")));
            const auto [ptr, ec] = std::from_chars(line.data(), line.data() + line.size(), chunk, 16);
            m_line.clear();
            if (ec != std::errc() || ptr != line.data() + line.size() || line.empty()) {
                fail("bad chunk size");
                break;
            }
            m_remaining = chunk;
            m_state = chunk == 0 ? State::Trailers : State::ChunkData;
            break;
        }
        case State::ChunkData: {
            const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(m_remaining, avail));
            m_remaining -= take;
            m_bodyBytes += take;
            used += take;
            if (m_remaining == 0) {
                m_state = State::ChunkEnd;
            }
            break;
        }
        case State::ChunkEnd: {
            bool complete = false;
            used += feedLine(p, avail, complete);
            if (complete && !failed()) {
                const bool empty = m_line == "\r\n" || m_line == "\n";
                m_line.clear();
                if (!empty) {
                    fail("chunk data longer than its size");
                    break;
                }
                m_state = State::ChunkSize;
            }
            break;
        }
        case State::Trailers: {
            bool complete = false;
            used += feedLine(p, avail, complete);
            if (complete && !failed()) {
                const bool empty = m_line == "\r\n" || m_line == "\n";
                m_line.clear();
                if (empty) {
                    m_state = State::Done;
                }
            }
            break;
        }
        case State::Done:
        case State::Failed:
            break;
        }
    }
    return used;
}

} // namespace gaetwae::engine::loadgen

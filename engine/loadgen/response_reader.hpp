#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace gaetwae::engine::loadgen {

// Finds where one HTTP/1.1 response ends in a byte stream without building a message: status,
// keep-alive and framing from the head, then the body counted (not stored) by Content-Length,
// by chunks, or until the connection closes. A load generator only needs these, and building a
// full message per response (a field list, a body string) costs more than the request itself.
// Interim 1xx responses (other than 101) are skipped. Heads are limited to 64 KiB.
class ResponseReader {
public:
    // Starts a new response; HEAD responses (and 204, 304) have no body whatever they say.
    void reset(bool headRequest);
    // Consumes bytes; returns how many belong to this response (the rest is the next one's).
    std::size_t feed(const char* data, std::size_t size);
    // The connection closed: completes a response framed by the close, fails any other.
    void closed();

    bool done() const { return m_state == State::Done; }
    bool failed() const { return m_state == State::Failed; }
    const std::string& error() const { return m_error; }
    int status() const { return m_status; }
    bool keepAlive() const { return m_keepAlive; }
    std::uint64_t bodyBytes() const { return m_bodyBytes; }

private:
    enum class State { Head, Length, UntilClose, ChunkSize, ChunkData, ChunkEnd, Trailers, Done, Failed };
    bool parseHead(const char* head, std::size_t size);
    std::size_t feedLine(const char* data, std::size_t size, bool& complete); // into m_line, up to '\n'
    void fail(std::string message);

    State m_state = State::Head;
    bool m_headRequest = false;
    int m_status = 0;
    bool m_keepAlive = true;
    std::uint64_t m_remaining = 0; // of the body (Length) or of the chunk (ChunkData, ChunkEnd)
    std::uint64_t m_bodyBytes = 0;
    std::string m_head; // head bytes seen so far (keeps its capacity across responses)
    std::string m_line; // a chunk-size or trailer line split across reads
    std::string m_error;
};

} // namespace gaetwae::engine::loadgen

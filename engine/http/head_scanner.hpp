#pragma once

#include <cstddef>
#include <string_view>

namespace gaetwae::engine::http {

// A strict RFC 9112 syntax check of a request head, run on the raw bytes before Beast parses
// them. Beast 1.74 is lenient where request smuggling lives: it unfolds obs-fold, takes a bare
// LF as part of a line and lets CTLs through in field values. A gateway must not be lenient:
// any byte the backend could frame differently is refused here with 400.
//
// Incremental: scan() is given every byte buffered since the head began (the same prefix plus
// new bytes each time) and only checks lines it has not checked before, so a client trickling a
// head byte by byte costs linear work. Lines are checked once they end; a bare CR or LF is seen
// as soon as it arrives. Create one per request head (or reset()).
class HeadScanner {
public:
    enum class Verdict {
        NeedMore, // no violation so far; the empty line ending the head has not arrived
        Complete, // a well-formed head of headBytes() bytes
        Invalid,  // see problem()
    };

    Verdict scan(std::string_view buffered);
    void reset() { *this = HeadScanner(); }

    // A short, client-safe sentence for the error body (static text, never echoes input).
    std::string_view problem() const { return m_problem; }
    std::size_t headBytes() const { return m_lineStart; }

private:
    Verdict fail(std::string_view problem) {
        m_problem = problem;
        return Verdict::Invalid;
    }
    bool checkRequestLine(std::string_view line);
    bool checkFieldLine(std::string_view line);

    std::size_t m_lineStart = 0; // first byte of the line being assembled
    std::size_t m_checked = 0;   // bytes already checked for bare CR/LF
    bool m_requestLineSeen = false;
    bool m_complete = false;
    std::string_view m_problem;
};

} // namespace gaetwae::engine::http

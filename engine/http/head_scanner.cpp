#include "engine/http/head_scanner.hpp"

#include "shared/model/http_token.hpp"

namespace gaetwae::engine::http {

namespace {

bool isDigit(char c) {
    return c >= '0' && c <= '9';
}

// Field content: VCHAR, SP, HTAB and obs-text (RFC 9110 5.5); no other control character.
bool isFieldValueChar(unsigned char c) {
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

} // namespace

HeadScanner::Verdict HeadScanner::scan(std::string_view buffered) {
    if (m_complete) {
        return Verdict::Complete;
    }
    if (!m_problem.empty()) {
        return Verdict::Invalid;
    }
    std::size_t i = m_checked;
    while (i < buffered.size()) {
        const char c = buffered[i];
        if (c == '\n') {
            // A CR always consumes the LF after it (below), so this LF stands alone. Some
            // servers end lines at a bare LF and others do not: a framing disagreement.
            return fail("bare LF in the request head (lines must end with CRLF)");
        }
        if (c != '\r') {
            ++i;
            continue;
        }
        if (i + 1 == buffered.size()) {
            break; // the byte after this CR decides; look again when it arrives
        }
        if (buffered[i + 1] != '\n') {
            return fail("bare CR in the request head (lines must end with CRLF)");
        }
        const std::string_view line = buffered.substr(m_lineStart, i - m_lineStart);
        const std::size_t next = i + 2;
        if (!m_requestLineSeen) {
            if (!checkRequestLine(line)) {
                return Verdict::Invalid;
            }
            m_requestLineSeen = true;
        } else if (line.empty()) {
            m_lineStart = next;
            m_checked = next;
            m_complete = true;
            return Verdict::Complete;
        } else if (!checkFieldLine(line)) {
            return Verdict::Invalid;
        }
        m_lineStart = next;
        i = next;
    }
    m_checked = i;
    return Verdict::NeedMore;
}

bool HeadScanner::checkRequestLine(std::string_view line) {
    // request-line = method SP request-target SP HTTP-version (RFC 9112 3), exactly one SP each.
    std::size_t i = 0;
    while (i < line.size() && model::isTokenChar(line[i])) {
        ++i;
    }
    if (i == 0 || i == line.size() || line[i] != ' ') {
        fail("invalid method in the request line");
        return false;
    }
    const std::size_t targetStart = ++i;
    // The target is visible ASCII only: no SP (so no doubled separators), no CTL, no raw
    // non-ASCII bytes (RFC 3986 wants them percent-encoded).
    while (i < line.size() && static_cast<unsigned char>(line[i]) > 0x20 &&
           static_cast<unsigned char>(line[i]) < 0x7f) {
        ++i;
    }
    if (i == targetStart || i == line.size() || line[i] != ' ') {
        fail("invalid request target or spacing in the request line");
        return false;
    }
    const std::string_view version = line.substr(i + 1);
    if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || !isDigit(version[5]) || version[6] != '.' ||
        !isDigit(version[7])) {
        fail("invalid HTTP version in the request line");
        return false;
    }
    if (version[5] != '1') {
        fail("only HTTP/1.x is served on this connection");
        return false;
    }
    return true;
}

bool HeadScanner::checkFieldLine(std::string_view line) {
    if (line.front() == ' ' || line.front() == '\t') {
        // RFC 9112 5.2: a server must reject obs-fold or replace it; rejecting is the only
        // choice that cannot disagree with the backend.
        fail("obsolete line folding (obs-fold) in a header field");
        return false;
    }
    std::size_t i = 0;
    while (i < line.size() && line[i] != ':') {
        if (!model::isTokenChar(line[i])) {
            // Includes whitespace between the name and the colon (RFC 9112 5.1: must be 400).
            fail("invalid character in a header field name");
            return false;
        }
        ++i;
    }
    if (i == line.size()) {
        fail("header line without a colon");
        return false;
    }
    if (i == 0) {
        fail("empty header field name");
        return false;
    }
    for (++i; i < line.size(); ++i) {
        if (!isFieldValueChar(static_cast<unsigned char>(line[i]))) {
            fail("control character in a header field value");
            return false;
        }
    }
    return true;
}

} // namespace gaetwae::engine::http

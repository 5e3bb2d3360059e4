#include "engine/http/message_parser.hpp"

#include <boost/beast/http/error.hpp>

#include <limits>

namespace gaetwae::engine::http {

namespace {

void reject(boost::beast::error_code& ec) {
    // Any error stops Beast; the precise reason is kept in m_failure.
    ec = bhttp::error::bad_value;
}

// uri-host [ ":" port ] (RFC 3986 3.2.2): reg-name, IPv4 or a bracketed IP literal. Anything
// else in Host (spaces, '/', '@', quotes ...) is a request the backend may route differently.
bool isValidHostValue(std::string_view value) {
    for (const char c : value) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                        std::string_view("-._~!$&'()*+,;=%:[]").find(c) != std::string_view::npos;
        if (!ok) {
            return false;
        }
    }
    return true;
}

} // namespace

RequestParser::RequestParser(RequestHead& head, BodySink& sink, std::uint32_t maxUriBytes,
                             std::uint32_t maxHeaderCount, std::uint32_t maxHeaderBytes)
    : m_head(head)
    , m_sink(sink)
    , m_maxUriBytes(maxUriBytes)
    , m_maxHeaderCount(maxHeaderCount) {
    header_limit(maxHeaderBytes);
    // The session enforces the configured limit with a proper 413. (Not boost::none: Beast 1.74
    // compares `len > none` as true and rejects every Content-Length body.)
    body_limit(std::numeric_limits<std::uint64_t>::max());
    eager(false);
    m_head.clear();
}

void RequestParser::on_request_impl(bhttp::verb method, std::string_view methodText, std::string_view target,
                                    int version, boost::beast::error_code& ec) {
    if (target.size() > m_maxUriBytes) {
        m_failure = ParseFailure::UriTooLong;
        reject(ec);
        return;
    }
    m_head.method = method;
    m_head.version = version;
    m_head.methodOffset = m_head.headers.store(methodText);
    m_head.methodSize = static_cast<std::uint32_t>(methodText.size());
    m_head.targetOffset = m_head.headers.store(target);
    m_head.targetSize = static_cast<std::uint32_t>(target.size());
}

void RequestParser::on_field_impl(bhttp::field id, std::string_view name, std::string_view value,
                                  boost::beast::error_code& ec) {
    if (m_headerDone) {
        return; // trailer fields of a chunked body are dropped, not forwarded
    }
    if (m_head.headers.size() >= m_maxHeaderCount) {
        m_failure = ParseFailure::TooManyHeaders;
        reject(ec);
        return;
    }
    switch (id) {
    case bhttp::field::host:
        if (++m_head.hostCount > 1) {
            m_failure = ParseFailure::DuplicateHost;
            reject(ec);
            return;
        }
        if (!isValidHostValue(value)) {
            m_failure = ParseFailure::BadHost;
            reject(ec);
            return;
        }
        break;
    case bhttp::field::content_length:
        // Beast already refuses differing values and Content-Length after Transfer-Encoding; equal
        // repeats ("5" twice, or "5, 5") it merges. RFC 9112 6.3 allows that, but a backend may
        // not, so any repeat is refused: one Content-Length field with one value.
        if (++m_head.contentLengthCount > 1 || value.find(',') != std::string_view::npos) {
            m_failure = ParseFailure::RepeatedContentLength;
            reject(ec);
            return;
        }
        break;
    case bhttp::field::transfer_encoding:
        // The only request transfer coding proxied is one `chunked`: `gzip, chunked` would be
        // forwarded decoded under a wrong name, `chunked, chunked` decoded once where a backend
        // may decode twice, and a second Transfer-Encoding field can hide a first.
        if (m_head.contentLengthCount > 0) {
            m_failure = ParseFailure::ContentLengthAndTransferEncoding;
            reject(ec);
            return;
        }
        if (m_head.transferEncoding || !equalsIgnoreCase(value, "chunked")) {
            m_failure = ParseFailure::BadTransferEncoding;
            reject(ec);
            return;
        }
        m_head.transferEncoding = true;
        break;
    case bhttp::field::expect:
        if (equalsIgnoreCase(value, "100-continue")) {
            m_head.expectContinue = true;
        } else {
            m_failure = ParseFailure::UnsupportedExpect;
            reject(ec);
            return;
        }
        break;
    default:
        break;
    }
    m_head.headers.add(id, name, value);
}

void RequestParser::on_header_impl(boost::beast::error_code& ec) {
    m_headerDone = true;
    if (m_head.version >= 11 && m_head.hostCount == 0) {
        m_failure = ParseFailure::MissingHost;
        reject(ec);
        return;
    }
    // RFC 9112 6.1/6.3: a Transfer-Encoding whose last coding is not chunked, or any
    // Transfer-Encoding on HTTP/1.0, leaves the body length unknowable: a smuggling vector.
    if (m_head.transferEncoding && (!chunked() || m_head.version < 11)) {
        m_failure = ParseFailure::BadTransferEncoding;
        reject(ec);
    }
}

void RequestParser::on_chunk_header_impl(std::uint64_t, std::string_view extensions,
                                         boost::beast::error_code& ec) {
    if (extensions.size() > kMaxChunkExtensionBytes) {
        m_failure = ParseFailure::ChunkExtensionTooLong;
        reject(ec);
    }
}

ResponseParser::ResponseParser(ResponseHead& head, BodySink& sink, std::uint32_t maxHeaderCount,
                               std::uint32_t maxHeaderBytes)
    : m_head(head)
    , m_sink(sink)
    , m_maxHeaderCount(maxHeaderCount) {
    header_limit(maxHeaderBytes);
    body_limit(std::numeric_limits<std::uint64_t>::max()); // responses stream; size is the backend's business
    eager(false);
    m_head.clear();
}

void ResponseParser::on_response_impl(int status, std::string_view reason, int version,
                                      boost::beast::error_code&) {
    m_head.status = status;
    m_head.version = version;
    m_head.reasonOffset = m_head.headers.store(reason);
    m_head.reasonSize = static_cast<std::uint32_t>(reason.size());
}

void ResponseParser::on_field_impl(bhttp::field id, std::string_view name, std::string_view value,
                                   boost::beast::error_code& ec) {
    if (m_headerDone) {
        return;
    }
    if (m_head.headers.size() >= m_maxHeaderCount) {
        m_failure = ParseFailure::TooManyHeaders;
        reject(ec);
        return;
    }
    m_head.headers.add(id, name, value);
}

} // namespace gaetwae::engine::http

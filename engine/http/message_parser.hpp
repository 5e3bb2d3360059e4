#pragma once

#include "engine/http/header_block.hpp"

#include <boost/beast/http/basic_parser.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace gaetwae::engine::http {

// Why a message was rejected beyond Beast's own syntax errors; mapped to a status by proxy_error.
enum class ParseFailure {
    None,
    UriTooLong,                       // 414
    TooManyHeaders,                   // 431
    MissingHost,                      // 400: HTTP/1.1 without Host
    DuplicateHost,                    // 400
    BadTransferEncoding,              // 400: Transfer-Encoding other than one `chunked`, or on HTTP/1.0
    ContentLengthAndTransferEncoding, // 400: both framings (RFC 9112 6.1: a smuggling shape)
    RepeatedContentLength,            // 400: more than one Content-Length, even with equal values
    BadHost,                          // 400: Host value that is not a uri-host[:port]
    ChunkExtensionTooLong,            // 400: a chunk line's extensions beyond kMaxChunkExtensionBytes
    UnsupportedExpect,                // 417
};

// Chunk extensions are legal but unused by anything we proxy; a long one only costs buffer space.
inline constexpr std::size_t kMaxChunkExtensionBytes = 1024;

// Collects body pieces as views into the caller's read buffer (zero copy) until full, so the relay
// can write them with one gather write and only then consume the buffer.
struct BodySink {
    static constexpr std::size_t kMaxPieces = 16;

    std::array<std::string_view, kMaxPieces> pieces{};
    std::size_t count = 0;
    std::size_t bytes = 0;

    void reset() {
        count = 0;
        bytes = 0;
    }
    std::size_t accept(std::string_view data) {
        if (count == kMaxPieces || data.empty()) {
            return 0;
        }
        pieces[count++] = data;
        bytes += data.size();
        return data.size();
    }
};

struct RequestHead {
    HeaderBlock headers;
    bhttp::verb method = bhttp::verb::unknown;
    int version = 11; // 10 or 11
    std::uint32_t methodOffset = 0;
    std::uint32_t methodSize = 0;
    std::uint32_t targetOffset = 0;
    std::uint32_t targetSize = 0;
    std::uint32_t hostCount = 0;
    std::uint32_t contentLengthCount = 0;
    bool transferEncoding = false; // any Transfer-Encoding field, chunked or not
    bool expectContinue = false;

    std::string_view methodText() const { return headers.text(methodOffset, methodSize); }
    std::string_view target() const { return headers.text(targetOffset, targetSize); }
    void clear() {
        headers.clear();
        method = bhttp::verb::unknown;
        version = 11;
        hostCount = 0;
        contentLengthCount = 0;
        transferEncoding = false;
        expectContinue = false;
    }
};

struct ResponseHead {
    HeaderBlock headers;
    int status = 0;
    int version = 11;
    std::uint32_t reasonOffset = 0;
    std::uint32_t reasonSize = 0;

    std::string_view reason() const { return headers.text(reasonOffset, reasonSize); }
    void clear() {
        headers.clear();
        status = 0;
        version = 11;
    }
};

// Parses a request head into `head` and hands body pieces to `sink`. Create one per message.
// Use with eager(false): the owner drives put() step by step to apply back-pressure.
class RequestParser final : public bhttp::basic_parser<true> {
public:
    RequestParser(RequestHead& head, BodySink& sink, std::uint32_t maxUriBytes, std::uint32_t maxHeaderCount,
                  std::uint32_t maxHeaderBytes);

    ParseFailure failure() const { return m_failure; }

private:
    void on_request_impl(bhttp::verb method, std::string_view methodText, std::string_view target, int version,
                         boost::beast::error_code& ec) override;
    void on_response_impl(int, std::string_view, int, boost::beast::error_code&) override {}
    void on_field_impl(bhttp::field id, std::string_view name, std::string_view value,
                       boost::beast::error_code& ec) override;
    void on_header_impl(boost::beast::error_code& ec) override;
    void on_body_init_impl(const boost::optional<std::uint64_t>&, boost::beast::error_code&) override {}
    std::size_t on_body_impl(std::string_view body, boost::beast::error_code&) override { return m_sink.accept(body); }
    void on_chunk_header_impl(std::uint64_t size, std::string_view extensions,
                              boost::beast::error_code& ec) override;
    std::size_t on_chunk_body_impl(std::uint64_t, std::string_view body, boost::beast::error_code&) override {
        return m_sink.accept(body);
    }
    void on_finish_impl(boost::beast::error_code&) override {}

    RequestHead& m_head;
    BodySink& m_sink;
    std::uint32_t m_maxUriBytes;
    std::uint32_t m_maxHeaderCount;
    ParseFailure m_failure = ParseFailure::None;
    bool m_headerDone = false;
};

// Parses a response head and body, the same way. Call skip(true) for responses to HEAD.
class ResponseParser final : public bhttp::basic_parser<false> {
public:
    ResponseParser(ResponseHead& head, BodySink& sink, std::uint32_t maxHeaderCount, std::uint32_t maxHeaderBytes);

    ParseFailure failure() const { return m_failure; }

private:
    void on_request_impl(bhttp::verb, std::string_view, std::string_view, int, boost::beast::error_code&) override {}
    void on_response_impl(int status, std::string_view reason, int version, boost::beast::error_code& ec) override;
    void on_field_impl(bhttp::field id, std::string_view name, std::string_view value,
                       boost::beast::error_code& ec) override;
    void on_header_impl(boost::beast::error_code&) override { m_headerDone = true; }
    void on_body_init_impl(const boost::optional<std::uint64_t>&, boost::beast::error_code&) override {}
    std::size_t on_body_impl(std::string_view body, boost::beast::error_code&) override { return m_sink.accept(body); }
    void on_chunk_header_impl(std::uint64_t, std::string_view, boost::beast::error_code&) override {}
    std::size_t on_chunk_body_impl(std::uint64_t, std::string_view body, boost::beast::error_code&) override {
        return m_sink.accept(body);
    }
    void on_finish_impl(boost::beast::error_code&) override {}

    ResponseHead& m_head;
    BodySink& m_sink;
    std::uint32_t m_maxHeaderCount;
    ParseFailure m_failure = ParseFailure::None;
    bool m_headerDone = false;
};

} // namespace gaetwae::engine::http

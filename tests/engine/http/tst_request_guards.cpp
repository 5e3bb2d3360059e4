// The pure pieces of the hostile-client defences: the strict head scanner fed byte by byte, and
// the minimum body rate judged with hand-made time points (no clock, no sockets).
#include "engine/http/body_rate_guard.hpp"
#include "engine/http/head_scanner.hpp"

#include <QtTest>

#include <string>

using namespace gaetwae::engine::http;
using namespace std::chrono_literals;

class TestRequestGuards : public QObject {
    Q_OBJECT

private slots:
    void scannerAcceptsAHeadFedByteByByte() {
        const std::string head =
            "POST /a?b=c HTTP/1.1\r\nHost: h:80\r\nX-Empty:\r\nX-Tab: a\tb \xc3\xa9\r\n\r\nBODY";
        const std::size_t headSize = head.find("BODY");
        HeadScanner scanner;
        for (std::size_t n = 1; n < headSize; ++n) {
            QVERIFY(scanner.scan(std::string_view(head).substr(0, n)) == HeadScanner::Verdict::NeedMore);
        }
        QVERIFY(scanner.scan(head) == HeadScanner::Verdict::Complete);
        QCOMPARE(scanner.headBytes(), headSize);
        QVERIFY(scanner.problem().empty());
    }

    void scannerRejects_data() {
        QTest::addColumn<QByteArray>("head");
        QTest::addColumn<QString>("problem");
        QTest::newRow("bare LF") << QByteArray("GET / HTTP/1.1\nHost: h\r\n\r\n") << "bare LF";
        QTest::newRow("bare CR") << QByteArray("GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n") << "bare CR";
        QTest::newRow("obs-fold") << QByteArray("GET / HTTP/1.1\r\nHost: h\r\n x\r\n\r\n") << "obs-fold";
        QTest::newRow("space before colon")
            << QByteArray("GET / HTTP/1.1\r\nHost : h\r\n\r\n") << "field name";
        QTest::newRow("empty name") << QByteArray("GET / HTTP/1.1\r\n: h\r\n\r\n") << "empty header";
        QTest::newRow("no colon") << QByteArray("GET / HTTP/1.1\r\nHost\r\n\r\n") << "without a colon";
        QTest::newRow("NUL in value")
            << QByteArray("GET / HTTP/1.1\r\nX: a\0b\r\n\r\n", 26) << "control character";
        QTest::newRow("method") << QByteArray("G(T / HTTP/1.1\r\n\r\n") << "method";
        QTest::newRow("double space") << QByteArray("GET  / HTTP/1.1\r\n\r\n") << "spacing";
        QTest::newRow("version") << QByteArray("GET / HTTP/1.1x\r\n\r\n") << "version";
        QTest::newRow("HTTP/2") << QByteArray("GET / HTTP/2.0\r\n\r\n") << "HTTP/1.x";
        QTest::newRow("empty request line") << QByteArray("\r\nGET / HTTP/1.1\r\n\r\n") << "method";
    }

    void scannerRejects() {
        QFETCH(QByteArray, head);
        QFETCH(QString, problem);
        // Fed whole and byte by byte: the verdict and the reason do not depend on the split.
        HeadScanner whole;
        QVERIFY(whole.scan(std::string_view(head.constData(), static_cast<std::size_t>(head.size()))) ==
                HeadScanner::Verdict::Invalid);
        QVERIFY2(QString::fromUtf8(whole.problem().data(), static_cast<int>(whole.problem().size()))
                     .contains(problem),
                 whole.problem().data());
        HeadScanner trickled;
        HeadScanner::Verdict verdict = HeadScanner::Verdict::NeedMore;
        for (qsizetype n = 1; n <= head.size() && verdict == HeadScanner::Verdict::NeedMore; ++n) {
            verdict = trickled.scan(std::string_view(head.constData(), static_cast<std::size_t>(n)));
        }
        QVERIFY(verdict == HeadScanner::Verdict::Invalid);
        QVERIFY(trickled.problem() == whole.problem());
    }

    void bodyRateJudgedPerWindowOfWaiting() {
        using Clock = BodyRateGuard::Clock;
        const Clock::time_point t0{};
        BodyRateGuard guard;
        guard.start(1000, 1s); // 1000 bytes per second, 1 s windows
        QVERIFY(guard.enabled());

        // Window 1: 1500 bytes in 1 s of waiting passes; the deadline is the window's end.
        QVERIFY(guard.beginWait(t0) == t0 + 1s);
        QVERIFY(guard.endWait(t0 + 400ms, 1500));
        // Time spent elsewhere (writing to a slow backend) does not count: 5 s pass here.
        QVERIFY(guard.beginWait(t0 + 5400ms) == t0 + 6s);
        QVERIFY(guard.windowClosed(t0 + 6s)); // 1500 bytes over 1 s of waiting: fast enough

        // Window 2: the bytes banked before do not carry over; 300 bytes in 1 s fail.
        QVERIFY(guard.beginWait(t0 + 6s) == t0 + 7s);
        QVERIFY(guard.endWait(t0 + 6500ms, 300)); // window still open: not judged yet
        guard.beginWait(t0 + 6500ms);
        QVERIFY(!guard.windowClosed(t0 + 7s));
    }

    void bodyRateDisabledByZero() {
        BodyRateGuard guard;
        guard.start(0, 1s);
        QVERIFY(!guard.enabled());
    }
};

QTEST_GUILESS_MAIN(TestRequestGuards)
#include "tst_request_guards.moc"

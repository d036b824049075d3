/* test-server.h: in-process HTTP test server for the libgcurlmulti tests
 *
 * The server runs on its own thread with its own GMainContext, so a test may
 * block, or run and stop its own main loop, without ever stalling the server.
 * It listens on 127.0.0.1 only, on ephemeral ports, and test_server_free()
 * closes every connection (stalled ones included) and joins the thread.
 *
 * Pattern bodies: byte i is byte (i % 8) of the little-endian splitmix64
 * hash of (i / 8); see test_pattern_fill() and test_pattern_sha256().
 *
 * SoupServer routes, on both test_server_get_uri() (origin A) and
 * test_server_get_uri2() (origin B); connections are kept alive:
 *   /bytes/N[?chunked=1]  200, N pattern bytes, Content-Length (or chunked),
 *                         application/octet-stream, ETag "pattern-N".
 *                         ?last-modified=DATE adds that Last-Modified.
 *                         A matching If-None-Match, or else an
 *                         If-Modified-Since not before DATE, gives 304
 *                         (counted under the path "304").
 *                         Range "bytes=A-", "bytes=A-B", "bytes=-S" gives 206
 *                         and Content-Range; A >= N gives 416. Other Range
 *                         forms (several ranges) are ignored: 200.
 *   /status/CODE          CODE (200..599) with body "status CODE"; no body
 *                         for 204 and 304. Other codes: 400.
 *   /redirect/N           302 to "/redirect/N-1"; /redirect/0 is 200 "done".
 *   /redirect-to?url=U[&status=3xx]  that status (default 302), Location U.
 *   /loop                 302 to "/loop".
 *   /delay/MS             200 "delayed" after MS ms (a timer, not a sleep).
 *   /echo-headers         200 text: "method: GET\n", then "name: value\n"
 *                         per request header, in libsoup's order.
 *   /set-cookie?c=COOKIE[&c=COOKIE…][&location=U]  a "Set-Cookie: COOKIE"
 *                         per c (percent-decoded), in order; 302 to U
 *                         with location, else 200 "ok".
 *   /echo                 any method; 200 text "METHOD LENGTH SHA256HEX" of
 *                         the request body (streamed, any size), and the
 *                         request Content-Type in X-Request-Content-Type.
 *                         ?key=S&fail=K: the first K requests with key S
 *                         get a 503 "fail" instead (the body read all the
 *                         same); test_server_get_key_count() counts them.
 *   /disposition/N[/NAME][?cd=VALUE]  as /bytes/N (Range, ETag), with
 *                         "Content-Disposition: VALUE" (percent-decoded) if
 *                         cd is given; NAME is ignored (a name for the URL).
 *   /slow/N[?rate=R]      N pattern bytes at about R bytes/s (default 1024),
 *                         one chunk every ~50 ms.
 *   /headers              200 "ok" with "X-Multi: a", "X-Multi: b" and
 *                         "X-Mixed-Case: Value".
 *   /gzip-zeros/N         200, N zero bytes gzip-compressed, with
 *                         "Content-Encoding: gzip" whatever was accepted
 *                         (a decompression bomb: 64 MiB is 64 KiB on the wire).
 *   /auth/basic[?realm=R][&redirect=URL]  with "Authorization: Basic" of
 *                         TEST_AUTH_USER:TEST_AUTH_PASSWORD, 200 "welcome user"
 *                         (with ": N bytes, sha256 HEX" of a request body),
 *                         or a 302 to URL; otherwise 401 with the page
 *                         TEST_AUTH_PAGE and "WWW-Authenticate: Basic
 *                         realm="R"" (default TEST_AUTH_REALM).
 *   /auth/bearer[?realm=R][&redirect=URL]  the same with "Bearer TEST_AUTH_TOKEN".
 *   /auth/digest          Digest (libsoup's), realm TEST_AUTH_REALM, the same
 *                         user: 200 "welcome user".
 *   anything else         404 "not found".
 * A request to origin A or B with a Range header is also counted under the
 * key "range PATH": test_server_get_key_count (server, "range /bytes/N").
 *
 * Raw fault server, on test_server_get_raw_uri(); one request per
 * connection, every response has "Connection: close":
 *   /bytes/N[?chunked=1]  as above (Range too). ?key=S&fail=K: the first K
 *                         requests with key S fail, with &after=B the body
 *                         cut off after B bytes, &status=C (and
 *                         &retry-after=T) that status, &cut-headers=1 the
 *                         response cut off in its headers (see
 *                         raw_plan_bytes() for the download options);
 *                         test_server_get_key_count() counts them.
 *   /close-mid-body/N/K   Content-Length N, K pattern bytes, clean close.
 *   /length-mismatch/N/K  the same: Content-Length N, K pattern bytes, clean
 *                         close; with K > N that is excess data after the body.
 *   /close-mid-headers    "HTTP/1.1 200 OK\r\nContent-Le", clean close.
 *   /reset/K              Content-Length 1000000, K pattern bytes, then an RST
 *                         (sent once the client has acknowledged the K bytes).
 *   /stall/N/K            Content-Length N, K pattern bytes, then silence
 *                         until the client closes or the server is freed.
 *   /stall-headers        reads the request, never answers.
 *   /garbage              4096 bytes "\x00\x01\x02...", clean close.
 *   /chunked-bad          a chunked response whose chunk size is "ZZZ".
 *   http://…              a request with an absolute-form target, as sent
 *                         to a forward proxy: 200 "proxied " and the
 *                         target; counted under the path "proxied". A
 *                         target with "/proxy-auth/" in it and no
 *                         "Proxy-Authorization: Basic" of TEST_AUTH_USER:
 *                         TEST_AUTH_PASSWORD gets a 407 with the page
 *                         TEST_AUTH_PROXY_PAGE and "Proxy-Authenticate: Basic
 *                         realm="TEST_AUTH_PROXY_REALM"", counted under
 *                         "proxy-challenged".
 *   /switching-protocols  an unrequested "101 Switching Protocols", then
 *                         silence until the client closes.
 *   /header-forms         a 100 Continue with "X-Interim: yes", then a 200
 *                         with an obsolete folded header ("X-Folded: first"
 *                         continued by "  second"), "X-Multi" twice,
 *                         "X-Spaces:   padded   ", and the chunked body
 *                         "hello" followed by the trailer "X-Trailer: late".
 *   /cookies              "299 Caf\xe9 Cr\xe8me" (a Latin-1 reason phrase),
 *                         two Set-Cookie with Expires dates (the second
 *                         spelled "set-cookie") around "X-Other: x", body
 *                         "ok".
 *   /echo-headers         like the SoupServer's, but with names, order and
 *                         values exactly as received.
 *   /huge-header/N        200 with one header "X-Huge" whose value is N
 *                         bytes ("abc…z" repeated), body "ok" (N at most
 *                         16 MiB, else 400).
 *   /many-headers/N       200 with N headers "X-Header-I: value-I", I from 0
 *                         to N - 1, body "ok" (N at most 100000, else 400).
 *   /informational/CODE   an interim CODE response (100, 102 or 103, else
 *                         400) with "X-Interim: CODE" (and a Link for 103),
 *                         then a 200 with 1000 pattern bytes.
 *   /stray-body/CODE[?length=1]  a 204 or 304 (else 400), which has no body,
 *                         followed by 100 pattern bytes all the same,
 *                         announced by "Content-Length: 100" with length=1;
 *                         clean close.
 *   anything else         404.
 *
 * A "clean close" sends FIN, then waits up to 2 s for the client's FIN so
 * that unread request bytes never turn it into an RST.
 */

#pragma once

#include <gio/gio.h>

#define TEST_AUTH_USER        "user"
#define TEST_AUTH_PASSWORD    "s3cret"
#define TEST_AUTH_TOKEN       "t0ken"
#define TEST_AUTH_REALM       "gcurl tests"
#define TEST_AUTH_PAGE        "please log in"
#define TEST_AUTH_PROXY_REALM "gcurl test proxy"
#define TEST_AUTH_PROXY_PAGE  "proxy login required"

G_BEGIN_DECLS

typedef struct _TestServer TestServer;

TestServer *test_server_new                (void);
void        test_server_free               (TestServer *server);

const char *test_server_get_uri            (TestServer *server);
const char *test_server_get_uri2           (TestServer *server);
const char *test_server_get_raw_uri        (TestServer *server);

char       *test_server_url                (TestServer *server,
                                            const char *format,
                                            ...) G_GNUC_PRINTF (2, 3);
char       *test_server_url2               (TestServer *server,
                                            const char *format,
                                            ...) G_GNUC_PRINTF (2, 3);
char       *test_server_raw_url            (TestServer *server,
                                            const char *format,
                                            ...) G_GNUC_PRINTF (2, 3);

guint       test_server_get_request_count  (TestServer *server);
guint       test_server_get_path_count     (TestServer *server,
                                            const char *path);
guint       test_server_get_key_count      (TestServer *server,
                                            const char *key);

guint16     test_server_get_refused_port   (void);
guint16     test_server_get_blackhole_port (TestServer *server);

void        test_pattern_fill              (guint64     offset,
                                            guint8     *buf,
                                            gsize       len);
char       *test_pattern_sha256            (guint64     offset,
                                            guint64     len);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TestServer, test_server_free)

G_END_DECLS

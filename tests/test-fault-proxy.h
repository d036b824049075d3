/* test-fault-proxy.h: a fault-injecting TCP relay for the tests
 *
 * The proxy listens on an ephemeral 127.0.0.1 port and relays every
 * connection it accepts to an upstream server (nginx, h2o, the test
 * server…), byte for byte in both directions, so a test can point the
 * library at it and break the network between the two on purpose. It runs
 * on its own thread (one poll() loop for the listening socket and every
 * connection), so the test thread, which runs the library's main loop, is
 * never blocked by it.
 *
 * A plan says what happens to the connections accepted after it was set
 * (test_fault_proxy_set_plan()); connections already open keep theirs.
 * Faults act on the downstream direction (server → client), by byte
 * count, counted per connection from the first byte the server sends,
 * headers (or a TLS handshake) included. With @after = N:
 *
 *   NONE     relays as is.
 *   RESET    relays the first N bytes, waits (up to 2 s) until the client
 *            has acknowledged them, then closes both sides with SO_LINGER
 *            {1, 0}: an RST to the client and to the server.
 *   CLOSE    relays the first N bytes, then a FIN to the client; the
 *            upstream socket is closed at once. Then waits (up to 2 s) for
 *            the client's FIN, reading and dropping what it sends, so that
 *            unread bytes never turn the close into an RST.
 *   STALL    relays the first N bytes, then nothing more: the server is
 *            no longer read from (its send buffer fills up and it blocks,
 *            as behind a stalled network path), what the client sends is
 *            still read and relayed, and the connection stays open until
 *            the client closes it or the proxy is freed.
 *   TRICKLE  relays the first N bytes at full speed, then @rate bytes per
 *            second, in writes every 10 ms (rate / 100 bytes each, or one
 *            byte at a time below 100 bytes/s).
 *   CORRUPT  inverts every bit of the byte at downstream offset N (XOR
 *            0xff: a single byte, always changed), relays the rest as is.
 *   REFUSE   accepts and closes with an RST at once, before any byte; the
 *            server is not even connected to. A server that is listening
 *            but broken.
 *
 * RESET, CLOSE and STALL fire when the server sends byte N + 1 (or closes)
 * after N bytes were relayed: a response of exactly N bytes goes through
 * whole, and the fault hits whatever comes next on that connection. With
 * N = 0 they fire on the server's first byte: the request was relayed, the
 * answer never arrives.
 *
 * @n_connections = K > 0 applies the fault to the first K connections
 * accepted after test_fault_proxy_set_plan() only; later ones are relayed
 * as is (NONE), so a first attempt can fail and its retry succeed. K = 0
 * applies it to every connection.
 *
 * test_fault_proxy_pause_listening() closes the listening socket: connects
 * are refused (an RST to the SYN) until test_fault_proxy_resume_listening()
 * listens again on the same port. Open connections are not touched.
 *
 * Outside faults, ends and errors pass through. A FIN from the server
 * reaches the client as a FIN once the bytes before it are written; a FIN
 * from the client closes the connection both ways (FINs, or an RST to a
 * server with unread bytes, as from a client that closed): no half-close
 * from the client side, because libsoup never closes a connection its
 * client half-closed. An RST from the server reaches the client as an RST
 * once the bytes before it are acknowledged (as with RESET); an RST from
 * the client resets the server at once. A server that cannot be connected
 * to (every address of @upstream_host refused) gets the client an RST.
 *
 * The counters and the plan are safe to use from any thread.
 * test_fault_proxy_free() closes every connection and the listening
 * socket, joins the thread and frees everything; the proxy's sockets are
 * close-on-exec, so servers started by the test do not inherit them.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef enum
{
  TEST_FAULT_NONE,
  TEST_FAULT_RESET,
  TEST_FAULT_CLOSE,
  TEST_FAULT_STALL,
  TEST_FAULT_TRICKLE,
  TEST_FAULT_CORRUPT,
  TEST_FAULT_REFUSE,
} TestFaultKind;

typedef struct
{
  TestFaultKind kind;
  guint64       after;          /* N: downstream bytes relayed before the fault */
  guint64       rate;           /* TRICKLE: bytes per second, > 0 */
  guint         n_connections;  /* K: only the first K connections; 0: all */
} TestFaultPlan;

typedef struct _TestFaultProxy TestFaultProxy;

TestFaultProxy *test_fault_proxy_new               (const char           *upstream_host,
                                                    guint16               upstream_port,
                                                    GError              **error);
void            test_fault_proxy_free              (TestFaultProxy       *proxy);

guint16         test_fault_proxy_get_port          (TestFaultProxy       *proxy);
char           *test_fault_proxy_url               (TestFaultProxy       *proxy,
                                                    const char           *scheme,
                                                    const char           *path);

void            test_fault_proxy_set_plan          (TestFaultProxy       *proxy,
                                                    const TestFaultPlan  *plan);

void            test_fault_proxy_pause_listening   (TestFaultProxy       *proxy);
gboolean        test_fault_proxy_resume_listening  (TestFaultProxy       *proxy,
                                                    GError              **error);

guint           test_fault_proxy_get_n_accepted    (TestFaultProxy       *proxy);
guint           test_fault_proxy_get_n_open        (TestFaultProxy       *proxy);
guint64         test_fault_proxy_get_bytes_down    (TestFaultProxy       *proxy);
guint64         test_fault_proxy_get_bytes_up      (TestFaultProxy       *proxy);
GArray         *test_fault_proxy_get_connection_bytes (TestFaultProxy    *proxy);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TestFaultProxy, test_fault_proxy_free)

G_END_DECLS

/* interop.h: real servers and proxies from Debian, for the interop tests
 *
 * The tests of the 'interop' suite run libgcurlmulti against the servers
 * real users meet: nginx, Apache, h2o and lighttpd as web servers, squid
 * and tinyproxy as forward proxies, httpbin (under gunicorn) and an FTP
 * server (pyftpdlib). This harness starts them on 127.0.0.1, on ephemeral
 * ports, each as ONE process in the foreground that the test program owns:
 * interop_server_kill() is a crash (SIGKILL) and interop_server_restart()
 * brings the server back on the same ports. If the test program dies, its
 * servers die with it (see "Processes" below).
 *
 * An InteropEnv is what the servers of a test program share: one temporary
 * directory (all configs, logs and data live below it), a document root,
 * and a throwaway CA with a certificate for "localhost" and "127.0.0.1"
 * signed by it (clients verify with ca_file).
 *
 * Usage:
 *
 *   InteropEnv env;
 *   InteropServer nginx;
 *
 *   interop_env_init (&env, &error);             (in main(), say)
 *   interop_env_write_pattern (&env, "pattern-1000", 1000, &error);
 *   if (interop_missing (INTEROP_NGINX) != NULL)
 *     g_test_skip (interop_missing (INTEROP_NGINX));
 *   else if (interop_server_start (&nginx, &env, INTEROP_NGINX, &error))
 *     {
 *       … GET nginx.url + "/pattern-1000", or nginx.tls_url + "/pattern-1000"
 *       interop_server_stop (&nginx);
 *     }
 *   interop_env_clear (&env);
 *
 * Start servers from the main thread, or from a thread that outlives them:
 * PR_SET_PDEATHSIG fires when the thread that spawned the child exits.
 *
 * What each kind serves:
 *
 * Web servers (NGINX, APACHE, H2O, LIGHTTPD): doc_root, statically, with
 * each server's own default ETag (strong), Last-Modified and Range support
 * (single and multiple ranges, as multipart/byteranges, though lighttpd
 * merges ranges close together into one; 416), no compression; HTTP/1.1 on url
 * ("http://127.0.0.1:PORT"), and HTTPS with TLS 1.2 or 1.3 and HTTP/2 by
 * ALPN (h2, else http/1.1) on tls_url ("https://localhost:TLS_PORT"; the
 * certificate is also valid for https://127.0.0.1:TLS_PORT). Types: .txt
 * text/plain, .html text/html, .json application/json, anything else
 * application/octet-stream (with "; charset=…" for text on some).
 * Apache's cleartext port also speaks h2c with prior knowledge, and
 * answers "Upgrade: h2c" with a 101 and h2 (usually: now and then it
 * answers in HTTP/1.1), and so advertises "Upgrade: h2c" in its HTTP/1.1
 * responses.
 * h2o 2.2.5 (Debian 12) IGNORES If-Range: a Range request with a stale
 * If-Range (ETag or date) gets a 206 of the new file, where the others
 * send the whole file with a 200.
 *
 *   NGINX, in addition:
 *     /slow/PATH                 doc_root/PATH at a limited rate
 *                                (limit_rate options->limit_rate, default
 *                                "1m" = 1 MiB/s, from the first byte)
 *     /redirect-other-origin/P   302, Location http://127.0.0.1:PORT2/P
 *                                (url2: a second origin, another server
 *                                block serving the same doc_root)
 *     /redirect307/P             307, Location (same origin)/P
 *   H2O, in addition:
 *     /no-etag/PATH              doc_root/PATH without an ETag
 *                                (file.etag: OFF)
 *   APACHE, in addition:
 *     /basic/pattern-1000        mod_auth_basic, realm INTEROP_REALM, user
 *     /digest/pattern-1000       INTEROP_USER, password INTEROP_PASSWORD;
 *                                /digest/ is mod_auth_digest (MD5). Both
 *                                files (1000 pattern bytes) are written
 *                                into doc_root/basic/ and doc_root/digest/
 *                                when Apache starts, if they do not exist.
 *     /unavailable/PATH          503 Service Unavailable (mod_alias), for
 *                                any PATH
 *     Apache answers a file modified less than a second before the request
 *     with a WEAK ETag (W/"…"): the helpers below date their files in the
 *     past for that reason.
 *
 * Proxies, on url ("http://127.0.0.1:PORT"), plain HTTP:
 *   SQUID       forward proxy: GET of an absolute-form http:// URL, and
 *               CONNECT, to 127.0.0.1, ::1 and localhost on any port;
 *               anything else is 403. No caching.
 *   SQUID_AUTH  the same, but every request needs Proxy-Authorization:
 *               Basic INTEROP_USER:INTEROP_PASSWORD (else 407, realm
 *               INTEROP_REALM).
 *   TINYPROXY   forward proxy, GET and CONNECT to any port, from 127.0.0.1.
 * NO_PROXY=* is in the test environment (tests/meson.build) and libcurl
 * honours it even for CURLOPT_PROXY: a test that goes through a proxy sets
 * CURLOPT_NOPROXY to "".
 *
 * HTTPBIN: httpbin 0.7 (python3-httpbin) under gunicorn, gthread worker
 * (8 threads, keep-alive), on url: /get, /status/CODE, /bytes/N,
 * /range/N, /redirect/N, /basic-auth/USER/PASSWD, /delay/S… (see
 * https://httpbin.org).
 *
 * FTP: pyftpdlib, anonymous and read-only, doc_root as "/", on url
 * ("ftp://127.0.0.1:PORT"); passive mode (EPSV and PASV) on ephemeral
 * ports of 127.0.0.1, active mode, REST (ranges) and SIZE work.
 *
 * Logs: interop_server_read_log() returns the access log. For NGINX, APACHE,
 * H2O, LIGHTTPD, SQUID, SQUID_AUTH and HTTPBIN it has one line per request:
 *
 *   STATUS BYTES "RANGE" "REQUEST-LINE"
 *   206 10 "bytes=10-19" "GET /pattern-1000 HTTP/1.1"
 *   200 1000 "-" "GET /pattern-1000 HTTP/2.0"
 *
 * STATUS is the final status; BYTES the body bytes sent (SQUID: the whole
 * reply sent to the client, headers included, or for a CONNECT the bytes
 * tunnelled to the client); RANGE the request's Range header, "-" if none;
 * REQUEST-LINE is "METHOD TARGET PROTOCOL", the protocol being "HTTP/2.0"
 * for HTTP/2 (h2o: "HTTP/2"). SQUID adds a fifth field, squid's result
 * code (TCP_MISS, TCP_TUNNEL, TCP_DENIED…); its request line has the
 * absolute URL ("GET http://127.0.0.1:8080/x HTTP/1.1", "CONNECT
 * localhost:8443 HTTP/1.1"). LIGHTTPD also logs a line "100 N "-" "PRI *
 * HTTP/2.0"" for each HTTP/2 connection. A server writes the line when it
 * has finished the request, which may be a moment after the client has
 * seen the end of the response (for a CONNECT, when the tunnel closes):
 * use interop_server_wait_for_log().
 * TINYPROXY: tinyproxy's own log (LogLevel Info), with a line
 * "CONNECT   DATE [PID]: Request (file descriptor N): GET http://… HTTP/1.1"
 * per request. FTP: pyftpdlib's log, with a line "… RETR /PATH
 * completed=1 bytes=N seconds=T" per download.
 *
 * Processes. The servers run in the foreground: nginx "daemon off;
 * master_process off;", apache2 -X (debug mode: one process, the event
 * MPM's threads), h2o with one thread, lighttpd -D (with a cat(1) child
 * that writes its access log, which it would buffer), squid -N (no SMP, no
 * pinger; it forks its basic_ncsa_auth helpers for SQUID_AUTH), tinyproxy
 * -d, gunicorn (a master and ONE worker: the worker dies with the master
 * through PR_SET_PDEATHSIG, set in the config's post_fork hook), python3 -m
 * pyftpdlib. Each child has PR_SET_PDEATHSIG(SIGKILL); but the kernel
 * clears that when the process changes its user, as apache2 (to www-data)
 * and squid (to proxy) do when started as root. For those two a watchdog
 * runs beside the server, /bin/sh reading a pipe whose other end only the
 * test program holds (one fd of the test program): when the test program
 * dies, it reads EOF and kills the server.
 * The servers inherit the test program's environment, minus PYTHONPATH,
 * PYTHONHOME and the proxy variables; the Python ones run on Debian's
 * /usr/bin/python3.
 *
 * A start picks free ports, writes the config into log_dir (ENV_DIR/NAME-N)
 * from its template in tests/interop/ (nginx.conf.in, apache2.conf.in,
 * h2o.conf.in, lighttpd.conf.in, squid.conf.in for both squids,
 * tinyproxy.conf.in, gunicorn.conf.py.in; found through G_TEST_SRCDIR, else
 * in the source directory of the build), starts the server and waits (at
 * most 10 s) until the process it started listens on each of its ports,
 * which it sees in /proc without connecting (squid would log a probe). If
 * the process exits first, or another process has a port, it tries again
 * with other ports, 5 times in all. A failure's GError names the server
 * and ends with the tail of its logs (of that attempt). Starting takes
 * some 30-100 ms (httpbin: 0.3-0.5 s, FTP: 0.2 s).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The credentials the authenticating servers want (APACHE's /basic/ and
 * /digest/, SQUID_AUTH). */
#define INTEROP_USER     "alice"
#define INTEROP_PASSWORD "secret"
#define INTEROP_REALM    "gcurl-test"
#define INTEROP_CLIENT_CN "libgcurlmulti interop client"

/* The size of APACHE's /basic/pattern-1000 and /digest/pattern-1000. */
#define INTEROP_AUTH_FILE_SIZE 1000

typedef enum
{
  INTEROP_NGINX,
  INTEROP_APACHE,
  INTEROP_H2O,
  INTEROP_LIGHTTPD,
  INTEROP_SQUID,
  INTEROP_SQUID_AUTH,
  INTEROP_TINYPROXY,
  INTEROP_HTTPBIN,
  INTEROP_FTP,
  N_INTEROP_KINDS
} InteropKind;

/* Shared by all the servers of a test program. */
typedef struct
{
  char  *dir;        /* temporary directory of everything (mode 0755) */
  char  *doc_root;   /* dir/htdocs: what the web servers and FTP serve */
  char  *ca_file;    /* the CA's certificate (PEM), to verify with */
  char  *cert_file;  /* the servers' certificate: CN localhost, SAN */
  char  *key_file;   /*   DNS:localhost and IP:127.0.0.1; and its key */
  char  *client_cert_file;  /* a client's, CN INTEROP_CLIENT_CN, signed */
  char  *client_key_file;   /*   by the CA; and its key */
  /*< private >*/
  guint  n_servers;
} InteropEnv;

/* Options of a start; a NULL InteropOptions, or a NULL field, is the
 * default. */
typedef struct
{
  const char *limit_rate;   /* NGINX: /slow/'s limit_rate ("1m") */
} InteropOptions;

typedef struct
{
  InteropKind  kind;
  const char  *name;       /* "nginx", "apache2", "squid-auth"… */
  GSubprocess *process;    /* NULL while stopped or killed */
  guint16      port;       /* HTTP/1.1, the proxy's port, or FTP's */
  guint16      port2;      /* NGINX's second origin, else 0 */
  guint16      tls_port;   /* HTTPS (h2 by ALPN), 0 if the kind has none */
  char        *url;        /* "http://127.0.0.1:PORT" ("ftp://…" for FTP),
                            * no trailing slash */
  char        *url2;       /* "http://127.0.0.1:PORT2", or NULL */
  char        *tls_url;    /* "https://localhost:TLS_PORT", or NULL */
  char        *log_dir;    /* its config, logs and pid file */
  char        *access_log; /* the file interop_server_read_log() reads */
  /*< private >*/
  InteropEnv  *env;
  char       **argv;
  GSubprocess *watchdog;
  char        *error_log;
  char        *output_log;
  char        *service_name;
} InteropServer;

/* Makes the temporary directory, the document root (empty) and the
 * certificates (if openssl is installed; else the three are NULL, and
 * interop_missing() says so for the kinds that need them). */
gboolean     interop_env_init          (InteropEnv     *env,
                                        GError        **error);
/* Removes the directory (and any shared memory segment a killed squid of
 * @env left in /dev/shm) and frees @env; stops no server (stop them first).
 * Safe on a cleared or zeroed @env. */
void         interop_env_clear         (InteropEnv     *env);

/* Test data, at @path relative to doc_root ("a/b.txt"; missing parent
 * directories are made). Files are made mode 0644, directories 0755 (Apache
 * reads them as www-data), and dated in the past, an hour ago, on whole
 * seconds. */
gboolean     interop_env_write_file    (InteropEnv     *env,
                                        const char     *path,
                                        const void     *data,
                                        gsize           len,
                                        GError        **error);
/* The test pattern (test_pattern_fill() from offset 0) of @size bytes. */
gboolean     interop_env_write_pattern (InteropEnv     *env,
                                        const char     *path,
                                        guint64         size,
                                        GError        **error);
/* Changes a file atomically: writes @data to a temporary file beside it,
 * dates it one second after the old file (or an hour ago, if there was
 * none), and renames it over @path. Every server then sees another
 * file: a new ETag and a later Last-Modified, even for the same size. */
gboolean     interop_env_replace_file  (InteropEnv     *env,
                                        const char     *path,
                                        const void     *data,
                                        gsize           len,
                                        GError        **error);
/* doc_root/@path. Free it with g_free(). */
char        *interop_env_path          (InteropEnv     *env,
                                        const char     *path);

/* NULL if @kind can run here, else why not, as a reason for
 * g_test_skip(): "nginx is not installed (Debian package nginx)". */
const char  *interop_missing           (InteropKind     kind);
/* "nginx", "apache2", "h2o", "lighttpd", "squid", "squid-auth",
 * "tinyproxy", "httpbin", "ftp". */
const char  *interop_kind_name         (InteropKind     kind);
/* Whether @kind serves doc_root over HTTP and HTTPS (the four web
 * servers). */
gboolean     interop_kind_is_web_server (InteropKind    kind);
/* Whether @kind is a forward proxy. */
gboolean     interop_kind_is_proxy     (InteropKind     kind);

/* Starts a server of @kind for @env, which must outlive it. @server is
 * overwritten. FALSE with @error if it does not start. */
gboolean     interop_server_start      (InteropServer  *server,
                                        InteropEnv     *env,
                                        InteropKind     kind,
                                        GError        **error);
gboolean     interop_server_start_full (InteropServer  *server,
                                        InteropEnv     *env,
                                        InteropKind     kind,
                                        const InteropOptions *options,
                                        GError        **error);
/* Starts the server again, with the same config and ports, after
 * interop_server_kill() (kills it first if it runs). The ports may have
 * been taken meanwhile: then it fails. */
gboolean     interop_server_restart    (InteropServer  *server,
                                        GError        **error);
/* Kills the server (SIGKILL, a crash) and reaps it now; the ports, URLs and
 * files stay, for interop_server_restart(). */
void         interop_server_kill       (InteropServer  *server);
/* Kills and reaps the server if it runs, and frees and zeroes @server
 * (its files stay until interop_env_clear()). Safe on a zeroed @server. */
void         interop_server_stop       (InteropServer  *server);
/* The process's pid, or 0 if it does not run. */
GPid         interop_server_get_pid    (InteropServer  *server);

/* The access log (see "Logs" above), or NULL if there is none yet. Free it
 * with g_free(). */
char        *interop_server_read_log   (InteropServer  *server);
/* Waits until the access log contains @needle, at most @timeout_ms. TRUE if
 * it does; @log (if not NULL) gets the log read last, found or not (NULL if
 * there was none). */
gboolean     interop_server_wait_for_log (InteropServer *server,
                                          const char    *needle,
                                          guint          timeout_ms,
                                          char         **log);

G_END_DECLS

/* gcurl-easy-private.h: the libcurl side of a transfer
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <curl/curl.h>
#include <gio/gio.h>

#include "gcurl-auth-private.h"
#include "gcurl-engine-private.h"
#include "gcurl-headers-private.h"
#include "gcurl-jar-private.h"
#include "gcurl-log-private.h"
#include "gcurl-rate-limit-private.h"
#include "gcurl-request-options-private.h"
#include "gcurl-sink-private.h"
#include "gcurl-stall-private.h"
#include "gcurl-tls-private.h"
#include "gcurl-upload-private.h"

G_BEGIN_DECLS

/* Where a run is, as libcurl's callbacks see it. The public
 * GCurlTransferState says what the application may know; this says what
 * the response is so far. */
typedef enum
{
  G_CURL_PHASE_IDLE,         /* not running */
  G_CURL_PHASE_QUEUED,       /* started, waiting for a connection */
  G_CURL_PHASE_ACTIVE,       /* the request is sent: the watchdog runs */
  G_CURL_PHASE_CHALLENGED,   /* a 401/407 head that libcurl may answer itself */
  G_CURL_PHASE_REDIRECTING,  /* a head the library will follow */
  G_CURL_PHASE_BODY,         /* the final response's head is known */
  G_CURL_PHASE_HOLDING,      /* a challenge's body, kept while "authenticate"
                              * has not answered it */
} GCurlPhase;

const char *g_curl_phase_to_string (GCurlPhase phase);

/* An easy handle and what its callbacks record, embedded in a transfer.
 * The callbacks only record and mark the run dirty: the transfer reports
 * from its run functions, once libcurl has returned. */
typedef struct _GCurlEasy GCurlEasy;
struct _GCurlEasy
{
  CURL               *handle;
  const char         *url;              /* (unowned): the transfer's */
  char                error_buffer[CURL_ERROR_SIZE];
  GCurlRun            run;              /* the engine's record of the run */
  GCurlPhase          phase;

  /* The request. */
  char               *method;           /* (nullable): GET, or POST with a body */
  GArray             *request_headers;  /* (nullable): GCurlHeader, the application's */
  GArray             *app_headers;      /* (nullable): this run's: the multi's default
                                         * headers with request_headers over them;
                                         * NULL when the multi has none */
  GArray             *library_headers;  /* (nullable): GCurlHeader, download_async's
                                         * own (Range, If-Range): they follow
                                         * redirects to any origin */
  GBytes             *request_body;     /* (nullable) */
  GCurlUpload         upload;           /* a request body from a stream */
  char               *content_type;     /* (nullable) */
  gint64              max_download_speed;
  gint64              rate_applied;     /* the limit rate was measured for */
  gint64              resume_from;      /* download_async, not HTTP: the offset
                                         * libcurl resumes at */
  gboolean            fail_on_http_error;  /* download_async: >= 400 fails */
  gboolean            fail_on_status;   /* fail-on-http-error, for this run */
  gboolean            as_served;        /* download_async: no decoding unless
                                         * the transfer asks */
  char               *accept_encoding;  /* CURLOPT_ACCEPT_ENCODING as last set */
  guint               decoding : 1;     /* the body of this response is decoded */
  guint               content_coded : 1;  /* this response has a Content-Encoding
                                           * other than identity */
  gint64              encoded_base;     /* downloaded before this response's body */
  char               *redirect_protocols;  /* redirect-protocols, for this run */
  /* Retries of send_async and send_and_read_async (gcurl-transfer-retry.c). */
  guint               idempotent : 2;   /* GCurlIdempotence: by the method, or set */
  GCancellable       *retry_wait;       /* (nullable) (unowned): the call's wait
                                         * before it runs the transfer again */

  /* What the handle was given. */
  GCurlAppliedOptions applied;
  gsize               buffer_size;      /* CURLOPT_BUFFERSIZE, 0: libcurl's */
  char               *proxy;            /* (nullable): CURLOPT_PROXY as set */
  guint               proxy_set : 1;    /* CURLOPT_PROXY is not libcurl's default */
  guint               pipewait : 1;     /* CURLOPT_PIPEWAIT is set */
  guint               fresh_connect : 1;  /* CURLOPT_FRESH_CONNECT is set */
  GCurlJar           *jar;              /* (nullable) (owned): the share the
                                         * handle is attached to */

  /* The current run. */
  struct curl_slist  *header_list;      /* (nullable) */
  char               *redirect_url;     /* (nullable): where redirects led */
  char               *shown_url;        /* (nullable): the current URL without
                                         * its password, made when needed */
  const char         *current_method;   /* static, or method */
  guint               send_body : 1;
  guint               send_headers : 1; /* the application's: not after another
                                         * origin */
  guint               n_redirects;
  guint               max_redirects;
  guint               stall_timeout;    /* s, 0: none */
  gint64              redirect_time;    /* µs spent on followed redirects */

  /* The response, as libcurl's callbacks recorded it. */
  guint               status_code;
  char               *reason;           /* (nullable): of the response being
                                         * received; none in HTTP/2 */
  GCurlResponseHeaders response_headers;
  GCurlLog            log;              /* log-level's lines, to emit */
  gint64              downloaded;
  gint64              download_size;    /* -1: unknown */
  guint64             activity;         /* bumped by every callback */
  GBytes             *body_bytes;       /* (nullable): the body in memory, once
                                         * the run succeeded */
  guint               headers_pending : 1;  /* "got-headers" to emit */
  guint               pause_requested : 1;
  guint               start_paused : 1;    /* pause() between runs: the next
                                            * starts paused */
  guint               hold_submit : 1;     /* this run started paused: it is
                                            * not handed to libcurl before
                                            * resume() */
  guint               submit_waiting : 1;  /* …and was ready to be */
  guint               paused_in_curl : 1;   /* a callback returned PAUSE */
  guint               cannot_pause : 1;     /* file://: libcurl fails a PAUSE */
  guint               is_http2 : 1;         /* the final response is HTTP/2 */
  guint               sink_paused : 1;
  guint               body_enough : 1;  /* the rest of the body is not wanted:
                                         * the run ends, successfully */

  GCurlRateLimit      rate;
  GCurlStall          stall;
  GCurlTls            tls;              /* the TLS peer, trust decisions, the
                                         * client certificate */

  /* Authentication: a 401 or 407 held for the transfer's "authenticate"
   * handler, whose answer either sends the request again with credentials
   * (g_curl_easy_answer_challenge()) or makes the challenge the response
   * (g_curl_easy_refuse_challenge()). */
  GByteArray         *challenge_body;   /* (nullable): the held challenge's body */
  GError             *challenge_error;  /* (nullable): a refused CONNECT's error */
  guint               hold_challenges : 1;  /* "authenticate" has a handler */
  guint               challenge_waiting : 1;  /* held, out of libcurl */
  guint               challenge_proxy : 1;  /* the held challenge is a 407 */
  guint               server_auth_set : 1;  /* the handler's credentials are */
  guint               proxy_auth_set : 1;   /* …set on the handle */
  guint               server_tries;     /* authenticate() answers in this run */
  guint               proxy_tries;

  /* Where the body goes: the memory sink, or send_async's stream. */
  GCurlBodySink      *sink;             /* (not owned): &memory by default */
  GCurlMemorySink     memory;
};

void        g_curl_easy_init            (GCurlEasy           *self,
                                         GObject             *owner,
                                         const char          *url,
                                         const GCurlRunFuncs *funcs);
void        g_curl_easy_clear           (GCurlEasy           *self);

/* Runs */
gboolean    g_curl_easy_begin_run       (GCurlEasy                 *self,
                                         const GCurlRequestOptions *defaults,
                                         const GCurlRequestOptions *overrides,
                                         GError                   **error);
GCurlRunDoneAction g_curl_easy_done     (GCurlEasy           *self,
                                         CURLcode             result,
                                         GError             **error);
gboolean    g_curl_easy_is_running      (GCurlEasy           *self);
gboolean    g_curl_easy_accept_certificate (GCurlEasy        *self,
                                            gboolean          accepted,
                                            GError          **error);
void        g_curl_easy_unpause         (GCurlEasy           *self);
void        g_curl_easy_pause           (GCurlEasy           *self);
void        g_curl_easy_resume          (GCurlEasy           *self);
gint64      g_curl_easy_uploaded        (GCurlEasy           *self);
void        g_curl_easy_read_ahead      (GCurlEasy           *self);
void        g_curl_easy_rate_resume     (GCurlEasy           *self);

/* The request */
const char *g_curl_easy_get_method      (GCurlEasy           *self);
gint64      g_curl_easy_get_upload_size (GCurlEasy           *self);
void        g_curl_easy_set_request_body   (GCurlEasy        *self,
                                            GBytes           *body,
                                            const char       *content_type);
void        g_curl_easy_set_request_stream (GCurlEasy        *self,
                                            GInputStream     *stream,
                                            gint64            length);
void        g_curl_easy_set_proxy       (GCurlEasy           *self,
                                         const char          *proxy);
void        g_curl_easy_set_fresh_connect  (GCurlEasy        *self,
                                            gboolean          fresh);
void        g_curl_easy_set_resume_from (GCurlEasy           *self,
                                         gint64               offset,
                                         gboolean             filetime);

/* The response */
const char *g_curl_easy_get_shown_url   (GCurlEasy           *self);
const char *g_curl_easy_lookup_header   (GCurlEasy           *self,
                                         const char          *name);
gboolean    g_curl_easy_headers_final   (GCurlEasy           *self);

/* Authentication */
GCurlAuth  *g_curl_easy_new_auth        (GCurlEasy           *self,
                                         GCurlAuthDecidedFunc func,
                                         gpointer             user_data,
                                         gboolean            *retrying);
gboolean    g_curl_easy_answer_challenge (GCurlEasy          *self,
                                          GCurlAuth          *auth,
                                          GError            **error);
GError     *g_curl_easy_refuse_challenge (GCurlEasy          *self);

/* The body */
void        g_curl_easy_emit_log        (GCurlEasy           *self);
void        g_curl_easy_set_sink        (GCurlEasy           *self,
                                         GCurlBodySink       *sink);
void        g_curl_easy_unpause_sink    (GCurlEasy           *self);

G_END_DECLS

/* gcurl-transfer.c: one HTTP transfer
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib/gi18n-lib.h>

#include "gcurl-engine-private.h"
#include "gcurl-enum-types.h"
#include "gcurl-error.h"
#include "gcurl-error-private.h"
#include "gcurl-headers-private.h"
#include "gcurl-progress-private.h"
#include "gcurl-rate-limit-private.h"
#include "gcurl-redirect-private.h"
#include "gcurl-request-options-private.h"
#include "gcurl-sink-private.h"
#include "gcurl-stall-private.h"
#include "gcurl-timings-private.h"
#include "gcurl-upload-private.h"
#include "gcurl-transfer.h"
#include "gcurl-transfer-private.h"
#include "gcurl-util-private.h"

/**
 * GCurlTransfer:
 *
 * One HTTP request and its response, run by a [class@GCurl.Multi].
 *
 * Make a transfer with [ctor@GCurl.Transfer.new], describe the request
 * (method, headers, body), then hand it to
 * [method@GCurl.Multi.add_transfer]. While it runs it reports
 * [signal@GCurl.Transfer::got-headers], [signal@GCurl.Transfer::progress]
 * and, exactly once, [signal@GCurl.Transfer::finished], all from the multi's
 * main context and never from inside libcurl, so a handler may do anything:
 * cancel or pause this or another transfer, add transfers, drop the last
 * reference to the transfer or the multi, or quit the main loop.
 *
 * Its figures (state, status, byte counts, [property@GCurl.Transfer:fraction],
 * speed) are properties that notify when they change, so they can be bound
 * to widgets with g_object_bind_property().
 *
 * A finished transfer can be added again: it runs again from a clean state.
 *
 * Since: 1.0
 */

/* Redirects are followed by the library, not by libcurl, so that headers
 * the application set are not sent to another origin (libcurl 7.88 forwards
 * all but Authorization and Cookie). */

struct _GCurlTransfer
{
  GObject             parent_instance;

  CURL               *handle;
  char               *url;
  char                error_buffer[CURL_ERROR_SIZE];

  /* The request. */
  char               *method;           /* NULL: GET, or POST with a body */
  GArray             *request_headers;  /* GCurlHeader, the application's */
  GArray             *library_headers;  /* GCurlHeader, download_async's own
                                         * (Range, If-Range): they follow
                                         * redirects to any origin */
  GBytes             *request_body;
  GCurlUpload         upload;           /* a request body from a stream */
  char               *content_type;
  gint64              max_download_speed;
  gint64              resume_from;        /* download_async, not HTTP: the
                                           * offset libcurl resumes at */
  GChecksumType       checksum_type;
  char               *expected_checksum;  /* hex, for download_async */
  GCurlRequestOptions *options;           /* (nullable) (owned): the
                                           * settings that replace the
                                           * multi's; NULL for none */
  guint               proxy_set : 1;      /* CURLOPT_PROXY is not libcurl's default */
  guint               pipewait : 1;       /* CURLOPT_PIPEWAIT is set */
  guint               fresh_connect : 1;  /* CURLOPT_FRESH_CONNECT is set */
  char               *proxy;              /* CURLOPT_PROXY as set, or NULL */
  guint               fail_on_http_error : 1; /* download_async: >= 400 fails */
  gint64              redirect_time;      /* µs spent on followed redirects */
  guint               run_number;         /* counts runs, for late callbacks */

  /* The current run; reset by g_curl_transfer_start(). */
  GCurlRun            run;              /* the engine's record of it */
  struct curl_slist  *header_list;
  char               *redirect_url;     /* where redirects led, or NULL */
  char               *shown_url;        /* current URL without password, or NULL */
  const char         *current_method;   /* static, or self->method */
  guint               send_body : 1;
  guint               send_headers : 1;
  GCurlAppliedOptions applied;          /* what the handle was given */
  gsize               buffer_size;      /* CURLOPT_BUFFERSIZE, 0: libcurl's */
  guint               n_redirects;
  guint               max_redirects;
  guint               stall_timeout;
  guint64             max_body_size;     /* 0: no limit */

  GCurlTransferState  state;
  guint               status_code;
  GCurlResponseHeaders response_headers;
  GByteArray         *body;
  GBytes             *body_bytes;        /* once succeeded */
  GError             *error;

  /* Written by libcurl's callbacks, read when flushing. */
  gint64              downloaded;
  gint64              download_size;
  guint64             activity;          /* bumped by every callback */
  guint               headers_final : 1; /* final response's headers seen */
  guint               headers_tentative : 1; /* a 401/407 that libcurl may
                                              * answer itself (see
                                              * headers_complete()) */
  guint               headers_pending : 1; /* "got-headers" to emit */
  guint               redirecting : 1;   /* this response will be followed */
  guint               pause_requested : 1;
  guint               paused_in_curl : 1; /* write callback returned PAUSE */
  guint               cannot_pause : 1;  /* file://: libcurl fails a PAUSE */
  guint               active : 1;        /* request sent: the watchdog runs */

  /* What the last "progress" emission said, and when. */
  GCurlProgress       progress;

  gint64              upload_size;

  /* Speed limit: a token bucket applied in the write callback. libcurl
   * 7.88's own limit reads whole socket buffers at once and lets a
   * loopback or LAN transfer through at full speed. */
  GCurlRateLimit      rate;

  /* Where the body goes: the memory sink, or send_async's stream. */
  GCurlBodySink      *sink;              /* (not owned): &memory by default */
  GCurlMemorySink     memory;
  guint               sink_paused : 1;


  /* Stall watchdog: when the activity count last changed. */
  GCurlStall          stall;
  guint               is_http2 : 1;       /* the final response is HTTP/2 */

  /* While "finished" is emitted: the run it is for. */
  GCurlTransferEnding *ending;
};

enum {
  PROP_0,
  PROP_URL,
  PROP_METHOD,
  PROP_STATE,
  PROP_STATUS_CODE,
  PROP_DOWNLOADED_BYTES,
  PROP_DOWNLOAD_SIZE,
  PROP_UPLOADED_BYTES,
  PROP_UPLOAD_SIZE,
  PROP_FRACTION,
  PROP_DOWNLOAD_SPEED,
  PROP_TIME_REMAINING,
  PROP_MAX_DOWNLOAD_SPEED,
  PROP_USER_AGENT,
  PROP_PROXY,
  PROP_TLS_CA_FILE,
  PROP_ALLOWED_PROTOCOLS,
  PROP_MAX_REDIRECTS,
  PROP_STALL_TIMEOUT,
  PROP_CONNECT_TIMEOUT,
  PROP_TIMEOUT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  SIGNAL_PROGRESS,
  SIGNAL_GOT_HEADERS,
  SIGNAL_FINISHED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (GCurlTransfer, g_curl_transfer, G_TYPE_OBJECT)

static guint progress_props (guint changes);
static const GCurlRunFuncs run_funcs;

static void
set_state (GCurlTransfer      *self,
           GCurlTransferState  state)
{
  if (self->state == state)
    return;

  self->state = state;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

/* Notifies the properties in @mask (bits 1 << PROP_*) once their values
 * are all in place: what g_object_freeze_notify() would do, without its
 * allocation on every transfer. */
static void
notify_props (GCurlTransfer *self,
              guint          mask)
{
  guint prop;

  for (prop = 1; mask != 0 && prop < N_PROPS; prop++)
    if (mask & (1u << prop))
      {
        mask &= ~(1u << prop);
        g_object_notify_by_pspec ((GObject *) self, properties[prop]);
      }
}

/* The URL of the request being made: the original one until a redirect. */
static const char *
current_url (GCurlTransfer *self)
{
  return self->redirect_url != NULL ? self->redirect_url : self->url;
}

/* The URL of the request being made as messages show it: made when first
 * needed after the URL changed (self->shown_url is cleared then). */
static const char *
shown_url (GCurlTransfer *self)
{
  if (self->shown_url == NULL)
    self->shown_url = g_curl_url_without_password (current_url (self));

  return self->shown_url;
}

/* For the multi's and download's messages. */
const char *
g_curl_transfer_get_shown_url (GCurlTransfer *self)
{
  return shown_url (self);
}

static gboolean
state_is_running (GCurlTransferState state)
{
  return state == G_CURL_TRANSFER_STATE_RUNNING ||
         state == G_CURL_TRANSFER_STATE_PAUSED;
}

/* libcurl callbacks: they only record what happened. Signals are emitted
 * by g_curl_transfer_flush() once libcurl has returned. */

static void
mark_dirty (GCurlTransfer *self)
{
  g_curl_engine_mark_dirty (&self->run);
}

/* Accepts @len more bytes if the speed limit allows; otherwise the multi
 * resumes the transfer when it will. */
static gboolean
rate_allows (GCurlTransfer *self,
             gsize          len)
{
  if (g_curl_rate_limit_take (&self->rate, self->max_download_speed, len,
                              g_get_monotonic_time (), &self->run.rate_resume_at))
    return TRUE;

  g_curl_engine_wait_for_rate (&self->run);
  return FALSE;
}

static gboolean headers_become_final (GCurlTransfer *self);

static gboolean
is_http (GCurlTransfer *self)
{
  const char *scheme = NULL;

  curl_easy_getinfo (self->handle, CURLINFO_SCHEME, &scheme);
  return scheme == NULL || g_ascii_strncasecmp (scheme, "http", 4) == 0;
}

/* The body has started: whatever response it belongs to is the final one.
 * That settles a 401 or 407 held back by headers_complete() (libcurl did
 * not answer it itself, or it would have skipped its body), and gives the
 * protocols without response headers (file, ftp…, when allowed) their
 * "got-headers". Returns %FALSE if the body is refused (the size limit). */
static gboolean
body_starts (GCurlTransfer *self)
{
  if (self->headers_final || self->redirecting)
    return TRUE;
  if (self->headers_tentative || !is_http (self))
    return headers_become_final (self);

  return TRUE;
}

static size_t
write_cb (char   *data,
          size_t  size,
          size_t  nmemb,
          void   *user_data)
{
  GCurlTransfer *self = user_data;
  size_t len = size * nmemb;

  if (G_UNLIKELY (!self->headers_final) && !body_starts (self))
    return 0;

  /* Pausing works from here whether or not the transfer is connected yet:
   * libcurl keeps this chunk and gives it again after curl_easy_pause().
   * Not for file://: libcurl 7.88 reads the whole file in one go and fails
   * a pause ("Write callback asked for PAUSE when not supported"). */
  if (self->pause_requested && !self->cannot_pause)
    {
      self->paused_in_curl = TRUE;
      return CURL_WRITEFUNC_PAUSE;
    }

  /* The body of a response that will be followed is of no interest. */
  if (self->redirecting)
    {
      self->activity++;
      return len;
    }

  if (self->max_download_speed > 0 && !self->cannot_pause && !rate_allows (self, len))
    {
      self->paused_in_curl = TRUE;
      return CURL_WRITEFUNC_PAUSE;
    }

  switch (self->sink->funcs->write (self->sink, data, len, !self->cannot_pause))
    {
    case G_CURL_SINK_FULL:
      /* The consumer is full: libcurl holds this chunk until it drains. */
      self->paused_in_curl = TRUE;
      self->sink_paused = TRUE;
      return CURL_WRITEFUNC_PAUSE;
    case G_CURL_SINK_REFUSED:
      /* libcurl reports a write error, which handle_done explains. */
      return 0;
    case G_CURL_SINK_TAKEN:
      break;
    }

  self->activity++;
  self->downloaded += len;
  mark_dirty (self);

  return len;
}

static void
clear_response_headers (GCurlTransfer *self)
{
  g_curl_response_headers_clear (&self->response_headers);
}

/* A header of the final response, or of the one being received (see
 * g_curl_response_headers_lookup()). */
static const char *
lookup_response_header (GCurlTransfer *self,
                        const char    *name)
{
  return g_curl_response_headers_lookup (&self->response_headers, self->handle, name);
}

/* The response whose head just ended is the final one: record its status
 * and size for "got-headers". Returns %FALSE if its announced size is past
 * the limit of a body in memory. */
static gboolean
headers_become_final (GCurlTransfer *self)
{
  long code = 0;
  long version = 0;
  curl_off_t length = -1;
  gboolean http = is_http (self);
  const char *scheme = NULL;

  if (http)
    curl_easy_getinfo (self->handle, CURLINFO_RESPONSE_CODE, &code);
  curl_easy_getinfo (self->handle, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
  curl_easy_getinfo (self->handle, CURLINFO_HTTP_VERSION, &version);

  curl_easy_getinfo (self->handle, CURLINFO_SCHEME, &scheme);
  self->cannot_pause = scheme != NULL && g_ascii_strcasecmp (scheme, "file") == 0;
  self->headers_final = TRUE;
  self->headers_tentative = FALSE;
  self->headers_pending = TRUE;
  self->is_http2 = version == CURL_HTTP_VERSION_2_0;
  self->status_code = (guint) code;
  self->download_size = length >= 0 ? length : -1;

  /* A continuation (206) counts within the whole resource, so that the
   * fraction of a resumed download is that of the file, not of the rest. */
  if (code == 206)
    {
      gint64 start, total;

      if (g_curl_parse_content_range (lookup_response_header (self, "Content-Range"),
                                      &start, &total) && start >= 0)
        {
          self->downloaded = start;
          if (total >= 0)
            self->download_size = total;
          else if (length >= 0)
            self->download_size = start + length;
        }
    }
  else if (!http && self->resume_from > 0)
    {
      /* libcurl resumed it (CURLOPT_RESUME_FROM_LARGE): what it announces
       * is the rest. */
      self->downloaded = self->resume_from;
      if (length >= 0)
        self->download_size = self->resume_from + length;
    }

  mark_dirty (self);

  return self->sink->funcs->begin (self->sink, length);
}

/* The head of a response has ended: decide whether it is the final
 * response. Returns %FALSE to refuse its body (the size limit). */
static gboolean
headers_complete (GCurlTransfer *self)
{
  long code = 0;

  /* Other protocols (ftp…) give their server's replies as "headers": the
   * body's first byte says their response is there (see body_starts()). */
  if (!is_http (self))
    return TRUE;

  curl_easy_getinfo (self->handle, CURLINFO_RESPONSE_CODE, &code);

  /* A proxy's reply to CONNECT: libcurl 7.88 gives it to the header
   * callback like any response, with the response code still 0 (the
   * proxy's own is CURLINFO_HTTP_CONNECTCODE). The origin's response comes
   * through the tunnel after it. */
  if (code == 0)
    return TRUE;

  /* 1xx responses come before the real one. */
  if (code >= 100 && code < 200)
    return TRUE;

  if (g_curl_redirect_is_followed (code) && self->max_redirects > 0 &&
      lookup_response_header (self, "Location") != NULL)
    {
      self->redirecting = TRUE;
      return TRUE;
    }

  /* An authentication challenge that libcurl may answer itself, when
   * credentials were set on the handle: it decides that only after this
   * callback, and then skips the challenge's body and sends the request
   * again (prereq_cb() sees it). Known to be final once its body starts
   * or the transfer ends without another request. */
  if (code == 401 || code == 407)
    {
      self->headers_tentative = TRUE;
      return TRUE;
    }

  return headers_become_final (self);
}

/* Only watches for the start and the end of each response's headers:
 * libcurl stores the header lines itself (see lookup_response_header()). */
static size_t
header_cb (char   *data,
           size_t  size,
           size_t  nmemb,
           void   *user_data)
{
  GCurlTransfer *self = user_data;
  size_t len = size * nmemb;

  self->activity++;
  mark_dirty (self);

  /* Trailers after the body are not response headers. */
  if (self->headers_final)
    return len;

  if (len >= 5 && memcmp (data, "HTTP/", 5) == 0)
    {
      /* A new response (after a 1xx, a CONNECT reply or an authentication
       * round): only the final one's headers count. */
      clear_response_headers (self);
      self->redirecting = FALSE;
      self->headers_tentative = FALSE;
    }
  else if (len > 0 && (data[0] == '\r' || data[0] == '\n'))
    {
      if (!headers_complete (self))
        return 0;
    }

  return len;
}

/* Request bodies from a stream. libcurl asks for data in read_cb; it
 * only copies what an asynchronous read brought. With nothing ready it
 * pauses the upload and asks the flush (outside libcurl: the stream may be
 * application code) to start the next read, whose completion unpauses. */

static void unpause_in_curl (GCurlTransfer *self);

static size_t
read_cb (char   *buffer,
         size_t  size,
         size_t  nitems,
         void   *user_data)
{
  GCurlTransfer *self = user_data;
  size_t n = g_curl_upload_read (&self->upload, buffer, size * nitems);

  if (n == CURL_READFUNC_PAUSE)
    self->paused_in_curl = TRUE;
  else if (n != CURL_READFUNC_ABORT && n > 0)
    self->activity++;
  /* The flush reads the next chunk. */
  if (self->upload.wants_data)
    mark_dirty (self);

  return n;
}

static int
seek_cb (void       *user_data,
         curl_off_t  offset,
         int         origin)
{
  GCurlTransfer *self = user_data;

  return g_curl_upload_seek (&self->upload, offset, origin);
}

/* The next chunk of the request stream is there (or its end, or an
 * error): let libcurl read it, unless the transfer is held otherwise. */
static void
upload_ready (GObject *object)
{
  GCurlTransfer *self = G_CURL_TRANSFER (object);

  if (self->paused_in_curl && !self->pause_requested && !self->run.completed)
    unpause_in_curl (self);
}

static void
upload_failed (GObject *object,
               GError  *error)
{
  GCurlTransfer *self = G_CURL_TRANSFER (object);

  if (self->run.engine != NULL && !self->run.completed)
    g_curl_engine_end_run (&self->run, error);
  else
    g_error_free (error);
}

static const GCurlUploadFuncs upload_funcs = {
  upload_ready, upload_failed,
};

static gboolean
upload_rewind (GCurlTransfer  *self,
               GError        **error)
{
  return g_curl_upload_rewind (&self->upload, shown_url (self), error);
}

/* Called by libcurl once it is connected and about to send the request:
 * from here on, time without a byte counts as a stall. Transfers queued for
 * a connection never get here, so they never time out while waiting. */
static int
prereq_cb (void *user_data,
           char *conn_primary_ip,
           char *conn_local_ip,
           int   conn_primary_port,
           int   conn_local_port)
{
  GCurlTransfer *self = user_data;

  self->active = TRUE;
  self->activity++;
  mark_dirty (self);

  /* A new request of this run: what came before was a response libcurl
   * consumed itself (an authentication challenge it answers now). */
  if (self->headers_tentative)
    {
      self->headers_tentative = FALSE;
      clear_response_headers (self);
    }

  return CURL_PREREQFUNC_OK;
}

static void
g_curl_transfer_dispose (GObject *object)
{
  GCurlTransfer *self = G_CURL_TRANSFER (object);

  /* A running transfer is owned by its engine, so this only runs once the
   * handle has left it. */
  g_assert (self->run.engine == NULL);

  G_OBJECT_CLASS (g_curl_transfer_parent_class)->dispose (object);
}

static void
g_curl_transfer_finalize (GObject *object)
{
  GCurlTransfer *self = G_CURL_TRANSFER (object);

  g_clear_pointer (&self->handle, curl_easy_cleanup);
  g_clear_pointer (&self->header_list, curl_slist_free_all);
  g_clear_pointer (&self->url, g_free);
  g_clear_pointer (&self->redirect_url, g_free);
  g_clear_pointer (&self->shown_url, g_free);
  g_clear_pointer (&self->proxy, g_free);
  g_clear_pointer (&self->method, g_free);
  g_clear_pointer (&self->request_headers, g_array_unref);
  g_clear_pointer (&self->library_headers, g_array_unref);
  g_clear_pointer (&self->request_body, g_bytes_unref);
  g_curl_upload_clear (&self->upload);
  g_clear_pointer (&self->content_type, g_free);
  g_clear_pointer (&self->expected_checksum, g_free);
  if (self->options != NULL)
    g_curl_request_options_clear (self->options);
  g_clear_pointer (&self->options, g_free);
  clear_response_headers (self);
  g_curl_memory_sink_clear (&self->memory);
  g_clear_pointer (&self->body_bytes, g_bytes_unref);
  g_clear_error (&self->error);

  G_OBJECT_CLASS (g_curl_transfer_parent_class)->finalize (object);
}

static GCurlRequestOptions *
ensure_options (GCurlTransfer *self)
{
  if (self->options == NULL)
    {
      self->options = g_new0 (GCurlRequestOptions, 1);
      g_curl_request_options_init (self->options);
    }
  return self->options;
}

/* The string options; programmer errors are refused with a critical and
 * change nothing. */
static void
set_option_string (GCurlTransfer *self,
                   guint          prop_id,
                   const char    *value)
{
  GCurlRequestOptions *options;
  char **field;

  if (state_is_running (self->state))
    {
      g_critical ("GCurlTransfer:%s cannot change while the transfer runs",
                  properties[prop_id]->name);
      return;
    }
  if (value != NULL && prop_id != PROP_TLS_CA_FILE && strpbrk (value, "\r\n") != NULL)
    {
      g_critical ("GCurlTransfer:%s must not contain CR or LF", properties[prop_id]->name);
      return;
    }
  if (value != NULL && prop_id == PROP_ALLOWED_PROTOCOLS && !g_curl_protocols_valid (value))
    {
      g_critical ("“%s” is not a list of protocols libcurl supports", value);
      return;
    }

  if (value == NULL && self->options == NULL)
    return;

  options = ensure_options (self);
  switch (prop_id)
    {
    case PROP_USER_AGENT:
      field = &options->user_agent;
      break;
    case PROP_PROXY:
      field = &options->proxy;
      break;
    case PROP_TLS_CA_FILE:
      field = &options->tls_ca_file;
      break;
    default:
      field = &options->allowed_protocols;
      break;
    }

  if (g_curl_request_options_set_string (options, field, value))
    g_object_notify_by_pspec (G_OBJECT (self), properties[prop_id]);
}

static void
set_option_int (GCurlTransfer *self,
                guint          prop_id,
                int            value)
{
  GCurlRequestOptions *options;
  gboolean changed;

  if (state_is_running (self->state) &&
      prop_id != PROP_STALL_TIMEOUT && prop_id != PROP_MAX_REDIRECTS)
    {
      g_critical ("GCurlTransfer:%s cannot change while the transfer runs",
                  properties[prop_id]->name);
      return;
    }

  options = ensure_options (self);
  switch (prop_id)
    {
    case PROP_MAX_REDIRECTS:
      changed = g_curl_request_options_set_int (options, &options->max_redirects, value);
      break;
    case PROP_STALL_TIMEOUT:
      changed = g_curl_request_options_set_int64 (options, &options->stall_timeout, value);
      break;
    case PROP_CONNECT_TIMEOUT:
      changed = g_curl_request_options_set_int (options, &options->connect_timeout, value);
      break;
    default:
      changed = g_curl_request_options_set_int (options, &options->timeout, value);
      break;
    }

  if (changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[prop_id]);
}

static void
g_curl_transfer_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  GCurlTransfer *self = G_CURL_TRANSFER (object);

  switch (prop_id)
    {
    case PROP_URL:
      g_value_set_string (value, self->url);
      break;
    case PROP_METHOD:
      g_value_set_string (value, g_curl_transfer_get_method (self));
      break;
    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    case PROP_STATUS_CODE:
      g_value_set_uint (value, self->status_code);
      break;
    case PROP_DOWNLOADED_BYTES:
      g_value_set_int64 (value, self->progress.downloaded);
      break;
    case PROP_DOWNLOAD_SIZE:
      g_value_set_int64 (value, self->progress.download_size);
      break;
    case PROP_UPLOADED_BYTES:
      g_value_set_int64 (value, self->progress.uploaded);
      break;
    case PROP_UPLOAD_SIZE:
      g_value_set_int64 (value, self->progress.upload_size);
      break;
    case PROP_FRACTION:
      g_value_set_double (value, self->progress.fraction);
      break;
    case PROP_DOWNLOAD_SPEED:
      g_value_set_int64 (value, self->progress.speed);
      break;
    case PROP_TIME_REMAINING:
      g_value_set_int64 (value, self->progress.time_remaining);
      break;
    case PROP_MAX_DOWNLOAD_SPEED:
      g_value_set_int64 (value, self->max_download_speed);
      break;
    case PROP_USER_AGENT:
      g_value_set_string (value, self->options ? self->options->user_agent : NULL);
      break;
    case PROP_PROXY:
      g_value_set_string (value, self->options ? self->options->proxy : NULL);
      break;
    case PROP_TLS_CA_FILE:
      g_value_set_string (value, self->options ? self->options->tls_ca_file : NULL);
      break;
    case PROP_ALLOWED_PROTOCOLS:
      g_value_set_string (value, self->options ? self->options->allowed_protocols : NULL);
      break;
    case PROP_MAX_REDIRECTS:
      g_value_set_int (value, self->options ? self->options->max_redirects : -1);
      break;
    case PROP_STALL_TIMEOUT:
      g_value_set_int (value, self->options ? (int) self->options->stall_timeout : -1);
      break;
    case PROP_CONNECT_TIMEOUT:
      g_value_set_uint (value, self->options ? (guint) MAX (self->options->connect_timeout, 0) : 0);
      break;
    case PROP_TIMEOUT:
      g_value_set_uint (value, self->options ? (guint) MAX (self->options->timeout, 0) : 0);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
g_curl_transfer_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  GCurlTransfer *self = G_CURL_TRANSFER (object);

  switch (prop_id)
    {
    case PROP_URL:
      self->url = g_value_dup_string (value);
      break;
    case PROP_METHOD:
      g_curl_transfer_set_method (self, g_value_get_string (value));
      break;
    case PROP_MAX_DOWNLOAD_SPEED:
      g_curl_transfer_set_max_download_speed (self, g_value_get_int64 (value));
      break;
    case PROP_USER_AGENT:
    case PROP_PROXY:
    case PROP_TLS_CA_FILE:
    case PROP_ALLOWED_PROTOCOLS:
      set_option_string (self, prop_id, g_value_get_string (value));
      break;
    case PROP_MAX_REDIRECTS:
    case PROP_STALL_TIMEOUT:
      set_option_int (self, prop_id, g_value_get_int (value));
      break;
    case PROP_CONNECT_TIMEOUT:
    case PROP_TIMEOUT:
      set_option_int (self, prop_id, (int) MIN (g_value_get_uint (value), G_MAXINT));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
g_curl_transfer_class_init (GCurlTransferClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  g_curl_init_i18n ();

  object_class->dispose = g_curl_transfer_dispose;
  object_class->finalize = g_curl_transfer_finalize;
  object_class->get_property = g_curl_transfer_get_property;
  object_class->set_property = g_curl_transfer_set_property;

  /**
   * GCurlTransfer:url:
   *
   * The URL the transfer requests, as given to [ctor@GCurl.Transfer.new].
   *
   * Since: 1.0
   */
  properties[PROP_URL] =
    g_param_spec_string ("url", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY |
                         G_PARAM_STATIC_STRINGS);

  /**
   * GCurlTransfer:method:
   *
   * The HTTP method: `GET` by default, `POST` when a request body is set.
   *
   * Since: 1.0
   */
  properties[PROP_METHOD] =
    g_param_spec_string ("method", NULL, NULL, "GET",
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY |
                         G_PARAM_STATIC_STRINGS);

  /**
   * GCurlTransfer:state:
   *
   * Where the transfer is in its run.
   *
   * Since: 1.0
   */
  properties[PROP_STATE] =
    g_param_spec_enum ("state", NULL, NULL,
                       G_CURL_TYPE_TRANSFER_STATE, G_CURL_TRANSFER_STATE_NEW,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY |
                       G_PARAM_STATIC_STRINGS);

  /**
   * GCurlTransfer:status-code:
   *
   * The HTTP status of the final response (after redirects), or 0 until
   * [signal@GCurl.Transfer::got-headers]. A response that libcurl consumed
   * itself is never the final one: a proxy's reply to `CONNECT`, a `401`
   * or `407` it answered with credentials set on the handle, an interim
   * `1xx`. It stays 0 for protocols without a status (`ftp`, `file`).
   *
   * Since: 1.0
   */
  properties[PROP_STATUS_CODE] =
    g_param_spec_uint ("status-code", NULL, NULL, 0, 999, 0,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY |
                       G_PARAM_STATIC_STRINGS);

  /**
   * GCurlTransfer:downloaded-bytes:
   *
   * Bytes of the response body received so far, as of the last
   * [signal@GCurl.Transfer::progress]. For a partial response (206, a
   * resumed download) the count starts where the range starts, so that it
   * and [property@GCurl.Transfer:fraction] describe the whole resource.
   *
   * Since: 1.0
   */
  properties[PROP_DOWNLOADED_BYTES] =
    g_param_spec_int64 ("downloaded-bytes", NULL, NULL, 0, G_MAXINT64, 0,
                        G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY |
                        G_PARAM_STATIC_STRINGS);

  /**
   * GCurlTransfer:download-size:
   *
   * The size of the response body, or -1 while it is not known. For a
   * partial response (206), the size of the whole resource.
   *
   * Since: 1.0
   */
  properties[PROP_DOWNLOAD_SIZE] =
    g_param_spec_int64 ("download-size", NULL, NULL, -1, G_MAXINT64, -1,
                        G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY |
                        G_PARAM_STATIC_STRINGS);

  /**
   * GCurlTransfer:uploaded-bytes:
   *
   * Bytes of the request body sent so far.
   *
   * Since: 1.0
   */
  properties[PROP_UPLOADED_BYTES] =
    g_param_spec_int64 ("uploaded-bytes", NULL, NULL, 0, G_MAXINT64, 0,
                        G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY |
                        G_PARAM_STATIC_STRINGS);

  /**
   * GCurlTransfer:upload-size:
   *
   * The size of the request body, or -1 when there is none or it is not
   * known.
   *
   * Since: 1.0
   */
  properties[PROP_UPLOAD_SIZE] =
    g_param_spec_int64 ("upload-size", NULL, NULL, -1, G_MAXINT64, -1,
                        G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY |
                        G_PARAM_STATIC_STRINGS);

  /**
   * GCurlTransfer:fraction:
   *
   * How much of the response body has arrived, from 0 to 1: 0 while the
   * size is not known, 1 once the transfer has succeeded. Made to be bound
   * to a progress bar's fraction.
   *
   * Since: 1.0
   */
  properties[PROP_FRACTION] =
    g_param_spec_double ("fraction", NULL, NULL, 0.0, 1.0, 0.0,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY |
                         G_PARAM_STATIC_STRINGS);

  /**
   * GCurlTransfer:download-speed:
   *
   * The recent download speed in bytes per second.
   *
   * Since: 1.0
   */
  properties[PROP_DOWNLOAD_SPEED] =
    g_param_spec_int64 ("download-speed", NULL, NULL, 0, G_MAXINT64, 0,
                        G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY |
                        G_PARAM_STATIC_STRINGS);

  /**
   * GCurlTransfer:time-remaining:
   *
   * Seconds until the body has arrived at the recent speed, or -1 when
   * that is not known.
   *
   * Since: 1.0
   */
  properties[PROP_TIME_REMAINING] =
    g_param_spec_int64 ("time-remaining", NULL, NULL, -1, G_MAXINT64, -1,
                        G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY |
                        G_PARAM_STATIC_STRINGS);

  /**
   * GCurlTransfer:max-download-speed:
   *
   * The highest download speed in bytes per second, 0 for no limit. It
   * may be changed while the transfer runs.
   *
   * Since: 1.0
   */
  properties[PROP_MAX_DOWNLOAD_SPEED] =
    g_param_spec_int64 ("max-download-speed", NULL, NULL, 0, G_MAXINT64, 0,
                        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY |
                        G_PARAM_STATIC_STRINGS);

  /**
   * GCurlTransfer:user-agent:
   *
   * The `User-Agent` header of this transfer, or %NULL for its multi's
   * [property@GCurl.Multi:user-agent]. It cannot contain CR or LF.
   *
   * Since: 1.0
   */
  properties[PROP_USER_AGENT] =
    g_param_spec_string ("user-agent", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY |
                         G_PARAM_STATIC_STRINGS);

  /**
   * GCurlTransfer:proxy:
   *
   * The proxy this transfer goes through, as libcurl takes it
   * (`http://host:port`, `socks5h://host:port`…), or the empty string for
   * none; %NULL for its multi's [property@GCurl.Multi:proxy], whose own
   * default is to ask [property@GCurl.Multi:proxy-resolver] for each URL.
   *
   * Since: 1.0
   */
  properties[PROP_PROXY] =
    g_param_spec_string ("proxy", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY |
                         G_PARAM_STATIC_STRINGS);

  /**
   * GCurlTransfer:tls-ca-file:
   *
   * A PEM file of the certificate authorities to trust for this transfer,
   * in place of the system's; %NULL for its multi's
   * [property@GCurl.Multi:tls-ca-file].
   *
   * Since: 1.0
   */
  properties[PROP_TLS_CA_FILE] =
    g_param_spec_string ("tls-ca-file", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY |
                         G_PARAM_STATIC_STRINGS);

  /**
   * GCurlTransfer:allowed-protocols:
   *
   * The protocols this transfer and its redirects may use, as libcurl's
   * comma-separated list (`http,https`); %NULL for its multi's
   * [property@GCurl.Multi:allowed-protocols]. A list libcurl does not
   * accept is refused with a critical.
   *
   * Since: 1.0
   */
  properties[PROP_ALLOWED_PROTOCOLS] =
    g_param_spec_string ("allowed-protocols", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY |
                         G_PARAM_STATIC_STRINGS);

  /**
   * GCurlTransfer:max-redirects:
   *
   * How many redirects this transfer follows (0: none, the 3xx response is
   * the result), or -1 for its multi's [property@GCurl.Multi:max-redirects].
   * A change applies from the next run.
   *
   * Since: 1.0
   */
  properties[PROP_MAX_REDIRECTS] =
    g_param_spec_int ("max-redirects", NULL, NULL, -1, G_MAXINT, -1,
                      G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY |
                      G_PARAM_STATIC_STRINGS);

  /**
   * GCurlTransfer:stall-timeout:
   *
   * Seconds without a byte received, once the request is sent, after which
   * this transfer fails with %G_CURL_ERROR_OPERATION_TIMEDOUT; 0 for never,
   * -1 for its multi's [property@GCurl.Multi:stall-timeout]. A change
   * applies from the next run.
   *
   * Since: 1.0
   */
  properties[PROP_STALL_TIMEOUT] =
    g_param_spec_int ("stall-timeout", NULL, NULL, -1, G_MAXINT, -1,
                      G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY |
                      G_PARAM_STATIC_STRINGS);

  /**
   * GCurlTransfer:connect-timeout:
   *
   * Seconds the connection (name lookup, TCP and TLS handshakes included)
   * may take before the transfer fails with
   * %G_CURL_ERROR_OPERATION_TIMEDOUT; 0 for libcurl's default, 300.
   *
   * Since: 1.0
   */
  properties[PROP_CONNECT_TIMEOUT] =
    g_param_spec_uint ("connect-timeout", NULL, NULL, 0, G_MAXINT, 0,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY |
                       G_PARAM_STATIC_STRINGS);

  /**
   * GCurlTransfer:timeout:
   *
   * Seconds each request of this transfer (each redirect is one) may take
   * in all before it fails with %G_CURL_ERROR_OPERATION_TIMEDOUT; 0 for no
   * limit. For downloads of any size,
   * [property@GCurl.Transfer:stall-timeout] is usually what you want.
   *
   * Since: 1.0
   */
  properties[PROP_TIMEOUT] =
    g_param_spec_uint ("timeout", NULL, NULL, 0, G_MAXINT, 0,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY |
                       G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * GCurlTransfer::progress:
   * @self: the transfer
   * @downloaded: bytes of the response body received (for a 206, counted
   *   from the start of the resource)
   * @download_size: size of the response body (for a 206, of the whole
   *   resource), -1 if not known
   * @uploaded: bytes of the request body sent
   * @upload_size: size of the request body, -1 if not known or none
   *
   * Emitted from the multi's main context while the transfer moves, at most
   * once per [property@GCurl.Multi:progress-interval], and once more with
   * the final figures just before [signal@GCurl.Transfer::finished].
   *
   * Since: 1.0
   */
  signals[SIGNAL_PROGRESS] =
    g_signal_new ("progress", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 4,
                  G_TYPE_INT64, G_TYPE_INT64, G_TYPE_INT64, G_TYPE_INT64);

  /**
   * GCurlTransfer::got-headers:
   * @self: the transfer
   *
   * Emitted once per run when the status and headers of the final response
   * (after redirects) are known: read them with
   * [method@GCurl.Transfer.get_status_code] and
   * [method@GCurl.Transfer.get_response_header].
   *
   * Since: 1.0
   */
  signals[SIGNAL_GOT_HEADERS] =
    g_signal_new ("got-headers", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  /**
   * GCurlTransfer::finished:
   * @self: the transfer
   *
   * Emitted exactly once per run, from the multi's main context, when the
   * transfer has succeeded, failed or been cancelled: read
   * [method@GCurl.Transfer.get_state] and [method@GCurl.Transfer.get_error].
   * It is never emitted from inside [method@GCurl.Transfer.cancel] or
   * [method@GCurl.Multi.add_transfer]. The multi drops its reference to the
   * transfer after the emission.
   *
   * Since: 1.0
   */
  signals[SIGNAL_FINISHED] =
    g_signal_new ("finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

/* The options every run shares, set once per handle (see
 * g_curl_transfer_get_handle() for why applications leave them alone). */
static void
set_constant_options (GCurlTransfer *self)
{
  CURL *h = self->handle;

  if (h == NULL)
    return;

  curl_easy_setopt (h, CURLOPT_ERRORBUFFER, self->error_buffer);
  curl_easy_setopt (h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (h, CURLOPT_WRITEFUNCTION, write_cb);
  curl_easy_setopt (h, CURLOPT_WRITEDATA, self);
  curl_easy_setopt (h, CURLOPT_HEADERFUNCTION, header_cb);
  curl_easy_setopt (h, CURLOPT_HEADERDATA, self);
  curl_easy_setopt (h, CURLOPT_READFUNCTION, read_cb);
  curl_easy_setopt (h, CURLOPT_READDATA, self);
  curl_easy_setopt (h, CURLOPT_SEEKFUNCTION, seek_cb);
  curl_easy_setopt (h, CURLOPT_SEEKDATA, self);
  curl_easy_setopt (h, CURLOPT_PREREQFUNCTION, prereq_cb);
  curl_easy_setopt (h, CURLOPT_PREREQDATA, self);
  curl_easy_setopt (h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt (h, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt (h, CURLOPT_SSL_VERIFYHOST, 2L);
}

static void
g_curl_transfer_init (GCurlTransfer *self)
{
  self->handle = curl_easy_init ();
  set_constant_options (self);
  g_curl_memory_sink_init (&self->memory);
  self->sink = &self->memory.parent;
  self->download_size = -1;
  self->upload_size = -1;
  g_curl_progress_init (&self->progress);
  g_curl_run_init (&self->run, &run_funcs, G_OBJECT (self), self->handle);
  g_curl_upload_init (&self->upload, &upload_funcs, G_OBJECT (self));
}

/**
 * g_curl_transfer_new:
 * @url: the URL to request
 *
 * Creates a transfer of @url, to run with [method@GCurl.Multi.add_transfer].
 *
 * The URL is checked when the transfer runs: an invalid one makes it fail
 * with %G_CURL_ERROR_URL_MALFORMAT, a scheme that is not allowed with
 * %G_CURL_ERROR_UNSUPPORTED_PROTOCOL.
 *
 * Returns: (transfer full): a new transfer
 *
 * Since: 1.0
 */
GCurlTransfer *
g_curl_transfer_new (const char *url)
{
  g_return_val_if_fail (url != NULL, NULL);

  return g_object_new (G_CURL_TYPE_TRANSFER, "url", url, NULL);
}

/**
 * g_curl_transfer_get_url:
 * @self: a transfer
 *
 * Gets the URL the transfer requests.
 *
 * Returns: (transfer none): the URL given to [ctor@GCurl.Transfer.new]
 *
 * Since: 1.0
 */
const char *
g_curl_transfer_get_url (GCurlTransfer *self)
{
  g_return_val_if_fail (G_CURL_IS_TRANSFER (self), NULL);

  return self->url;
}

/**
 * g_curl_transfer_get_handle: (skip)
 * @self: a transfer
 *
 * Gets the libcurl easy handle of the transfer, to set options the
 * library has no API for, before the transfer is added to a multi.
 *
 * Do not set the options the library relies on, which it sets once when
 * the transfer is made: `CURLOPT_PRIVATE`, `CURLOPT_ERRORBUFFER`,
 * `CURLOPT_NOSIGNAL`, `CURLOPT_FOLLOWLOCATION`, `CURLOPT_SSL_VERIFYPEER`,
 * `CURLOPT_SSL_VERIFYHOST`, and the write, header, read, seek,
 * pre-request, open-socket and close-socket callbacks and their data.
 *
 * These are set from the transfer's and its multi's settings when it
 * starts, and replace a value set here: `CURLOPT_URL`, the method and body
 * options (`CURLOPT_HTTPGET`, `CURLOPT_NOBODY`, `CURLOPT_CUSTOMREQUEST`,
 * `CURLOPT_POST*`), `CURLOPT_HTTPHEADER`, and when they change,
 * `CURLOPT_USERAGENT`, `CURLOPT_PROTOCOLS_STR`,
 * `CURLOPT_REDIR_PROTOCOLS_STR`, `CURLOPT_CAINFO`, `CURLOPT_CAPATH`,
 * `CURLOPT_CONNECTTIMEOUT` and `CURLOPT_TIMEOUT`; `CURLOPT_PROXY` and
 * `CURLOPT_NOPROXY` once a proxy was chosen; `CURLOPT_PIPEWAIT` for an
 * `https` URL (see [property@GCurl.Multi:multiplex]). A transfer whose body
 * is streamed ([method@GCurl.Multi.send_async],
 * [method@GCurl.Multi.download_async]) gets a 256 KiB
 * `CURLOPT_BUFFERSIZE`; [method@GCurl.Multi.download_async] sets
 * `CURLOPT_RESUME_FROM_LARGE` and `CURLOPT_FILETIME` while it runs.
 *
 * Options that libcurl acts on itself are fine: with `CURLOPT_HTTPAUTH`
 * and `CURLOPT_USERPWD` (or their proxy counterparts), the challenge that
 * libcurl answers is not reported; the response to its authenticated
 * request is.
 *
 * Returns: (transfer none): the easy handle, owned by @self
 *
 * Since: 1.0
 */
CURL *
g_curl_transfer_get_handle (GCurlTransfer *self)
{
  g_return_val_if_fail (G_CURL_IS_TRANSFER (self), NULL);

  return self->handle;
}

/**
 * g_curl_transfer_get_method:
 * @self: a transfer
 *
 * Gets the HTTP method the transfer uses.
 *
 * Returns: (transfer none): the method set with
 *   [method@GCurl.Transfer.set_method], or `GET` (`POST` with a body)
 *
 * Since: 1.0
 */
const char *
g_curl_transfer_get_method (GCurlTransfer *self)
{
  g_return_val_if_fail (G_CURL_IS_TRANSFER (self), NULL);

  if (self->method != NULL)
    return self->method;
  return self->request_body != NULL || self->upload.stream != NULL ? "POST" : "GET";
}

/**
 * g_curl_transfer_set_method:
 * @self: a transfer that is not running
 * @method: (nullable): an HTTP method such as `GET`, `POST`, `PUT`,
 *   `DELETE` or `HEAD`, or %NULL for the default
 *
 * Sets the HTTP method. By default a transfer sends `GET`, or `POST` when
 * it has a request body. `HEAD` asks for the headers only. A method that
 * is not an HTTP token is a programmer error, refused with a critical.
 *
 * Since: 1.0
 */
void
g_curl_transfer_set_method (GCurlTransfer *self,
                            const char    *method)
{
  g_return_if_fail (G_CURL_IS_TRANSFER (self));
  g_return_if_fail (method == NULL || g_curl_header_name_is_valid (method));
  g_return_if_fail (!state_is_running (self->state));

  if (g_strcmp0 (self->method, method) == 0)
    return;

  g_free (self->method);
  self->method = g_strdup (method);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_METHOD]);
}

/* A header of the library's own features (download_async's Range and
 * If-Range): unlike the application's, it is sent on every request of the
 * run, to whatever origin a redirect leads (a mirror or CDN link must
 * still fetch only the rest), and replaces an application header of the
 * same name. @name and @value are the library's, so valid. */
void
g_curl_transfer_set_library_header (GCurlTransfer *self,
                                    const char    *name,
                                    const char    *value)
{
  g_assert (!state_is_running (self->state));
  g_assert (g_curl_header_name_is_valid (name) && (value == NULL || g_curl_header_value_is_valid (value)));

  g_curl_header_list_set (&self->library_headers, name, value);
}

/* The size of the body (of the whole resource, for a continuation) as the
 * final response's headers announced it, -1 if unknown; unlike
 * g_curl_transfer_get_download_size(), known from "got-headers" on. */
gint64
g_curl_transfer_get_expected_size (GCurlTransfer *self)
{
  return self->download_size;
}

/* Whether the next run must open a new connection (CURLOPT_FRESH_CONNECT):
 * download_async's retries, which must not land on the connection that
 * failed. */
void
g_curl_transfer_set_fresh_connect (GCurlTransfer *self,
                                   gboolean       fresh)
{
  g_assert (!state_is_running (self->state));

  if (self->fresh_connect == fresh)
    return;
  curl_easy_setopt (self->handle, CURLOPT_FRESH_CONNECT, (long) fresh);
  self->fresh_connect = fresh;
}

gint64
g_curl_transfer_get_last_activity (GCurlTransfer *self)
{
  return self->stall.last_activity;
}

/* The offset download_async resumes a protocol other than HTTP at
 * (CURLOPT_RESUME_FROM_LARGE; HTTP has Range), 0 for none, and whether
 * libcurl learns the file's time (CURLOPT_FILETIME: an MDTM command for
 * FTP), which download_async keeps to tell a changed file. */
void
g_curl_transfer_set_resume_from (GCurlTransfer *self,
                                 gint64         offset,
                                 gboolean       filetime)
{
  g_assert (!state_is_running (self->state));

  self->resume_from = offset;
  curl_easy_setopt (self->handle, CURLOPT_RESUME_FROM_LARGE, (curl_off_t) offset);
  curl_easy_setopt (self->handle, CURLOPT_FILETIME, (long) filetime);
}

/**
 * g_curl_transfer_set_request_header:
 * @self: a transfer that is not running
 * @name: a header name: an HTTP token such as `Accept` or `X-Api-Key`
 * @value: (nullable): its value, without CR or LF; %NULL removes the header
 *
 * Sets a request header, replacing any earlier value of the same name
 * (compared without case).
 *
 * A name that is not an HTTP token, or a value containing CR or LF, is a
 * programmer error: it is refused with a critical and never sent.
 *
 * Headers set here are sent to the origin of the URL only: when a redirect
 * leads to another origin (scheme, host or port), they are not sent there.
 *
 * Since: 1.0
 */
void
g_curl_transfer_set_request_header (GCurlTransfer *self,
                                    const char    *name,
                                    const char    *value)
{
  g_return_if_fail (G_CURL_IS_TRANSFER (self));
  g_return_if_fail (g_curl_header_name_is_valid (name));
  g_return_if_fail (value == NULL || g_curl_header_value_is_valid (value));
  g_return_if_fail (!state_is_running (self->state));

  g_curl_header_list_set (&self->request_headers, name, value);
}

/**
 * g_curl_transfer_set_request_body:
 * @self: a transfer that is not running
 * @body: (nullable): the request body, or %NULL for none
 * @content_type: (nullable): its media type; %NULL for
 *   `application/octet-stream`
 *
 * Sets the body to send. The method becomes `POST` unless
 * [method@GCurl.Transfer.set_method] chose another.
 *
 * Since: 1.0
 */
void
g_curl_transfer_set_request_body (GCurlTransfer *self,
                                  GBytes        *body,
                                  const char    *content_type)
{
  g_return_if_fail (G_CURL_IS_TRANSFER (self));
  g_return_if_fail (content_type == NULL || g_curl_header_value_is_valid (content_type));
  g_return_if_fail (!state_is_running (self->state));

  g_clear_pointer (&self->request_body, g_bytes_unref);
  g_curl_upload_set_stream (&self->upload, NULL, -1);
  g_clear_pointer (&self->content_type, g_free);
  if (body != NULL)
    {
      self->request_body = g_bytes_ref (body);
      self->content_type = g_strdup (content_type ? content_type
                                                  : "application/octet-stream");
    }
}

/**
 * g_curl_transfer_set_request_stream:
 * @self: a transfer that is not running
 * @stream: (nullable): the stream to send as the request body, or %NULL
 *   for none
 * @length: the number of bytes @stream gives, or -1 if not known: the body
 *   is then sent with chunked encoding
 *
 * Sets a body of any size to send, read from @stream as the upload goes,
 * without holding it in memory: it is read asynchronously, a few hundred
 * KiB ahead, and the transfer waits while no data is ready. The method
 * becomes `POST` unless [method@GCurl.Transfer.set_method] chose another.
 * The media type is `application/octet-stream` unless a `Content-Type`
 * request header is set.
 *
 * @stream is read from the transfer's main context. To run the transfer
 * again, or to follow a 307 or 308 redirect, @stream must be a `GSeekable`
 * that can seek back to offset 0, where the body is sent from again;
 * otherwise that fails with %G_CURL_ERROR_SEND_FAIL_REWIND. A read error fails the transfer with
 * that error.
 *
 * Since: 1.0
 */
void
g_curl_transfer_set_request_stream (GCurlTransfer *self,
                                    GInputStream  *stream,
                                    gint64         length)
{
  g_return_if_fail (G_CURL_IS_TRANSFER (self));
  g_return_if_fail (stream == NULL || G_IS_INPUT_STREAM (stream));
  g_return_if_fail (length >= -1);
  g_return_if_fail (!state_is_running (self->state));

  g_clear_pointer (&self->request_body, g_bytes_unref);
  g_curl_upload_set_stream (&self->upload, stream, length);
  g_clear_pointer (&self->content_type, g_free);
  if (stream != NULL)
    self->content_type = g_strdup ("application/octet-stream");
}

/**
 * g_curl_transfer_get_state:
 * @self: a transfer
 *
 * Gets where the transfer is in its run.
 *
 * Returns: the state
 *
 * Since: 1.0
 */
GCurlTransferState
g_curl_transfer_get_state (GCurlTransfer *self)
{
  g_return_val_if_fail (G_CURL_IS_TRANSFER (self), G_CURL_TRANSFER_STATE_NEW);

  return self->state;
}

/**
 * g_curl_transfer_get_status_code:
 * @self: a transfer
 *
 * Gets the HTTP status of the final response. A status of 400 or more is
 * not a failure of the transfer: the response is there to read.
 *
 * Returns: the status, or 0 before [signal@GCurl.Transfer::got-headers]
 *
 * Since: 1.0
 */
guint
g_curl_transfer_get_status_code (GCurlTransfer *self)
{
  g_return_val_if_fail (G_CURL_IS_TRANSFER (self), 0);

  return self->headers_pending ? 0 : self->status_code;
}

/**
 * g_curl_transfer_get_response_header:
 * @self: a transfer
 * @name: a header name, compared without case
 *
 * Gets a header of the final response, once
 * [signal@GCurl.Transfer::got-headers] was emitted. A header the response
 * had several times is returned as one comma-separated list.
 *
 * Returns: (transfer none) (nullable): the value, or %NULL if the response
 *   has no such header
 *
 * Since: 1.0
 */
const char *
g_curl_transfer_get_response_header (GCurlTransfer *self,
                                     const char    *name)
{
  g_return_val_if_fail (G_CURL_IS_TRANSFER (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  if (!self->headers_final || self->headers_pending)
    return NULL;

  return lookup_response_header (self, name);
}

/**
 * g_curl_transfer_get_body:
 * @self: a transfer
 *
 * Gets the response body collected in memory, once the transfer has
 * succeeded.
 *
 * Returns: (transfer full) (nullable): the body, or %NULL unless the state
 *   is %G_CURL_TRANSFER_STATE_SUCCEEDED
 *
 * Since: 1.0
 */
GBytes *
g_curl_transfer_get_body (GCurlTransfer *self)
{
  g_return_val_if_fail (G_CURL_IS_TRANSFER (self), NULL);

  if (self->body_bytes == NULL)
    return NULL;

  return g_bytes_ref (self->body_bytes);
}

/**
 * g_curl_transfer_get_error:
 * @self: a transfer
 *
 * Gets why the transfer failed or that it was cancelled: a %G_CURL_ERROR
 * with libcurl's detailed message, or %G_IO_ERROR_CANCELLED.
 *
 * Returns: (transfer none) (nullable): the error, or %NULL unless the state
 *   is %G_CURL_TRANSFER_STATE_FAILED or %G_CURL_TRANSFER_STATE_CANCELLED
 *
 * Since: 1.0
 */
const GError *
g_curl_transfer_get_error (GCurlTransfer *self)
{
  g_return_val_if_fail (G_CURL_IS_TRANSFER (self), NULL);

  if (self->state != G_CURL_TRANSFER_STATE_FAILED &&
      self->state != G_CURL_TRANSFER_STATE_CANCELLED)
    return NULL;

  return self->error;
}

/**
 * g_curl_transfer_get_downloaded_bytes:
 * @self: a transfer
 *
 * Gets how many bytes of the response body have arrived, as of the last
 * [signal@GCurl.Transfer::progress].
 *
 * Returns: the byte count
 *
 * Since: 1.0
 */
gint64
g_curl_transfer_get_downloaded_bytes (GCurlTransfer *self)
{
  g_return_val_if_fail (G_CURL_IS_TRANSFER (self), 0);

  return self->progress.downloaded;
}

/**
 * g_curl_transfer_get_download_size:
 * @self: a transfer
 *
 * Gets the size of the response body, from its `Content-Length`.
 *
 * Returns: the size in bytes, or -1 when it is not known
 *
 * Since: 1.0
 */
gint64
g_curl_transfer_get_download_size (GCurlTransfer *self)
{
  g_return_val_if_fail (G_CURL_IS_TRANSFER (self), -1);

  return self->progress.download_size;
}

/**
 * g_curl_transfer_get_uploaded_bytes:
 * @self: a transfer
 *
 * Gets how many bytes of the request body have been sent.
 *
 * Returns: the byte count
 *
 * Since: 1.0
 */
gint64
g_curl_transfer_get_uploaded_bytes (GCurlTransfer *self)
{
  g_return_val_if_fail (G_CURL_IS_TRANSFER (self), 0);

  return self->progress.uploaded;
}

/**
 * g_curl_transfer_get_upload_size:
 * @self: a transfer
 *
 * Gets the size of the request body.
 *
 * Returns: the size in bytes, or -1 when there is none or it is not known
 *
 * Since: 1.0
 */
gint64
g_curl_transfer_get_upload_size (GCurlTransfer *self)
{
  g_return_val_if_fail (G_CURL_IS_TRANSFER (self), -1);

  return self->progress.upload_size;
}

/**
 * g_curl_transfer_get_fraction:
 * @self: a transfer
 *
 * Gets how much of the response body has arrived.
 *
 * Returns: a number from 0 to 1; 1 once the transfer has succeeded
 *
 * Since: 1.0
 */
double
g_curl_transfer_get_fraction (GCurlTransfer *self)
{
  g_return_val_if_fail (G_CURL_IS_TRANSFER (self), 0.0);

  return self->progress.fraction;
}

/**
 * g_curl_transfer_get_download_speed:
 * @self: a transfer
 *
 * Gets the recent download speed.
 *
 * Returns: bytes per second
 *
 * Since: 1.0
 */
gint64
g_curl_transfer_get_download_speed (GCurlTransfer *self)
{
  g_return_val_if_fail (G_CURL_IS_TRANSFER (self), 0);

  return self->progress.speed;
}

/**
 * g_curl_transfer_get_time_remaining:
 * @self: a transfer
 *
 * Estimates how long until the response body has arrived.
 *
 * Returns: seconds, or -1 when the size or the speed is not known
 *
 * Since: 1.0
 */
gint64
g_curl_transfer_get_time_remaining (GCurlTransfer *self)
{
  g_return_val_if_fail (G_CURL_IS_TRANSFER (self), -1);

  return self->progress.time_remaining;
}

/**
 * g_curl_transfer_get_max_download_speed:
 * @self: a transfer
 *
 * Gets the download speed limit.
 *
 * Returns: bytes per second, 0 for no limit
 *
 * Since: 1.0
 */
gint64
g_curl_transfer_get_max_download_speed (GCurlTransfer *self)
{
  g_return_val_if_fail (G_CURL_IS_TRANSFER (self), 0);

  return self->max_download_speed;
}

/**
 * g_curl_transfer_set_max_download_speed:
 * @self: a transfer
 * @bytes_per_second: the limit, 0 for none
 *
 * Limits the download speed of the transfer; it may be changed while the
 * transfer runs and takes effect at once.
 *
 * Since: 1.0
 */
void
g_curl_transfer_set_max_download_speed (GCurlTransfer *self,
                                        gint64         bytes_per_second)
{
  g_return_if_fail (G_CURL_IS_TRANSFER (self));
  g_return_if_fail (bytes_per_second >= 0);

  if (self->max_download_speed == bytes_per_second)
    return;

  self->max_download_speed = bytes_per_second;
  /* Measure the new rate from now on. */
  g_curl_rate_limit_reset (&self->rate);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_DOWNLOAD_SPEED]);
}

/* Lets libcurl deliver the data it held since the write callback returned
 * CURL_WRITEFUNC_PAUSE. That happens at once, through write_cb, which only
 * records it; this is never called from inside a libcurl callback, where
 * neither application code nor the multi's flush runs. */
static void
unpause_in_curl (GCurlTransfer *self)
{
  CURLcode code;

  if (self->run.engine == NULL)
    return;

  self->paused_in_curl = FALSE;
  GCURL_DEBUG ("%p %s: unpaused in libcurl", self, shown_url (self));
  /* Held back until now by something that is not the peer's fault. */
  g_curl_stall_restart_timeout (&self->stall, g_get_monotonic_time ());
  mark_dirty (self);
  code = curl_easy_pause (self->handle, CURLPAUSE_CONT);
  if (code != CURLE_OK)
    g_curl_engine_end_run (&self->run, g_curl_error_new_from_code (code, self->error_buffer));
  else
    g_curl_engine_wake (&self->run);
}

/**
 * g_curl_transfer_set_expected_checksum:
 * @self: a transfer
 * @type: the checksum's algorithm
 * @hex_digest: (nullable): the checksum as hexadecimal digits, or %NULL to
 *   check nothing
 *
 * Sets the checksum the downloaded file must have:
 * [method@GCurl.Multi.download_async] checks it before it gives the file
 * its name, and fails with %G_IO_ERROR_INVALID_DATA on a mismatch.
 *
 * Since: 1.0
 */
void
g_curl_transfer_set_expected_checksum (GCurlTransfer *self,
                                       GChecksumType  type,
                                       const char    *hex_digest)
{
  g_return_if_fail (G_CURL_IS_TRANSFER (self));
  g_return_if_fail (hex_digest == NULL || g_checksum_type_get_length (type) > 0);
  g_return_if_fail (hex_digest == NULL ||
                    strlen (hex_digest) == (gsize) g_checksum_type_get_length (type) * 2);

  g_free (self->expected_checksum);
  self->expected_checksum = g_strdup (hex_digest);
  self->checksum_type = type;
}

const char *
g_curl_transfer_get_expected_checksum (GCurlTransfer *self,
                                       GChecksumType *type)
{
  *type = self->checksum_type;
  return self->expected_checksum;
}

/**
 * g_curl_transfer_get_timings:
 * @self: a transfer
 *
 * Gets how long the steps of the transfer's last request took: name
 * lookup, connection, TLS handshake, first byte and total, and the time
 * spent in redirects before it. Read it once
 * [signal@GCurl.Transfer::finished] was emitted; during a run it describes
 * the request so far.
 *
 * Returns: (transfer full) (nullable): the timings, or %NULL if the
 *   transfer never ran
 *
 * Since: 1.0
 */
GCurlTimings *
g_curl_transfer_get_timings (GCurlTransfer *self)
{
  g_return_val_if_fail (G_CURL_IS_TRANSFER (self), NULL);

  if (self->state == G_CURL_TRANSFER_STATE_NEW)
    return NULL;

  return g_curl_timings_new_for_handle (self->handle, self->redirect_time);
}

/**
 * g_curl_transfer_pause:
 * @self: a transfer
 *
 * Stops receiving the response until [method@GCurl.Transfer.resume]. The
 * state becomes %G_CURL_TRANSFER_STATE_PAUSED at once; data already on its
 * way is kept, not lost. A paused transfer is not timed out as stalled.
 *
 * Pausing a transfer that is not running does nothing.
 *
 * Since: 1.0
 */
void
g_curl_transfer_pause (GCurlTransfer *self)
{
  g_return_if_fail (G_CURL_IS_TRANSFER (self));

  if (self->state != G_CURL_TRANSFER_STATE_RUNNING || self->run.completed)
    return;

  /* Applied by the write callback, which works before a connection exists
   * (curl_easy_pause() then fails with CURLE_BAD_FUNCTION_ARGUMENT). */
  self->pause_requested = TRUE;
  GCURL_DEBUG ("%p %s: paused", self, shown_url (self));
  set_state (self, G_CURL_TRANSFER_STATE_PAUSED);
}

/**
 * g_curl_transfer_resume:
 * @self: a transfer
 *
 * Continues a transfer paused with [method@GCurl.Transfer.pause]. Resuming
 * a transfer that is not paused does nothing.
 *
 * Since: 1.0
 */
void
g_curl_transfer_resume (GCurlTransfer *self)
{
  g_return_if_fail (G_CURL_IS_TRANSFER (self));

  /* A paused transfer is running, so its multi keeps it alive through
   * the notifications below. */
  if (self->state != G_CURL_TRANSFER_STATE_PAUSED)
    return;

  self->pause_requested = FALSE;
  GCURL_DEBUG ("%p %s: resumed (held by libcurl: %d)", self, shown_url (self),
               self->paused_in_curl);
  /* The stall timeout counts from now, and the watchdog must learn when
   * it ends even if nothing arrives: from the flush after the next
   * dispatch, which the wake makes sure of. */
  g_curl_stall_restart_timeout (&self->stall, g_get_monotonic_time ());
  mark_dirty (self);
  g_curl_engine_wake (&self->run);
  set_state (self, G_CURL_TRANSFER_STATE_RUNNING);

  if (self->paused_in_curl)
    unpause_in_curl (self);
}

/**
 * g_curl_transfer_cancel:
 * @self: a transfer
 *
 * Stops a running or paused transfer. Its state becomes
 * %G_CURL_TRANSFER_STATE_CANCELLED at once, and its error
 * %G_IO_ERROR_CANCELLED; [signal@GCurl.Transfer::finished] follows from the
 * multi's main context, never from inside this call.
 *
 * Cancelling a transfer that is not running, or whose result is already
 * known, does nothing.
 *
 * Since: 1.0
 */
void
g_curl_transfer_cancel (GCurlTransfer *self)
{
  g_return_if_fail (G_CURL_IS_TRANSFER (self));

  if (!state_is_running (self->state) || self->run.completed || self->run.engine == NULL)
    return;

  g_curl_engine_end_run (&self->run, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                          _("Operation was cancelled")));
}

/* Internal API for GCurlMulti. */

static void
build_header_list (GCurlTransfer *self)
{
  gboolean have_content_type = FALSE;

  g_clear_pointer (&self->header_list, curl_slist_free_all);

  /* The library's own headers replace the application's of the same name,
   * and follow every redirect. */
  if (self->send_headers)
    {
      self->header_list = g_curl_header_list_append_to (self->request_headers, NULL,
                                                        self->library_headers);
      have_content_type = g_curl_header_list_has (self->request_headers, "Content-Type") &&
                          !g_curl_header_list_has (self->library_headers, "Content-Type");
    }
  self->header_list = g_curl_header_list_append_to (self->library_headers, self->header_list,
                                                    NULL);

  if (self->send_body && !have_content_type)
    {
      g_autofree char *line = g_strconcat ("Content-Type: ", self->content_type, NULL);

      self->header_list = curl_slist_append (self->header_list, line);
    }

  /* No "Expect: 100-continue": it costs a round trip (or a 1 s wait on
   * servers that ignore it) for no gain on bodies held in memory. */
  if (self->send_body)
    self->header_list = curl_slist_append (self->header_list, "Expect:");
}

/* (Re)configures the easy handle for the next request of this run: the
 * first one, or the one a redirect leads to. */
static void
configure_request (GCurlTransfer *self)
{
  CURL *h = self->handle;
  const char *method = self->current_method;

  curl_easy_setopt (h, CURLOPT_URL, current_url (self));

  /* Reset what a previous request may have set. */
  curl_easy_setopt (h, CURLOPT_NOBODY, 0L);
  curl_easy_setopt (h, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt (h, CURLOPT_CUSTOMREQUEST, NULL);

  if (self->send_body && self->upload.stream != NULL)
    {
      /* No POSTFIELDS: libcurl reads the body through read_cb, and sends
       * it chunked when the size is not known (-1). */
      curl_easy_setopt (h, CURLOPT_POST, 1L);
      curl_easy_setopt (h, CURLOPT_POSTFIELDS, NULL);
      curl_easy_setopt (h, CURLOPT_POSTFIELDSIZE_LARGE,
                        (curl_off_t) self->upload.length);
      if (g_strcmp0 (method, "POST") != 0)
        curl_easy_setopt (h, CURLOPT_CUSTOMREQUEST, method);
    }
  else if (self->send_body)
    {
      curl_easy_setopt (h, CURLOPT_POSTFIELDSIZE_LARGE,
                        (curl_off_t) g_bytes_get_size (self->request_body));
      curl_easy_setopt (h, CURLOPT_POSTFIELDS,
                        g_bytes_get_data (self->request_body, NULL));
      if (g_strcmp0 (method, "POST") != 0)
        curl_easy_setopt (h, CURLOPT_CUSTOMREQUEST, method);
    }
  else if (g_strcmp0 (method, "HEAD") == 0)
    curl_easy_setopt (h, CURLOPT_NOBODY, 1L);
  else if (g_strcmp0 (method, "GET") != 0)
    curl_easy_setopt (h, CURLOPT_CUSTOMREQUEST, method);

  build_header_list (self);
  curl_easy_setopt (h, CURLOPT_HTTPHEADER, self->header_list);
}

static void
reset_response (GCurlTransfer *self)
{
  clear_response_headers (self);
  g_curl_memory_sink_reset (&self->memory, self->max_body_size);
  g_clear_pointer (&self->body_bytes, g_bytes_unref);
  self->status_code = 0;
  self->downloaded = 0;
  self->download_size = -1;
  self->headers_final = FALSE;
  self->headers_tentative = FALSE;
  self->headers_pending = FALSE;
  self->redirecting = FALSE;
  self->is_http2 = FALSE;
  self->cannot_pause = FALSE;
  self->error_buffer[0] = '\0';
}

/* Starts a run of the transfer in @engine, with @defaults (its multi's
 * settings). Returns TRUE if it is ready for g_curl_transfer_submit();
 * otherwise the run has ended with the error why. */
gboolean
g_curl_transfer_start (GCurlTransfer             *self,
                       GCurlEngine               *engine,
                       const GCurlRequestOptions *defaults)
{
  GCurlRequestOptions effective;
  g_autoptr(GError) local_error = NULL;
  GError **error = &local_error;
  gboolean pipewait;
  guint changed;

  g_curl_request_options_merge (defaults, self->options, &effective);

  g_clear_error (&self->error);
  reset_response (self);
  self->run_number++;
  g_curl_engine_start_run (engine, &self->run);
  self->n_redirects = 0;
  self->max_redirects = (guint) effective.max_redirects;
  self->stall_timeout = (guint) MIN (effective.stall_timeout, G_MAXUINT);
  self->max_body_size = effective.max_body_size;
  g_curl_memory_sink_reset (&self->memory, self->max_body_size);
  self->redirect_time = 0;
  self->activity = 0;
  g_curl_stall_reset (&self->stall, 0, g_get_monotonic_time ());
  self->pause_requested = FALSE;
  self->paused_in_curl = FALSE;
  self->active = FALSE;
  g_curl_rate_limit_reset (&self->rate);
  self->sink_paused = FALSE;
  if (self->request_body != NULL)
    self->upload_size = (gint64) g_bytes_get_size (self->request_body);
  else if (self->upload.stream != NULL)
    self->upload_size = self->upload.length;
  else
    self->upload_size = -1;
  g_clear_pointer (&self->redirect_url, g_free);
  g_clear_pointer (&self->shown_url, g_free);
  self->current_method = g_curl_transfer_get_method (self);
  self->send_body = self->request_body != NULL || self->upload.stream != NULL;
  self->send_headers = TRUE;

  changed = 1u << PROP_STATUS_CODE;
  if (self->state != G_CURL_TRANSFER_STATE_RUNNING)
    {
      self->state = G_CURL_TRANSFER_STATE_RUNNING;
      changed |= 1u << PROP_STATE;
    }
  changed |= progress_props (g_curl_progress_reset (&self->progress));
  notify_props (self, changed);

  /* Set only when it changes: the buffer is reallocated every time. */
  if (self->sink->funcs->buffer_size != self->buffer_size)
    {
      self->buffer_size = self->sink->funcs->buffer_size;
      curl_easy_setopt (self->handle, CURLOPT_BUFFERSIZE,
                        (long) (self->buffer_size > 0 ? self->buffer_size : CURL_MAX_WRITE_SIZE));
    }

  if (!g_curl_request_options_apply (defaults, self->options, &effective, self->handle,
                                     &self->applied, error))
    {
      g_curl_engine_end_run (&self->run, g_steal_pointer (&local_error));
      return FALSE;
    }

  /* An explicit proxy, the transfer's or the multi's, or libcurl's own
   * choice (its environment variables) until the multi's proxy resolver
   * has answered for this URL. */
  g_curl_transfer_set_proxy (self, effective.proxy);

  /* Wait for a connection in progress to the same origin to tell whether
   * it multiplexes, rather than open one more: only ALPN says so, so plain
   * http (HTTP/1.1 unless the application asked for more) never waits. */
  pipewait = effective.multiplex > 0 && g_ascii_strncasecmp (self->url, "https:", 6) == 0;
  if (pipewait != self->pipewait)
    {
      curl_easy_setopt (self->handle, CURLOPT_PIPEWAIT, (long) pipewait);
      self->pipewait = pipewait;
    }

  if (self->upload.stream != NULL && !upload_rewind (self, error))
    {
      g_curl_engine_end_run (&self->run, g_steal_pointer (&local_error));
      return FALSE;
    }

  configure_request (self);

  return TRUE;
}

/* Sets CURLOPT_PROXY; %NULL leaves the choice to libcurl. Nothing to do
 * for the common case, a handle that never had one. */
void
g_curl_transfer_set_proxy (GCurlTransfer *self,
                           const char    *proxy)
{
  if (proxy == NULL && !self->proxy_set)
    return;

  if (g_strcmp0 (self->proxy, proxy) != 0)
    {
      g_free (self->proxy);
      self->proxy = g_strdup (proxy);
    }

  curl_easy_setopt (self->handle, CURLOPT_PROXY, proxy);
  /* The choice is made: libcurl's no_proxy variable must not undo it. */
  curl_easy_setopt (self->handle, CURLOPT_NOPROXY, proxy != NULL ? "" : NULL);
  self->proxy_set = proxy != NULL;
}

void
g_curl_transfer_set_fail_on_http_error (GCurlTransfer *self,
                                        gboolean       fail)
{
  self->fail_on_http_error = fail;
}

guint
g_curl_transfer_get_run (GCurlTransfer *self)
{
  return self->run_number;
}

/* Whether the transfer names its own proxy (or none): then the multi's
 * proxy resolver is not asked. */
gboolean
g_curl_transfer_has_proxy (GCurlTransfer *self)
{
  return self->options != NULL && self->options->proxy != NULL;
}

/* The multi the transfer runs in (its engine's owner), or %NULL. */
GCurlMulti *
g_curl_transfer_get_multi (GCurlTransfer *self)
{
  return (GCurlMulti *) self->run.keepalive;
}

/* Whether the transfer runs in @engine now. */
gboolean
g_curl_transfer_is_running_in (GCurlTransfer *self,
                               GCurlEngine   *engine)
{
  return self->run.engine == engine && engine != NULL;
}

/* Hands a started run to libcurl (once its proxy is known). */
void
g_curl_transfer_submit (GCurlTransfer *self)
{
  g_curl_engine_submit (&self->run);
}

/* Ends the run with @error, whether libcurl still runs it or has just
 * completed it and its "finished" is yet to come. */
void
g_curl_transfer_end (GCurlTransfer *self,
                     GError        *error)
{
  g_curl_engine_end_run (&self->run, error);
}

/* The run record's transfer. */
static GCurlTransfer *
from_run (GCurlRun *run)
{
  return G_CURL_TRANSFER (run->object);
}

/* The speed limit allows more data now: let libcurl deliver what it held.
 * Called from the engine's flush, never from inside libcurl. */
static void
run_rate_resume (GCurlRun *run)
{
  GCurlTransfer *self = from_run (run);

  /* Paused by the application meanwhile: its resume() will do it. */
  if (!self->paused_in_curl || self->pause_requested || self->run.completed)
    return;

  unpause_in_curl (self);
}

gboolean
g_curl_transfer_is_completed (GCurlTransfer *self)
{
  return self->run.completed;
}

/* Records the outcome; "finished" is emitted later, from the engine's
 * flush. */
static void
transfer_fail (GCurlTransfer *self,
               GError        *error)
{
  g_clear_error (&self->error);
  self->error = error;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    set_state (self, G_CURL_TRANSFER_STATE_CANCELLED);
}

/* libcurl before 8.6 reports its own size limits as CURLE_OUT_OF_MEMORY,
 * with nothing in the error buffer: a request head (with its URL) over
 * 1 MiB, found once connected, or a response header line over
 * CURL_MAX_HTTP_HEADER (100 KiB), found after the first lines of the head.
 * "Out of memory" would send the application looking for a leak where
 * there is an overlong URL or a misbehaving server; libcurl 8.6 and later
 * say CURLE_TOO_LARGE, and so does this, with what was too large. Anything
 * else stays as it is: a socket the source could not watch, which it
 * reports as CURLE_OUT_OF_MEMORY too, fails before the connection is made
 * or before the response. Returns NULL when @result is not a size limit. */
static GError *
size_limit_error (GCurlTransfer *self,
                  CURLcode       result)
{
  long request_size = 0;
  long header_size = 0;
  curl_off_t connect_time = 0;

  if (result != CURLE_OUT_OF_MEMORY || self->error_buffer[0] != '\0' || !is_http (self) ||
      curl_version_info (CURLVERSION_NOW)->version_num >= 0x080600)
    return NULL;

  curl_easy_getinfo (self->handle, CURLINFO_REQUEST_SIZE, &request_size);
  curl_easy_getinfo (self->handle, CURLINFO_HEADER_SIZE, &header_size);
  curl_easy_getinfo (self->handle, CURLINFO_CONNECT_TIME_T, &connect_time);

  if (request_size == 0 && connect_time > 0)
    return g_error_new_literal (G_CURL_ERROR, G_CURL_ERROR_TOO_LARGE,
                                _("The request is larger than libcurl can send"));
  if (request_size > 0 && header_size > 0 && !self->headers_final)
    return g_error_new (G_CURL_ERROR, G_CURL_ERROR_TOO_LARGE,
                        _("A response header from %s is larger than the %u KiB libcurl takes"),
                        shown_url (self), (guint) (CURL_MAX_HTTP_HEADER / 1024));

  return NULL;
}

/* A failure that is the proxy's, not the server's: the proxy could not be
 * found or reached, or would not open the tunnel. libcurl's message says
 * "Couldn't connect to server" either way, which sends the user looking at
 * the wrong machine; the code stays libcurl's. Returns %NULL for any other
 * failure, or when no proxy was chosen by the library (one libcurl found
 * in the environment itself is not known here). */
static GError *
proxy_error (GCurlTransfer *self,
             CURLcode       result)
{
  g_autofree char *proxy = NULL;
  const char *detail;
  curl_off_t connect_time = 0;
  long connect_code = 0;

  if (self->proxy == NULL || self->proxy[0] == '\0')
    return NULL;

  proxy = g_curl_proxy_without_password (self->proxy);
  detail = self->error_buffer[0] != '\0' ? self->error_buffer : curl_easy_strerror (result);

  switch (result)
    {
    case CURLE_COULDNT_RESOLVE_PROXY:
      return g_error_new (G_CURL_ERROR, result, _("Could not find the proxy %s for %s: %s"),
                          proxy, shown_url (self), detail);
    case CURLE_COULDNT_CONNECT:
      return g_error_new (G_CURL_ERROR, result, _("Could not connect to the proxy %s for %s: %s"),
                          proxy, shown_url (self), detail);
    case CURLE_OPERATION_TIMEDOUT:
      curl_easy_getinfo (self->handle, CURLINFO_CONNECT_TIME_T, &connect_time);
      if (connect_time > 0)
        return NULL;
      return g_error_new (G_CURL_ERROR, result,
                          _("Timed out connecting to the proxy %s for %s: %s"),
                          proxy, shown_url (self), detail);
    case CURLE_PROXY:
      return g_error_new (G_CURL_ERROR, result, _("The proxy %s failed for %s: %s"),
                          proxy, shown_url (self), detail);
    default:
      curl_easy_getinfo (self->handle, CURLINFO_HTTP_CONNECTCODE, &connect_code);
      if (connect_code < 300)
        return NULL;
      return g_error_new (G_CURL_ERROR, result,
                          _("The proxy %s refused the connection to %s (HTTP %ld): %s"),
                          proxy, shown_url (self), connect_code, detail);
    }
}

static GCurlRunDoneAction
follow_redirect (GCurlTransfer *self)
{
  char *location = NULL;
  GCurlRedirectStep step = { 0, };
  long status = 0;

  if (self->n_redirects >= self->max_redirects)
    {
      g_autofree char *original = g_curl_url_without_password (self->url);

      transfer_fail (self, g_error_new (G_CURL_ERROR, G_CURL_ERROR_TOO_MANY_REDIRECTS,
                                               _("Maximum (%u) redirects followed from %s"),
                                               self->max_redirects, original));
      return G_CURL_RUN_FINISHED;
    }

  curl_easy_getinfo (self->handle, CURLINFO_REDIRECT_URL, &location);
  if (location == NULL)
    {
      transfer_fail (self, g_error_new (G_CURL_ERROR, G_CURL_ERROR_WEIRD_SERVER_REPLY,
                                               _("Redirect from %s to an unusable location"),
                                               shown_url (self)));
      return G_CURL_RUN_FINISHED;
    }

  curl_easy_getinfo (self->handle, CURLINFO_RESPONSE_CODE, &status);
  g_curl_redirect_next (current_url (self), location, (guint) status, self->current_method,
                        self->send_body, &step);
  /* Once at another origin, the application's headers never come back,
   * not even on a redirect back to the first one. */
  if (!step.same_origin)
    self->send_headers = FALSE;
  self->current_method = step.method;
  self->send_body = step.send_body;

  /* 307 and 308 send the body again. */
  if (self->send_body && self->upload.stream != NULL)
    {
      GError *error = NULL;

      if (!upload_rewind (self, &error))
        {
          g_curl_redirect_step_clear (&step);
          transfer_fail (self, error);
          return G_CURL_RUN_FINISHED;
        }
    }

  self->redirect_time += g_curl_timings_info (self->handle, CURLINFO_TOTAL_TIME_T);
  g_free (self->redirect_url);
  self->redirect_url = g_steal_pointer (&step.url);
  g_clear_pointer (&self->shown_url, g_free);
  self->n_redirects++;

  reset_response (self);
  configure_request (self);

  return G_CURL_RUN_RESTART;
}

static void
run_fail (GCurlRun *run,
          GError   *error)
{
  transfer_fail (from_run (run), error);
}

static GCurlRunDoneAction
run_done (GCurlRun *run,
          CURLcode  result)
{
  GCurlTransfer *self = from_run (run);

  if (result != CURLE_OK && self->upload.error != NULL)
    {
      /* The body's stream failed, not the network. */
      transfer_fail (self, g_error_copy (self->upload.error));
      return G_CURL_RUN_FINISHED;
    }

  if (result != CURLE_OK && self->memory.too_large)
    {
      g_autofree char *limit = g_format_size_full (self->max_body_size, G_FORMAT_SIZE_IEC_UNITS);

      transfer_fail (self, g_error_new (G_CURL_ERROR, G_CURL_ERROR_FILESIZE_EXCEEDED,
                                               _("The response from %s is larger than the "
                                                 "%s a body in memory may take"),
                                               shown_url (self), limit));
      return G_CURL_RUN_FINISHED;
    }

  if (result != CURLE_OK)
    {
      GError *error = size_limit_error (self, result);

      if (error == NULL)
        error = proxy_error (self, result);
      if (error == NULL)
        error = g_curl_error_new_from_code (result, self->error_buffer);
      transfer_fail (self, error);
      return G_CURL_RUN_FINISHED;
    }

  if (self->redirecting)
    return follow_redirect (self);

  /* A challenge libcurl did not answer (no credentials, or they failed)
   * and whose body was empty is the response. So is whatever another
   * protocol (file, ftp…, when allowed) gave without a byte of body: it has
   * no headers at all. */
  if (!self->headers_final && (self->headers_tentative || !is_http (self)))
    headers_become_final (self);

  /* libcurl 7.88 takes a response cut off inside its headers for a
   * complete one with no body: that would be a silently lost response. */
  if (!self->headers_final)
    {
      transfer_fail (self, g_error_new (G_CURL_ERROR, G_CURL_ERROR_PARTIAL_FILE,
                                               _("The connection to %s closed before the "
                                                 "response headers were complete"),
                                               shown_url (self)));
      return G_CURL_RUN_FINISHED;
    }

  /* For download_async, an error status is a failure of the transfer too
   * (416 is how a complete .part is recognised). */
  if (self->fail_on_http_error && self->status_code >= 400 && self->status_code != 416)
    {
      transfer_fail (self, g_error_new (G_CURL_ERROR, G_CURL_ERROR_HTTP_RETURNED_ERROR,
                                               _("The server answered HTTP %u for %s"),
                                               self->status_code, shown_url (self)));
      return G_CURL_RUN_FINISHED;
    }

  /* A body that went to another sink was never collected. */
  if (self->sink == &self->memory.parent)
    self->body_bytes = g_curl_memory_sink_steal_bytes (&self->memory);

  return G_CURL_RUN_FINISHED;
}

/* Body bytes sent: libcurl's count includes the chunked encoding's
 * framing, so a stream's body is counted as it is read. */
static gint64
uploaded_bytes (GCurlTransfer *self)
{
  curl_off_t uploaded = 0;

  if (self->upload.stream != NULL)
    return self->upload.sent;

  curl_easy_getinfo (self->handle, CURLINFO_SIZE_UPLOAD_T, &uploaded);
  return uploaded;
}

/* The properties of the figures in @changes (GCurlProgressChange). */
static guint
progress_props (guint changes)
{
  static const guint props[] = {
    PROP_DOWNLOADED_BYTES, PROP_DOWNLOAD_SIZE, PROP_UPLOADED_BYTES, PROP_UPLOAD_SIZE,
    PROP_FRACTION, PROP_DOWNLOAD_SPEED, PROP_TIME_REMAINING,
  };
  guint mask = 0;
  guint i;

  for (i = 0; i < G_N_ELEMENTS (props); i++)
    if (changes & (1u << i))
      mask |= 1u << props[i];

  return mask;
}

/* Emits "progress" with the current figures; returns the properties that
 * changed, for the caller to notify. */
static guint
report_progress (GCurlTransfer *self,
                 gint64         now)
{
  guint changes = g_curl_progress_report (&self->progress, now, self->downloaded,
                                          self->download_size, uploaded_bytes (self),
                                          self->upload_size, self->run.completed,
                                          self->run.completed && self->error == NULL);

  g_signal_emit (self, signals[SIGNAL_PROGRESS], 0,
                 self->progress.downloaded, self->progress.download_size,
                 self->progress.uploaded, self->progress.upload_size);

  return progress_props (changes);
}

/* Emits what libcurl's callbacks recorded. Returns %FALSE when a progress
 * emission is held back by the interval: *next_due says when it is due. */
static gboolean
run_flush (GCurlRun *run,
           gint64    now,
           gint64    interval,
           gint64   *next_due)
{
  GCurlTransfer *self = from_run (run);

  if (self->upload.wants_data && !self->run.completed)
    g_curl_upload_read_ahead (&self->upload);

  /* The multi holds the transfer until "finished", whatever handlers do. */
  if (self->headers_pending)
    {
      self->headers_pending = FALSE;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATUS_CODE]);
      g_signal_emit (self, signals[SIGNAL_GOT_HEADERS], 0);
    }

  /* The stream's reader may be waiting for what the sink took. */
  if (self->sink->funcs->flush != NULL)
    self->sink->funcs->flush (self->sink);

  /* A handler may have cancelled it: then "finished" says the rest. */
  if (self->run.completed || !state_is_running (self->state))
    return TRUE;

  if (!g_curl_progress_changed (&self->progress, self->downloaded, self->download_size,
                                uploaded_bytes (self)))
    return TRUE;

  if (!g_curl_progress_is_due (&self->progress, now, interval, next_due))
    return FALSE;

  notify_props (self, report_progress (self, now));
  return TRUE;
}

static void
run_finish (GCurlRun *run)
{
  GCurlTransfer *self = from_run (run);
  GCurlTransferEnding ending;
  GCurlTransferState state;
  guint changed = 0;

  if (self->error == NULL)
    state = G_CURL_TRANSFER_STATE_SUCCEEDED;
  else if (g_error_matches (self->error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    state = G_CURL_TRANSFER_STATE_CANCELLED;
  else
    state = G_CURL_TRANSFER_STATE_FAILED;

  g_object_ref (self);

  /* Headers that came with the last data and have not been reported,
   * whether or not the body that followed arrived whole: send_async's
   * stream then reports the failure after the bytes that did arrive. */
  if (self->headers_pending && state != G_CURL_TRANSFER_STATE_CANCELLED)
    {
      self->headers_pending = FALSE;
      changed |= 1u << PROP_STATUS_CODE;
      g_signal_emit (self, signals[SIGNAL_GOT_HEADERS], 0);

      /* Its handler may have failed the transfer (download_async does,
       * for an HTTP error status). */
      if (self->error != NULL && state == G_CURL_TRANSFER_STATE_SUCCEEDED)
        state = G_CURL_TRANSFER_STATE_FAILED;
    }
  self->headers_pending = FALSE;

  changed |= report_progress (self, g_get_monotonic_time ());
  if (self->state != state)
    {
      self->state = state;
      changed |= 1u << PROP_STATE;
    }
  self->pause_requested = FALSE;
  self->paused_in_curl = FALSE;

  /* From here on, handlers (of notify::state, of "finished") may start the
   * next run. A sink (send_async's stream) takes the body of this run
   * only: it learns how the run ended first, and is unset. The library's
   * own handlers, which may come after the application's, read this run's
   * end from the ending. */
  if (self->sink->funcs->end != NULL)
    self->sink->funcs->end (self->sink, self->error);
  g_curl_transfer_set_sink (self, NULL);

  ending.run = self->run_number;
  ending.error = self->error != NULL ? g_error_copy (self->error) : NULL;
  ending.body = self->body_bytes != NULL ? g_bytes_ref (self->body_bytes) : NULL;
  ending.outer = self->ending;
  self->ending = &ending;

  notify_props (self, changed);

  g_signal_emit (self, signals[SIGNAL_FINISHED], 0);

  /* A handler may have run the transfer again, and it may have ended in
   * a nested main loop: endings nest. */
  self->ending = ending.outer;
  g_clear_error (&ending.error);
  g_clear_pointer (&ending.body, g_bytes_unref);
  g_object_unref (self);
}

/* The run whose "finished" is being emitted, or %NULL. */
const GCurlTransferEnding *
g_curl_transfer_get_ending (GCurlTransfer *self)
{
  return self->ending;
}

static gint64
earliest (gint64 a,
          gint64 b)
{
  if (a < 0)
    return b;
  if (b < 0)
    return a;
  return MIN (a, b);
}

/* Whether the transfer cannot stall yet (waiting for a connection) or any
 * more. */
static gboolean
is_unwatched (GCurlTransfer *self)
{
  return !self->active || self->run.completed;
}

/* Whether something that is not the peer's fault holds the transfer back
 * (the application's pause, a slow reader of the stream, the speed limit,
 * the request stream): then it does not stall. */
static gboolean
is_held (GCurlTransfer *self)
{
  return self->paused_in_curl || self->state != G_CURL_TRANSFER_STATE_RUNNING;
}

/* When the watchdog must look at the transfer: its stall deadline unless
 * it is held, and a nudge for an HTTP/2 transfer idle for a while, held
 * or not: libcurl 7.88 can sit on the last bytes of a paused stream too,
 * and a nudge lets them into its pause buffer for the resume. */
static gint64
watch_due (GCurlTransfer *self,
           gboolean       held)
{
  return earliest (held ? -1 : g_curl_stall_deadline (&self->stall, self->stall_timeout),
                   self->is_http2 ? g_curl_stall_nudge_due (&self->stall) : -1);
}

/* When the watchdog must look at the transfer next, -1 for never, as of
 * @now, right after libcurl returned. Also notes whether a nudge (see
 * g_curl_source_nudge(), @nudging: the dispatch that just ended was one)
 * brought data: libcurl had more of it in its buffers than one nudge lets
 * out, so *@nudge_again is set. */
static gint64
run_watch_due (GCurlRun *run,
               gint64    now,
               gboolean  nudging,
               gboolean *nudge_again)
{
  GCurlTransfer *self = from_run (run);
  gboolean was_nudged = self->stall.nudged;

  if (is_unwatched (self))
    return -1;

  if (g_curl_stall_observe (&self->stall, self->activity, now) && nudging && was_nudged)
    *nudge_again = TRUE;

  return watch_due (self, is_held (self));
}

/* The watchdog's look at the transfer: returns the error to end it with if
 * it has received nothing for its stall timeout since it sent its request,
 * or %NULL. Sets *@nudge if it has been idle for a nudge (only libcurl's
 * HTTP/2 sits on bytes that way: an idle HTTP/1 transfer is waiting for
 * its server, and costs nobody a recv()), and lowers *@next_due to when it
 * must look again. */
static GError *
run_watch (GCurlRun *run,
           gint64    now,
           gboolean *nudge,
           gint64   *next_due)
{
  GCurlTransfer *self = from_run (run);
  gboolean held = is_held (self);

  if (is_unwatched (self))
    {
      g_curl_stall_reset (&self->stall, self->activity, now);
      return NULL;
    }

  g_curl_stall_observe (&self->stall, self->activity, now);
  if (held)
    {
      /* Not the peer's fault: the stall timeout counts from the end of
       * the hold. */
      GCURL_DEBUG ("%p %s: held (paused in libcurl %d, state %d)", self, shown_url (self),
                   self->paused_in_curl, self->state);
      g_curl_stall_restart_timeout (&self->stall, now);
    }
  else if (g_curl_stall_is_stalled (&self->stall, self->stall_timeout, now))
    return g_error_new (G_CURL_ERROR, G_CURL_ERROR_OPERATION_TIMEDOUT,
                        _("No data received from %s for %u seconds"),
                        shown_url (self), self->stall_timeout);

  if (self->is_http2 && g_curl_stall_take_nudge (&self->stall, now))
    {
      GCURL_DEBUG ("%p %s: idle, nudging", self, shown_url (self));
      *nudge = TRUE;
    }

  *next_due = earliest (*next_due, watch_due (self, held));
  return NULL;
}

/* Sends the body of the next run to @sink (not owned: it unsets itself
 * before it goes) instead of memory, until the run has ended; %NULL is
 * memory again. */
void
g_curl_transfer_set_sink (GCurlTransfer *self,
                          GCurlBodySink *sink)
{
  self->sink = sink != NULL ? sink : &self->memory.parent;
  self->sink_paused = FALSE;
}

/* The sink has room again: let libcurl deliver what it held. Never called
 * from inside libcurl (the sink's consumer is application code). */
void
g_curl_transfer_unpause_sink (GCurlTransfer *self)
{
  if (!self->sink_paused || self->pause_requested || self->run.completed)
    return;

  self->sink_paused = FALSE;
  unpause_in_curl (self);
}

static const char *
run_describe (GCurlRun *run)
{
  return shown_url (from_run (run));
}

static const GCurlRunFuncs run_funcs = {
  run_done,
  run_flush,
  run_finish,
  run_fail,
  run_watch_due,
  run_watch,
  run_rate_resume,
  run_describe,
};

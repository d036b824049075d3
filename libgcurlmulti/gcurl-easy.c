/* gcurl-easy.c: the libcurl side of a transfer
 *
 * The easy handle, its callbacks (which only record, and mark the run
 * dirty), the phases of a run as those callbacks see them, the request of
 * each hop (the first one, and each redirect the library follows), the
 * outcome of a run from libcurl's result, and the stall watch. See
 * gcurl-easy-private.h.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "gcurl-easy-private.h"
#include "gcurl-error.h"
#include "gcurl-error-private.h"
#include "gcurl-redirect-private.h"
#include "gcurl-timings-private.h"
#include "gcurl-util-private.h"

const char *
g_curl_phase_to_string (GCurlPhase phase)
{
  static const char * const names[] = {
    "idle", "queued", "active", "challenged", "redirecting", "body", "holding",
  };

  g_assert ((guint) phase < G_N_ELEMENTS (names));
  return names[phase];
}

/* The transitions a run may make, as bits of the phases it may come from.
 * Callers only ask for one in a phase they checked: a transition that is
 * not here is a bug of the library, never of a server. */
static const guint allowed_from[] = {
  [G_CURL_PHASE_IDLE]        = 0,
  [G_CURL_PHASE_QUEUED]      = ~0u,
  [G_CURL_PHASE_ACTIVE]      = 1u << G_CURL_PHASE_QUEUED | 1u << G_CURL_PHASE_ACTIVE |
                               1u << G_CURL_PHASE_CHALLENGED | 1u << G_CURL_PHASE_REDIRECTING |
                               1u << G_CURL_PHASE_HOLDING,
  [G_CURL_PHASE_CHALLENGED]  = 1u << G_CURL_PHASE_ACTIVE,
  [G_CURL_PHASE_REDIRECTING] = 1u << G_CURL_PHASE_ACTIVE,
  [G_CURL_PHASE_BODY]        = 1u << G_CURL_PHASE_QUEUED | 1u << G_CURL_PHASE_ACTIVE |
                               1u << G_CURL_PHASE_CHALLENGED | 1u << G_CURL_PHASE_HOLDING,
  [G_CURL_PHASE_HOLDING]     = 1u << G_CURL_PHASE_CHALLENGED,
};

static void
advance_phase (GCurlEasy  *self,
               GCurlPhase  to)
{
  if (self->phase == to)
    return;

  g_assert (allowed_from[to] & (1u << self->phase));
  GCURL_RUN_DEBUG (&self->run, "%p %s: %s → %s", self->run.object,
                   g_curl_easy_get_shown_url (self),
                   g_curl_phase_to_string (self->phase), g_curl_phase_to_string (to));
  self->phase = to;
}

/* The URL of the request being made: the original one until a redirect. */
static const char *
current_url (GCurlEasy *self)
{
  return self->redirect_url != NULL ? self->redirect_url : self->url;
}

/* The URL of the request being made as messages show it: made when first
 * needed after the URL changed (shown_url is cleared then). */
const char *
g_curl_easy_get_shown_url (GCurlEasy *self)
{
  if (self->shown_url == NULL)
    self->shown_url = g_curl_url_without_password (current_url (self));

  return self->shown_url;
}

#define shown_url(self) g_curl_easy_get_shown_url (self)

static void
mark_dirty (GCurlEasy *self)
{
  g_curl_engine_mark_dirty (&self->run);
}

static gboolean
is_http (GCurlEasy *self)
{
  const char *scheme = NULL;

  curl_easy_getinfo (self->handle, CURLINFO_SCHEME, &scheme);
  return scheme == NULL || g_ascii_strncasecmp (scheme, "http", 4) == 0;
}

static void
clear_response_headers (GCurlEasy *self)
{
  g_curl_response_headers_clear (&self->response_headers);
  g_clear_pointer (&self->reason, g_free);
}

/* The reason phrase of a status line ("HTTP/1.1 404 Not Found\r\n"), or
 * %NULL if it has none (HTTP/2 and 3 have none). Valid UTF-8 whatever the
 * server sent: RFC 9110 allows Latin-1 there. */
static char *
parse_reason (const char *line,
              size_t      len)
{
  const char *end = line + len;
  const char *p = memchr (line, ' ', len);

  if (p == NULL)
    return NULL;
  /* The status, then one space. */
  while (p < end && *p == ' ')
    p++;
  while (p < end && g_ascii_isdigit (*p))
    p++;
  while (p < end && *p == ' ')
    p++;
  while (end > p && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
    end--;
  if (end == p)
    return NULL;

  return g_utf8_make_valid (p, end - p);
}

/* A header of the final response, or of the one being received (see
 * g_curl_response_headers_lookup()). */
const char *
g_curl_easy_lookup_header (GCurlEasy  *self,
                           const char *name)
{
  return g_curl_response_headers_lookup (&self->response_headers, self->handle, name);
}

gboolean
g_curl_easy_headers_final (GCurlEasy *self)
{
  return self->phase == G_CURL_PHASE_BODY;
}

/* Accepts @len more bytes if the speed limit allows (the transfer's own,
 * or its part of the multi's, whichever is lower); otherwise the engine
 * resumes the run when it will. A new limit measures from now on. */
static gboolean
rate_allows (GCurlEasy *self,
             gsize      len)
{
  gint64 share = g_curl_engine_get_speed_share (&self->run);
  gint64 limit = self->max_download_speed > 0 && (share == 0 || self->max_download_speed < share)
                 ? self->max_download_speed : share;

  if (limit == 0)
    return TRUE;
  if (limit != self->rate_applied)
    g_curl_rate_limit_reset (&self->rate);
  self->rate_applied = limit;
  if (g_curl_rate_limit_take (&self->rate, limit, len,
                              g_get_monotonic_time (), &self->run.rate_resume_at))
    return TRUE;

  g_curl_engine_wait_for_rate (&self->run);
  return FALSE;
}

/* The response whose head just ended (or whose body starts) is the final
 * one: record its status and size for "got-headers". Returns %FALSE if the
 * sink refuses its body (the size limit of a body in memory). */

/* The body bytes received so far, encoded: libcurl counts them before it
 * decodes (CURLINFO_SIZE_DOWNLOAD_T). */
static void
encoded_count (GCurlEasy *self)
{
  curl_off_t received = 0;

  curl_easy_getinfo (self->handle, CURLINFO_SIZE_DOWNLOAD_T, &received);
  self->downloaded = self->encoded_base + received;
}

static gboolean
headers_become_final (GCurlEasy *self)
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

  advance_phase (self, G_CURL_PHASE_BODY);
  self->cannot_pause = scheme != NULL && g_ascii_strcasecmp (scheme, "file") == 0;
  self->headers_pending = TRUE;
  self->is_http2 = version == CURL_HTTP_VERSION_2_0;
  self->status_code = (guint) code;
  self->download_size = length >= 0 ? length : -1;

  /* A continuation (206) counts within the whole resource, so that the
   * fraction of a resumed download is that of the file, not of the rest. */
  if (code == 206)
    {
      gint64 start, total;

      if (g_curl_parse_content_range (g_curl_easy_lookup_header (self, "Content-Range"),
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

  /* A body libcurl decodes is longer than its Content-Length: it is
   * counted as it comes, encoded (see encoded_count()). */
  self->decoding = self->accept_encoding != NULL && self->content_coded;
  if (self->decoding)
    self->encoded_base = self->downloaded;

  mark_dirty (self);

  return self->sink->funcs->begin (self->sink, length);
}

/* The largest challenge page held for "authenticate". */
#define MAX_CHALLENGE_BODY (256 * 1024)

/* The scheme libcurl would answer the challenge just received with (a
 * CURLAUTH_* bit), or 0 if it can answer none it offers. */
static long
challenge_scheme (GCurlEasy *self)
{
  long code = 0;
  long available = 0;

  curl_easy_getinfo (self->handle, CURLINFO_RESPONSE_CODE, &code);
  curl_easy_getinfo (self->handle, code == 407 ? CURLINFO_PROXYAUTH_AVAIL : CURLINFO_HTTPAUTH_AVAIL,
                     &available);

  return g_curl_auth_choose_scheme (available);
}

/* The held challenge is the response after all: its head becomes final
 * and its page goes to the sink. FALSE if the sink refuses it. */
static gboolean
release_challenge (GCurlEasy *self)
{
  g_autoptr(GByteArray) body = g_steal_pointer (&self->challenge_body);

  if (!headers_become_final (self))
    return FALSE;

  if (body == NULL || body->len == 0)
    return TRUE;

  /* The sink takes all of it (as it does from file://, which cannot
   * pause). */
  if (self->sink->funcs->write (self->sink, (const char *) body->data, body->len, FALSE) ==
      G_CURL_SINK_REFUSED)
    return FALSE;

  if (self->decoding)
    encoded_count (self);
  else
    self->downloaded += body->len;
  mark_dirty (self);

  return TRUE;
}

/* The body has started: whatever response it belongs to is the final one.
 * That settles a 401 or 407 held back by headers_complete() (libcurl did
 * not answer it itself, or it would have skipped its body), and gives the
 * protocols without response headers (file, ftp…, when allowed) their
 * "got-headers". Returns %FALSE if the body is refused (the size limit). */
static gboolean
body_starts (GCurlEasy *self)
{
  /* Unless the transfer's "authenticate" handler answers it first: its
   * body is kept until then. */
  if (self->phase == G_CURL_PHASE_CHALLENGED && self->hold_challenges &&
      challenge_scheme (self) != 0)
    {
      advance_phase (self, G_CURL_PHASE_HOLDING);
      self->challenge_body = g_byte_array_new ();
      return TRUE;
    }

  if (self->phase == G_CURL_PHASE_CHALLENGED ||
      (self->phase != G_CURL_PHASE_REDIRECTING && !is_http (self)))
    return headers_become_final (self);

  return TRUE;
}

static size_t
write_cb (char   *data,
          size_t  size,
          size_t  nmemb,
          void   *user_data)
{
  GCurlEasy *self = user_data;
  size_t len = size * nmemb;

  if (G_UNLIKELY (self->phase != G_CURL_PHASE_BODY) && !body_starts (self))
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
  if (self->phase == G_CURL_PHASE_REDIRECTING)
    {
      self->activity++;
      return len;
    }

  /* A challenge's page, kept for as long as it is small: a larger one is
   * the response at once, whatever the handler would have said. */
  if (G_UNLIKELY (self->phase == G_CURL_PHASE_HOLDING))
    {
      self->activity++;
      if (self->challenge_body->len + len <= MAX_CHALLENGE_BODY)
        {
          g_byte_array_append (self->challenge_body, (const guint8 *) data, len);
          return len;
        }
      if (!release_challenge (self))
        return 0;
    }

  if (!self->cannot_pause && !rate_allows (self, len))
    {
      self->paused_in_curl = TRUE;
      return CURL_WRITEFUNC_PAUSE;
    }

  /* A segmented download's first connection has what it was for. */
  if (self->body_enough)
    return 0;

  switch (self->sink->funcs->write (self->sink, data, len, !self->cannot_pause))
    {
    case G_CURL_SINK_FULL:
      /* The consumer is full: libcurl holds this chunk until it drains. */
      self->paused_in_curl = TRUE;
      self->sink_paused = TRUE;
      return CURL_WRITEFUNC_PAUSE;
    case G_CURL_SINK_REFUSED:
      /* libcurl reports a write error, which g_curl_easy_done() explains. */
      return 0;
    case G_CURL_SINK_TAKEN:
      break;
    }

  self->activity++;
  if (self->decoding)
    encoded_count (self);
  else
    self->downloaded += len;
  mark_dirty (self);

  return len;
}

/* The head of a response has ended: decide whether it is the final
 * response. Returns %FALSE to refuse its body (the size limit). */
static gboolean
headers_complete (GCurlEasy *self)
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

  advance_phase (self, G_CURL_PHASE_ACTIVE);

  if (g_curl_redirect_is_followed (code) && self->max_redirects > 0 &&
      g_curl_easy_lookup_header (self, "Location") != NULL)
    {
      advance_phase (self, G_CURL_PHASE_REDIRECTING);
      return TRUE;
    }

  /* An authentication challenge that libcurl may answer itself, when
   * credentials were set on the handle: it decides that only after this
   * callback, and then skips the challenge's body and sends the request
   * again (prereq_cb() sees it). Known to be final once its body starts
   * or the run ends without another request. */
  if (code == 401 || code == 407)
    {
      advance_phase (self, G_CURL_PHASE_CHALLENGED);
      return TRUE;
    }

  return headers_become_final (self);
}

/* Only watches for the start and the end of each response's headers:
 * libcurl stores the header lines itself (see g_curl_easy_lookup_header()). */
static size_t
header_cb (char   *data,
           size_t  size,
           size_t  nmemb,
           void   *user_data)
{
  GCurlEasy *self = user_data;
  size_t len = size * nmemb;

  self->activity++;
  mark_dirty (self);

  /* Trailers after the body (or a held challenge's) are not response
   * headers. */
  if (self->phase == G_CURL_PHASE_BODY || self->phase == G_CURL_PHASE_HOLDING)
    return len;

  if (len >= 5 && memcmp (data, "HTTP/", 5) == 0)
    {
      /* A new response (after a 1xx, a CONNECT reply or an authentication
       * round): only the final one's headers count. */
      clear_response_headers (self);
      self->reason = parse_reason (data, len);
      self->content_coded = FALSE;
      advance_phase (self, G_CURL_PHASE_ACTIVE);
    }
  else if (len > 17 && g_ascii_tolower (data[0]) == 'c' &&
           g_ascii_strncasecmp (data, "Content-Encoding:", 17) == 0)
    {
      /* Seen here rather than looked up for every response: most have
       * none, and a lookup scans all their headers. */
      g_autofree char *coding = g_strstrip (g_strndup (data + 17, len - 17));

      self->content_coded = *coding != '\0' && g_ascii_strcasecmp (coding, "identity") != 0;
    }
  else if (len > 0 && (data[0] == '\r' || data[0] == '\n'))
    {
      if (!headers_complete (self))
        return 0;
    }

  return len;
}

static size_t
read_cb (char   *buffer,
         size_t  size,
         size_t  nitems,
         void   *user_data)
{
  GCurlEasy *self = user_data;
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
  GCurlEasy *self = user_data;

  return g_curl_upload_seek (&self->upload, offset, origin);
}

/* Called by libcurl once it is connected and about to send the request:
 * from here on, time without a byte counts as a stall. Runs queued for a
 * connection never get here, so they never time out while waiting. */
static int
prereq_cb (void *user_data,
           char *conn_primary_ip,
           char *conn_local_ip,
           int   conn_primary_port,
           int   conn_local_port)
{
  GCurlEasy *self = user_data;

  self->activity++;
  mark_dirty (self);

  /* A new request of this run: what came before was a response libcurl
   * consumed itself (an authentication challenge it answers now). */
  if (self->phase == G_CURL_PHASE_CHALLENGED || self->phase == G_CURL_PHASE_HOLDING)
    {
      clear_response_headers (self);
      g_clear_pointer (&self->challenge_body, g_byte_array_unref);
    }
  if (self->phase != G_CURL_PHASE_BODY)
    advance_phase (self, G_CURL_PHASE_ACTIVE);
  g_curl_tls_connected (&self->tls, self->handle, current_url (self));

  return CURL_PREREQFUNC_OK;
}

/* The upload (gcurl-upload.c) */

/* The next chunk of the request stream is there (or its end, or an
 * error): let libcurl read it, unless the run is held otherwise. */
static void
upload_ready (gpointer data)
{
  GCurlEasy *self = data;

  if (self->paused_in_curl && !self->pause_requested && !self->run.completed)
    g_curl_easy_unpause (self);
}

static void
upload_failed (gpointer  data,
               GError   *error)
{
  GCurlEasy *self = data;

  if (self->run.engine != NULL && !self->run.completed)
    g_curl_engine_end_run (&self->run, error);
  else
    g_error_free (error);
}

static const GCurlUploadFuncs upload_funcs = {
  upload_ready, upload_failed,
};

/* Set up */

/* The options every run shares, set once per handle (see
 * g_curl_transfer_get_handle() for why applications leave them alone). */
static void
set_constant_options (GCurlEasy *self)
{
  CURL *h = self->handle;

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

/* @owner (the transfer) embeds @self; @url is its URL, @funcs its run
 * functions. */
void
g_curl_easy_init (GCurlEasy           *self,
                  GObject             *owner,
                  const char          *url,
                  const GCurlRunFuncs *funcs)
{
  self->handle = curl_easy_init ();
  self->url = url;
  self->phase = G_CURL_PHASE_IDLE;
  self->download_size = -1;
  set_constant_options (self);
  g_curl_tls_init (&self->tls, self->handle);
  g_curl_run_init (&self->run, funcs, owner, self->handle);
  g_curl_upload_init (&self->upload, &upload_funcs, self, owner);
  g_curl_memory_sink_init (&self->memory);
  self->sink = &self->memory.parent;
  g_curl_log_init (&self->log);
}

void
g_curl_easy_clear (GCurlEasy *self)
{
  g_assert (self->run.engine == NULL);

  g_clear_pointer (&self->handle, curl_easy_cleanup);
  /* Only once no handle uses its share. */
  g_clear_pointer (&self->jar, g_curl_jar_unref);
  g_clear_pointer (&self->header_list, curl_slist_free_all);
  g_clear_pointer (&self->redirect_url, g_free);
  g_clear_pointer (&self->shown_url, g_free);
  g_clear_pointer (&self->proxy, g_free);
  g_clear_pointer (&self->method, g_free);
  g_clear_pointer (&self->request_headers, g_array_unref);
  g_clear_pointer (&self->app_headers, g_array_unref);
  g_clear_pointer (&self->redirect_protocols, g_free);
  g_clear_pointer (&self->accept_encoding, g_free);
  g_clear_pointer (&self->library_headers, g_array_unref);
  g_clear_pointer (&self->request_body, g_bytes_unref);
  g_curl_upload_clear (&self->upload);
  g_clear_pointer (&self->content_type, g_free);
  clear_response_headers (self);
  g_curl_memory_sink_clear (&self->memory);
  g_clear_pointer (&self->body_bytes, g_bytes_unref);
  g_curl_log_clear (&self->log);
  g_clear_pointer (&self->challenge_body, g_byte_array_unref);
  g_clear_error (&self->challenge_error);
  g_curl_tls_clear (&self->tls);
}

/* libcurl's account of the traffic, for log-level: only queued here (see
 * GCurlLog), emitted by g_curl_easy_emit_log(). */
static int
debug_cb (CURL          *handle,
          curl_infotype  type,
          char          *data,
          size_t         size,
          void          *user_data)
{
  GCurlEasy *self = user_data;

  g_curl_log_record (&self->log, type, data, size);
  if (self->log.lines != NULL)
    mark_dirty (self);

  return 0;
}

/* Turns libcurl's debug output on or off for @level. */
static void
set_log_level (GCurlEasy     *self,
               GCurlLogLevel  level)
{
  if (level == self->log.level)
    return;

  self->log.level = level;
  curl_easy_setopt (self->handle, CURLOPT_DEBUGFUNCTION, level > G_CURL_LOG_NONE ? debug_cb : NULL);
  curl_easy_setopt (self->handle, CURLOPT_DEBUGDATA, level > G_CURL_LOG_NONE ? self : NULL);
  curl_easy_setopt (self->handle, CURLOPT_VERBOSE, (long) (level > G_CURL_LOG_NONE));
}

/* Emits the log lines queued since the last time, from the main context:
 * a log writer may be any application code. */
void
g_curl_easy_emit_log (GCurlEasy *self)
{
  g_autoptr(GPtrArray) lines = g_curl_log_steal_lines (&self->log);

  for (guint i = 0; lines != NULL && i < lines->len; i++)
    g_debug ("%p %s", self->run.object, (const char *) lines->pdata[i]);
}

/* The request */

const char *
g_curl_easy_get_method (GCurlEasy *self)
{
  if (self->method != NULL)
    return self->method;
  return self->request_body != NULL || self->upload.stream != NULL ? "POST" : "GET";
}

/* The size of the request body, -1 for none or not known. */
gint64
g_curl_easy_get_upload_size (GCurlEasy *self)
{
  if (self->request_body != NULL)
    return (gint64) g_bytes_get_size (self->request_body);
  if (self->upload.stream != NULL)
    return self->upload.length;
  return -1;
}

void
g_curl_easy_set_request_body (GCurlEasy  *self,
                              GBytes     *body,
                              const char *content_type)
{
  g_clear_pointer (&self->request_body, g_bytes_unref);
  g_curl_upload_set_stream (&self->upload, NULL, -1);
  g_clear_pointer (&self->content_type, g_free);
  if (body != NULL)
    {
      self->request_body = g_bytes_ref (body);
      self->content_type = g_strdup (content_type ? content_type : "application/octet-stream");
    }
}

void
g_curl_easy_set_request_stream (GCurlEasy    *self,
                                GInputStream *stream,
                                gint64        length)
{
  g_clear_pointer (&self->request_body, g_bytes_unref);
  g_curl_upload_set_stream (&self->upload, stream, length);
  g_clear_pointer (&self->content_type, g_free);
  if (stream != NULL)
    self->content_type = g_strdup ("application/octet-stream");
}

/* Sets CURLOPT_PROXY; %NULL leaves the choice to libcurl. Nothing to do
 * for the common case, a handle that never had one. */
void
g_curl_easy_set_proxy (GCurlEasy  *self,
                       const char *proxy)
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

/* Whether the next run must open a new connection (CURLOPT_FRESH_CONNECT):
 * download_async's retries, which must not land on the connection that
 * failed. */
void
g_curl_easy_set_fresh_connect (GCurlEasy *self,
                               gboolean   fresh)
{
  if (self->fresh_connect == fresh)
    return;
  curl_easy_setopt (self->handle, CURLOPT_FRESH_CONNECT, (long) fresh);
  self->fresh_connect = fresh;
}

/* The offset download_async resumes a protocol other than HTTP at
 * (CURLOPT_RESUME_FROM_LARGE; HTTP has Range), 0 for none, and whether
 * libcurl learns the file's time (CURLOPT_FILETIME: an MDTM command for
 * FTP), which download_async keeps to tell a changed file. */
void
g_curl_easy_set_resume_from (GCurlEasy *self,
                             gint64     offset,
                             gboolean   filetime)
{
  self->resume_from = offset;
  curl_easy_setopt (self->handle, CURLOPT_RESUME_FROM_LARGE, (curl_off_t) offset);
  curl_easy_setopt (self->handle, CURLOPT_FILETIME, (long) filetime);
}

static void
build_header_list (GCurlEasy *self)
{
  GArray *app_headers = self->app_headers != NULL ? self->app_headers : self->request_headers;
  gboolean have_content_type = FALSE;

  g_clear_pointer (&self->header_list, curl_slist_free_all);

  /* The library's own headers replace the application's of the same name,
   * and follow every redirect; the application's (its multi's defaults
   * too) go to the first origin only. */
  if (self->send_headers)
    {
      self->header_list = g_curl_header_list_append_to (app_headers, NULL,
                                                        self->library_headers);
      have_content_type = g_curl_header_list_has (app_headers, "Content-Type") &&
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

/* (Re)configures the handle for the next request of the run: the first
 * one, or the one a redirect leads to. */
static void
configure_request (GCurlEasy *self)
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
      curl_easy_setopt (h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) self->upload.length);
      if (g_strcmp0 (method, "POST") != 0)
        curl_easy_setopt (h, CURLOPT_CUSTOMREQUEST, method);
    }
  else if (self->send_body)
    {
      curl_easy_setopt (h, CURLOPT_POSTFIELDSIZE_LARGE,
                        (curl_off_t) g_bytes_get_size (self->request_body));
      curl_easy_setopt (h, CURLOPT_POSTFIELDS, g_bytes_get_data (self->request_body, NULL));
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

/* Forgets the response of the last request: a new run, or the next hop. */
static void
reset_response (GCurlEasy *self,
                guint64    max_body_size)
{
  clear_response_headers (self);
  g_curl_memory_sink_reset (&self->memory, max_body_size);
  g_clear_pointer (&self->body_bytes, g_bytes_unref);
  advance_phase (self, G_CURL_PHASE_QUEUED);
  self->status_code = 0;
  self->downloaded = 0;
  self->download_size = -1;
  self->headers_pending = FALSE;
  self->content_coded = FALSE;
  self->is_http2 = FALSE;
  self->cannot_pause = FALSE;
  self->error_buffer[0] = '\0';
}

static gboolean
upload_rewind (GCurlEasy  *self,
               GError    **error)
{
  return g_curl_upload_rewind (&self->upload, shown_url (self), error);
}

/* A new run: no challenge is held, and the credentials an "authenticate"
 * handler gave the last run are gone (the handler is asked again). */
static void
forget_challenges (GCurlEasy *self)
{
  CURL *h = self->handle;

  g_clear_pointer (&self->challenge_body, g_byte_array_unref);
  g_clear_error (&self->challenge_error);
  self->challenge_waiting = FALSE;
  self->server_tries = 0;
  self->proxy_tries = 0;
  if (self->server_auth_set)
    {
      curl_easy_setopt (h, CURLOPT_USERNAME, NULL);
      curl_easy_setopt (h, CURLOPT_PASSWORD, NULL);
      curl_easy_setopt (h, CURLOPT_XOAUTH2_BEARER, NULL);
      curl_easy_setopt (h, CURLOPT_HTTPAUTH, (long) CURLAUTH_BASIC);
      self->server_auth_set = FALSE;
    }
  if (self->proxy_auth_set)
    {
      curl_easy_setopt (h, CURLOPT_PROXYUSERNAME, NULL);
      curl_easy_setopt (h, CURLOPT_PROXYPASSWORD, NULL);
      curl_easy_setopt (h, CURLOPT_PROXYAUTH, (long) CURLAUTH_BASIC);
      self->proxy_auth_set = FALSE;
    }
}

/* Runs */

/* Prepares the handle for a new run with the settings @defaults (the
 * multi's) merged with @overrides (the transfer's). FALSE with @error if it
 * cannot run. */
gboolean
g_curl_easy_begin_run (GCurlEasy                 *self,
                       const GCurlRequestOptions *defaults,
                       const GCurlRequestOptions *overrides,
                       GError                   **error)
{
  GCurlRequestOptions effective;
  const char *encoding;
  const char *protocols;
  gboolean pipewait;

  g_curl_request_options_merge (defaults, overrides, &effective);

  reset_response (self, effective.max_body_size);
  forget_challenges (self);
  self->n_redirects = 0;
  self->max_redirects = (guint) effective.max_redirects;
  self->stall_timeout = (guint) MIN (effective.stall_timeout, G_MAXUINT);
  self->redirect_time = 0;
  self->activity = 0;
  g_curl_stall_reset (&self->stall, 0, g_get_monotonic_time ());
  self->pause_requested = FALSE;
  self->paused_in_curl = FALSE;
  g_curl_rate_limit_reset (&self->rate);
  self->sink_paused = FALSE;
  self->body_enough = FALSE;
  g_clear_pointer (&self->redirect_url, g_free);
  g_clear_pointer (&self->shown_url, g_free);
  self->current_method = g_curl_easy_get_method (self);
  self->send_body = self->request_body != NULL || self->upload.stream != NULL;
  self->send_headers = TRUE;
  self->fail_on_status = effective.fail_on_http_error > 0;
  set_log_level (self, effective.log_level > 0 ? (GCurlLogLevel) effective.log_level
                                               : G_CURL_LOG_NONE);

  /* download_async saves what the server serves, unless the transfer
   * asked for decoding itself. */
  encoding = effective.accept_encoding;
  if (self->as_served && (overrides == NULL || overrides->accept_encoding == NULL))
    encoding = NULL;
  if (g_strcmp0 (encoding, self->accept_encoding) != 0)
    {
      curl_easy_setopt (self->handle, CURLOPT_ACCEPT_ENCODING, encoding);
      g_free (self->accept_encoding);
      self->accept_encoding = g_strdup (encoding);
    }
  protocols = effective.redirect_protocols != NULL ? effective.redirect_protocols
                                                   : GCURL_DEFAULT_REDIRECT_PROTOCOLS;
  if (g_strcmp0 (protocols, self->redirect_protocols) != 0)
    {
      g_free (self->redirect_protocols);
      self->redirect_protocols = g_strdup (protocols);
    }

  /* The multi's default headers, with the transfer's own over them. */
  g_clear_pointer (&self->app_headers, g_array_unref);
  if (effective.headers != NULL)
    {
      self->app_headers = g_curl_header_list_copy (effective.headers);
      for (guint i = 0; self->request_headers != NULL && i < self->request_headers->len; i++)
        {
          GCurlHeader *header = &g_array_index (self->request_headers, GCurlHeader, i);

          g_curl_header_list_set (&self->app_headers, header->name, header->value);
        }
    }

  /* Set only when it changes: the buffer is reallocated every time. */
  if (self->sink->funcs->buffer_size != self->buffer_size)
    {
      self->buffer_size = self->sink->funcs->buffer_size;
      curl_easy_setopt (self->handle, CURLOPT_BUFFERSIZE,
                        (long) (self->buffer_size > 0 ? self->buffer_size : CURL_MAX_WRITE_SIZE));
    }

  if (!g_curl_request_options_apply (defaults, overrides, &effective, self->handle,
                                     &self->applied, error))
    return FALSE;

  /* Verified again, whatever the last run accepted. */
  g_curl_tls_begin_run (&self->tls, self->handle);
  if (!g_curl_tls_set_client_certificate (&self->tls, self->handle,
                                          effective.tls_client_certificate, error))
    return FALSE;

  /* An explicit proxy, the transfer's or the multi's, or libcurl's own
   * choice (its environment variables) until the multi's proxy resolver
   * has answered for this URL. */
  g_curl_easy_set_proxy (self, effective.proxy);

  /* The multi's cookies and HSTS cache, if it has either. */
  g_curl_jar_switch (&self->jar, effective.jar, self->handle);

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
    return FALSE;

  configure_request (self);

  return TRUE;
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
size_limit_error (GCurlEasy *self,
                  CURLcode   result)
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
  if (request_size > 0 && header_size > 0 && self->phase != G_CURL_PHASE_BODY)
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
proxy_error (GCurlEasy *self,
             CURLcode   result)
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

/* The response says where to go (a 3xx the library follows): the next
 * request, or an error. Redirects are followed here, not by libcurl, so
 * that headers the application set are not sent to another origin
 * (libcurl 7.88 forwards all but Authorization and Cookie). */
/* Clears the credentials an application may have set on the raw handle
 * (docs/raw-handle.md), before a request to another origin: libcurl would
 * send them on every request of the handle, and only libcurl's own
 * redirect following keeps them to the first host. They cannot be read
 * back, so they stay cleared. The proxy's are the proxy's, and stay. */
static void
drop_raw_credentials (GCurlEasy *self)
{
  static const CURLoption string_options[] = {
    CURLOPT_USERPWD, CURLOPT_USERNAME, CURLOPT_PASSWORD, CURLOPT_XOAUTH2_BEARER,
    CURLOPT_COOKIE, CURLOPT_SSLCERT, CURLOPT_SSLKEY, CURLOPT_KEYPASSWD,
  };

  for (gsize i = 0; i < G_N_ELEMENTS (string_options); i++)
    curl_easy_setopt (self->handle, string_options[i], NULL);
  curl_easy_setopt (self->handle, CURLOPT_SSLCERT_BLOB, NULL);
  curl_easy_setopt (self->handle, CURLOPT_SSLKEY_BLOB, NULL);
  curl_easy_setopt (self->handle, CURLOPT_HTTPAUTH, (long) CURLAUTH_BASIC);
  /* The "authenticate" handler's too: they were the first origin's. */
  self->server_auth_set = FALSE;
  self->server_tries = 0;
  /* The client certificate of the properties goes on the next run. */
  g_curl_tls_forget_client_certificate (&self->tls);
}

static GCurlRunDoneAction
follow_redirect (GCurlEasy  *self,
                 GError    **error)
{
  char *location = NULL;
  const char *scheme;
  GCurlRedirectStep step = { 0, };
  long status = 0;

  if (self->n_redirects >= self->max_redirects)
    {
      g_autofree char *original = g_curl_url_without_password (self->url);

      g_set_error (error, G_CURL_ERROR, G_CURL_ERROR_TOO_MANY_REDIRECTS,
                   _("Maximum (%u) redirects followed from %s"), self->max_redirects, original);
      return G_CURL_RUN_FINISHED;
    }

  curl_easy_getinfo (self->handle, CURLINFO_REDIRECT_URL, &location);
  if (location == NULL)
    {
      g_set_error (error, G_CURL_ERROR, G_CURL_ERROR_WEIRD_SERVER_REPLY,
                   _("Redirect from %s to an unusable location"), shown_url (self));
      return G_CURL_RUN_FINISHED;
    }

  /* Where a redirect may lead is narrower than where the application may
   * go itself (libcurl's CURLOPT_PROTOCOLS_STR still bounds both). */
  scheme = g_uri_peek_scheme (location);
  if (scheme == NULL || !g_curl_protocols_contain (self->redirect_protocols, scheme))
    {
      g_set_error (error, G_CURL_ERROR, G_CURL_ERROR_UNSUPPORTED_PROTOCOL,
                   _("%s redirects to a “%s” URL, which its redirects may not lead to"),
                   shown_url (self), scheme != NULL ? scheme : "?");
      return G_CURL_RUN_FINISHED;
    }

  curl_easy_getinfo (self->handle, CURLINFO_RESPONSE_CODE, &status);
  g_curl_redirect_next (current_url (self), location, (guint) status, self->current_method,
                        self->send_body, &step);
  /* Once at another origin, the application's headers never come back,
   * not even on a redirect back to the first one; nor do credentials it set
   * on the raw handle. */
  if (!step.same_origin)
    {
      self->send_headers = FALSE;
      drop_raw_credentials (self);
      /* A certificate accepted for one origin says nothing of another. */
      g_curl_tls_drop_pin (&self->tls, self->handle);
    }
  self->current_method = step.method;
  self->send_body = step.send_body;

  /* 307 and 308 send the body again. */
  if (self->send_body && self->upload.stream != NULL && !upload_rewind (self, error))
    {
      g_curl_redirect_step_clear (&step);
      return G_CURL_RUN_FINISHED;
    }

  self->redirect_time += g_curl_timings_info (self->handle, CURLINFO_TOTAL_TIME_T);
  g_free (self->redirect_url);
  self->redirect_url = g_steal_pointer (&step.url);
  g_clear_pointer (&self->shown_url, g_free);
  self->n_redirects++;

  reset_response (self, self->memory.limit);
  configure_request (self);

  return G_CURL_RUN_RESTART;
}

static GCurlRunDoneAction complete_response (GCurlEasy  *self,
                                             GError    **error);

static long
last_code (GCurlEasy *self)
{
  long code = 0;

  curl_easy_getinfo (self->handle, CURLINFO_RESPONSE_CODE, &code);
  return code;
}

/* A proxy refused to open a tunnel until it is given credentials: libcurl
 * fails the run, and the "authenticate" handler may answer. */
static gboolean
is_connect_challenge (GCurlEasy *self)
{
  long connect_code = 0;
  long available = 0;

  if (!self->hold_challenges)
    return FALSE;

  curl_easy_getinfo (self->handle, CURLINFO_HTTP_CONNECTCODE, &connect_code);
  curl_easy_getinfo (self->handle, CURLINFO_PROXYAUTH_AVAIL, &available);

  return connect_code == 407 && g_curl_auth_choose_scheme (available) != 0;
}

static GCurlRunDoneAction
handle_done (GCurlEasy  *self,
             CURLcode    result,
             GError    **error)
{
  /* Ended on purpose (g_curl_transfer_end_body()): what came is complete. */
  if (self->body_enough)
    result = CURLE_OK;

  if (result != CURLE_OK && self->upload.error != NULL)
    {
      /* The body's stream failed, not the network. */
      g_propagate_error (error, g_error_copy (self->upload.error));
      return G_CURL_RUN_FINISHED;
    }

  if (result != CURLE_OK && self->memory.too_large)
    {
      g_autofree char *limit = g_format_size_full (self->memory.limit, G_FORMAT_SIZE_IEC_UNITS);

      g_set_error (error, G_CURL_ERROR, G_CURL_ERROR_FILESIZE_EXCEEDED,
                   _("The response from %s is larger than the %s a body in memory may take"),
                   shown_url (self), limit);
      return G_CURL_RUN_FINISHED;
    }

  /* A certificate that did not verify: "accept-certificate" may trust
   * it, from the flush. */
  if (result == CURLE_PEER_FAILED_VERIFICATION &&
      g_curl_tls_should_ask (&self->tls, current_url (self)))
    return G_CURL_RUN_HOLD;
  if (result == CURLE_SSL_PINNEDPUBKEYNOTMATCH && self->tls.pin != NULL)
    {
      g_propagate_error (error, g_curl_tls_pin_error (&self->tls, shown_url (self)));
      return G_CURL_RUN_FINISHED;
    }

  if (result != CURLE_OK)
    {
      GError *local_error = size_limit_error (self, result);

      if (local_error == NULL)
        local_error = proxy_error (self, result);
      if (local_error == NULL)
        local_error = g_curl_error_new_from_code (result, self->error_buffer);

      /* Held for "authenticate": the error is the outcome if it declines. */
      if (is_connect_challenge (self))
        {
          self->challenge_error = local_error;
          self->challenge_waiting = TRUE;
          self->challenge_proxy = TRUE;
          return G_CURL_RUN_HOLD;
        }

      g_propagate_error (error, local_error);
      return G_CURL_RUN_FINISHED;
    }

  if (self->phase == G_CURL_PHASE_REDIRECTING)
    return follow_redirect (self, error);

  /* A challenge libcurl did not answer, for the "authenticate" handler. */
  if ((self->phase == G_CURL_PHASE_CHALLENGED || self->phase == G_CURL_PHASE_HOLDING) &&
      self->hold_challenges && challenge_scheme (self) != 0)
    {
      self->challenge_waiting = TRUE;
      self->challenge_proxy = self->status_code == 407 || last_code (self) == 407;
      return G_CURL_RUN_HOLD;
    }

  /* A challenge libcurl did not answer (no credentials, or they failed)
   * and whose body was empty is the response. So is whatever another
   * protocol (file, ftp…, when allowed) gave without a byte of body: it has
   * no headers at all. */
  if (self->phase == G_CURL_PHASE_CHALLENGED ||
      (self->phase != G_CURL_PHASE_BODY && !is_http (self)))
    headers_become_final (self);

  return complete_response (self, error);
}

/* The run is over, with the final response's head known (or not: then it
 * failed). */
static GCurlRunDoneAction
complete_response (GCurlEasy  *self,
                   GError    **error)
{
  /* libcurl 7.88 takes a response cut off inside its headers for a
   * complete one with no body: that would be a silently lost response. */
  if (self->phase != G_CURL_PHASE_BODY)
    {
      g_set_error (error, G_CURL_ERROR, G_CURL_ERROR_PARTIAL_FILE,
                   _("The connection to %s closed before the response headers were complete"),
                   shown_url (self));
      return G_CURL_RUN_FINISHED;
    }

  /* A body that went to another sink was never collected. */
  if (self->sink == &self->memory.parent)
    self->body_bytes = g_curl_memory_sink_steal_bytes (&self->memory);

  /* With fail-on-http-error, an error status fails the transfer, its page
   * kept; for download_async too, but 416 is how it recognises a complete
   * .part. */
  if (self->status_code >= 400 &&
      (self->fail_on_http_error ? self->status_code != 416 : self->fail_on_status))
    {
      g_propagate_error (error, g_curl_error_new_http (self->status_code, self->reason,
                                                       shown_url (self)));
      return G_CURL_RUN_FINISHED;
    }

  return G_CURL_RUN_FINISHED;
}

/* libcurl upgrades an http:// URL its HSTS cache (the multi's jar) knows
 * to https by itself: the request went where libcurl says, and that is the
 * URL to report and to resolve a redirect against. */
static void
follow_hsts_upgrade (GCurlEasy *self)
{
  char *effective = NULL;

  if (g_ascii_strncasecmp (current_url (self), "http:", 5) != 0 ||
      curl_easy_getinfo (self->handle, CURLINFO_EFFECTIVE_URL, &effective) != CURLE_OK ||
      effective == NULL || g_ascii_strncasecmp (effective, "https:", 6) != 0)
    return;

  g_free (self->redirect_url);
  self->redirect_url = g_strdup (effective);
  g_clear_pointer (&self->shown_url, g_free);
}

/* libcurl is done with the handle, with @result: the outcome of the run
 * (*@error set for a failure), or the next request of a redirect. A
 * failure carries the status and the system error with it, for
 * g_curl_error_is_transient(). */
static void
annotate_error (GCurlEasy *self,
                GError    *error)
{
  long os_errno = 0;

  curl_easy_getinfo (self->handle, CURLINFO_OS_ERRNO, &os_errno);
  g_curl_error_set_response (error, self->status_code, (int) os_errno);
}

GCurlRunDoneAction
g_curl_easy_done (GCurlEasy  *self,
                  CURLcode    result,
                  GError    **error)
{
  GError *local_error = NULL;
  GCurlRunDoneAction action;

  if (self->log.level > G_CURL_LOG_NONE)
    g_curl_log_add (&self->log, g_strdup_printf (
      "%s: %.1f ms (name lookup %.1f, connect %.1f, TLS %.1f, first byte %.1f): %s",
      shown_url (self), g_curl_timings_info (self->handle, CURLINFO_TOTAL_TIME_T) / 1000.,
      g_curl_timings_info (self->handle, CURLINFO_NAMELOOKUP_TIME_T) / 1000.,
      g_curl_timings_info (self->handle, CURLINFO_CONNECT_TIME_T) / 1000.,
      g_curl_timings_info (self->handle, CURLINFO_APPCONNECT_TIME_T) / 1000.,
      g_curl_timings_info (self->handle, CURLINFO_STARTTRANSFER_TIME_T) / 1000.,
      curl_easy_strerror (result)));
  if (self->jar != NULL)
    {
      g_curl_jar_note_response (self->jar, self->handle);
      follow_hsts_upgrade (self);
    }
  action = handle_done (self, result, &local_error);

  if (local_error != NULL)
    {
      annotate_error (self, local_error);
      g_propagate_error (error, local_error);
    }

  return action;
}

/* The decision on a certificate g_curl_easy_done() held the run for
 * (G_CURL_RUN_HOLD): accepted, its key is trusted for the rest of the run
 * chain and the request is made again (TRUE: submit the run again);
 * otherwise FALSE with the error to end the run with. */
gboolean
g_curl_easy_accept_certificate (GCurlEasy  *self,
                                gboolean    accepted,
                                GError    **error)
{
  self->tls.deciding = FALSE;
  if (!accepted)
    {
      g_propagate_error (error, g_curl_tls_untrusted_error (&self->tls));
      return FALSE;
    }

  g_curl_tls_accept (&self->tls, self->handle);
  if (self->send_body && self->upload.stream != NULL && !upload_rewind (self, error))
    return FALSE;
  reset_response (self, self->memory.limit);

  return TRUE;
}

/* Whether the run is in an engine and libcurl is not done with it. */
gboolean
g_curl_easy_is_running (GCurlEasy *self)
{
  return self->run.engine != NULL && !self->run.completed;
}

/* Lets libcurl deliver the data it held since a callback returned PAUSE.
 * That happens at once, through the write callback, which only records
 * it; this is never called from inside a libcurl callback, where neither
 * application code nor the engine's flush runs. */
void
g_curl_easy_unpause (GCurlEasy *self)
{
  CURLcode code;

  if (self->run.engine == NULL)
    return;

  self->paused_in_curl = FALSE;
  GCURL_RUN_DEBUG (&self->run, "%p %s: unpaused in libcurl", self->run.object, shown_url (self));
  /* Held back until now by something that is not the peer's fault. */
  g_curl_stall_restart_timeout (&self->stall, g_get_monotonic_time ());
  mark_dirty (self);
  code = curl_easy_pause (self->handle, CURLPAUSE_CONT);
  if (code != CURLE_OK && self->body_enough)
    g_curl_engine_complete_run (&self->run, CURLE_OK);
  else if (code != CURLE_OK)
    g_curl_engine_end_run (&self->run, g_curl_error_new_from_code (code, self->error_buffer));
  else
    g_curl_engine_wake (&self->run);
}

/* The application's pause: applied by the write callback, which works
 * before a connection exists (curl_easy_pause() then fails with
 * CURLE_BAD_FUNCTION_ARGUMENT). */
void
g_curl_easy_pause (GCurlEasy *self)
{
  self->pause_requested = TRUE;
  GCURL_RUN_DEBUG (&self->run, "%p %s: paused", self->run.object, shown_url (self));
}

void
g_curl_easy_resume (GCurlEasy *self)
{
  self->pause_requested = FALSE;
  GCURL_RUN_DEBUG (&self->run, "%p %s: resumed (held by libcurl: %d)", self->run.object,
                   shown_url (self), self->paused_in_curl);
  /* The stall timeout counts from now, and the watchdog must learn when
   * it ends even if nothing arrives: from the flush after the next
   * dispatch, which the wake makes sure of. */
  g_curl_stall_restart_timeout (&self->stall, g_get_monotonic_time ());
  mark_dirty (self);
  g_curl_engine_wake (&self->run);

  if (self->paused_in_curl)
    g_curl_easy_unpause (self);
}

/* The speed limit allows more data now: let libcurl deliver what it held.
 * Called from the engine's flush, never from inside libcurl. */
void
g_curl_easy_rate_resume (GCurlEasy *self)
{
  /* Paused by the application meanwhile: its resume() will do it. */
  if (!self->paused_in_curl || self->pause_requested || self->run.completed)
    return;

  g_curl_easy_unpause (self);
}

/* Body bytes sent: libcurl's count includes the chunked encoding's
 * framing, so a stream's body is counted as it is read. */
gint64
g_curl_easy_uploaded (GCurlEasy *self)
{
  curl_off_t uploaded = 0;

  if (self->upload.stream != NULL)
    return self->upload.sent;

  curl_easy_getinfo (self->handle, CURLINFO_SIZE_UPLOAD_T, &uploaded);
  return uploaded;
}

/* From the flush: the request stream's next read, if libcurl wants one. */
void
g_curl_easy_read_ahead (GCurlEasy *self)
{
  if (self->upload.wants_data && !self->run.completed)
    g_curl_upload_read_ahead (&self->upload);
}

/* Authentication */

/* The challenge held for "authenticate" (the run's done() held it),
 * for @func to hear the answer; *@retrying says whether the same
 * challenger refused an answer before, in this run. */
GCurlAuth *
g_curl_easy_new_auth (GCurlEasy            *self,
                      GCurlAuthDecidedFunc  func,
                      gpointer              user_data,
                      gboolean             *retrying)
{
  g_autoptr(GPtrArray) challenges = g_ptr_array_new ();
  g_autofree char *realm = NULL;
  g_autofree char *authority = NULL;
  gboolean proxy = self->challenge_proxy;
  const char *name = proxy ? "Proxy-Authenticate" : "WWW-Authenticate";
  /* A refused tunnel's challenge is the CONNECT reply's. */
  unsigned int origin = self->challenge_error != NULL ? CURLH_CONNECT : CURLH_HEADER;
  struct curl_header *header;
  long available = 0;
  long scheme;

  g_assert (self->challenge_waiting);

  curl_easy_getinfo (self->handle, proxy ? CURLINFO_PROXYAUTH_AVAIL : CURLINFO_HTTPAUTH_AVAIL,
                     &available);
  scheme = g_curl_auth_choose_scheme (available);

  for (size_t i = 0;
       curl_easy_header (self->handle, name, i, origin, -1, &header) == CURLHE_OK;
       i++)
    {
      g_ptr_array_add (challenges, header->value);
      if (i + 1 >= header->amount)
        break;
    }
  g_ptr_array_add (challenges, NULL);
  realm = g_curl_auth_find_realm ((const char * const *) challenges->pdata,
                                  g_curl_auth_scheme_to_string (scheme));

  authority = g_curl_auth_authority_of (proxy ? self->proxy : current_url (self), proxy);
  *retrying = (proxy ? self->proxy_tries : self->server_tries) > 0;

  return g_curl_auth_new (scheme, realm, authority != NULL ? authority : "", proxy,
                          func, user_data);
}

/* The handler answered the held challenge with credentials: the handle
 * is ready to be submitted again, for the same request with them. FALSE
 * with @error if the request's body cannot be sent again. */
gboolean
g_curl_easy_answer_challenge (GCurlEasy  *self,
                              GCurlAuth  *auth,
                              GError    **error)
{
  CURL *h = self->handle;
  long scheme = g_curl_auth_get_scheme (auth);

  g_assert (self->challenge_waiting);

  self->challenge_waiting = FALSE;
  g_clear_pointer (&self->challenge_body, g_byte_array_unref);
  g_clear_error (&self->challenge_error);

  /* Only this scheme: libcurl then answers with it and no other (nor a
   * weaker one the challenger would also take). */
  if (self->challenge_proxy)
    {
      curl_easy_setopt (h, CURLOPT_PROXYUSERNAME, g_curl_auth_get_username (auth));
      curl_easy_setopt (h, CURLOPT_PROXYPASSWORD, g_curl_auth_get_password (auth));
      curl_easy_setopt (h, CURLOPT_PROXYAUTH, scheme);
      self->proxy_auth_set = TRUE;
      self->proxy_tries++;
    }
  else
    {
      if (scheme == CURLAUTH_BEARER)
        curl_easy_setopt (h, CURLOPT_XOAUTH2_BEARER, g_curl_auth_get_password (auth));
      else
        {
          curl_easy_setopt (h, CURLOPT_USERNAME, g_curl_auth_get_username (auth));
          curl_easy_setopt (h, CURLOPT_PASSWORD, g_curl_auth_get_password (auth));
        }
      curl_easy_setopt (h, CURLOPT_HTTPAUTH, scheme);
      self->server_auth_set = TRUE;
      self->server_tries++;
    }

  if (self->send_body && self->upload.stream != NULL && !upload_rewind (self, error))
    return FALSE;

  reset_response (self, self->memory.limit);
  configure_request (self);

  return TRUE;
}

/* The handler declined the held challenge: it is the response, and the
 * run is over. Returns how the run failed, or %NULL. */
GError *
g_curl_easy_refuse_challenge (GCurlEasy *self)
{
  GError *error = NULL;

  g_assert (self->challenge_waiting);

  self->challenge_waiting = FALSE;
  if (self->challenge_error != NULL)
    error = g_steal_pointer (&self->challenge_error);
  else if (!release_challenge (self))
    error = g_error_new (G_CURL_ERROR, G_CURL_ERROR_FILESIZE_EXCEEDED,
                         _("The response from %s is larger than a body in memory may be"),
                         shown_url (self));
  else
    complete_response (self, &error);

  if (error != NULL)
    annotate_error (self, error);

  return error;
}

/* The body */

/* Sends the body of the next run to @sink (not owned: it unsets itself
 * before it goes) instead of memory, until the run has ended; %NULL is
 * memory again. */
void
g_curl_easy_set_sink (GCurlEasy     *self,
                      GCurlBodySink *sink)
{
  self->sink = sink != NULL ? sink : &self->memory.parent;
  self->sink_paused = FALSE;
}

/* The sink has room again: let libcurl deliver what it held. Never called
 * from inside libcurl (the sink's consumer is application code). */
void
g_curl_easy_unpause_sink (GCurlEasy *self)
{
  if (!self->sink_paused || self->pause_requested || self->run.completed)
    return;

  self->sink_paused = FALSE;
  g_curl_easy_unpause (self);
}

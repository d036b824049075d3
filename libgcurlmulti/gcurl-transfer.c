/* gcurl-transfer.c: one HTTP transfer
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "gcurl-easy-private.h"
#include "gcurl-engine-private.h"
#include "gcurl-enum-types.h"
#include "gcurl-error.h"
#include "gcurl-error-private.h"
#include "gcurl-progress-private.h"
#include "gcurl-rate-limit-private.h"
#include "gcurl-request-options-private.h"
#include "gcurl-timings-private.h"
#include "gcurl-transfer.h"
#include "gcurl-transfer-private.h"
#include "gcurl-util-private.h"
#include "gcurl-watch-private.h"

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
 * Since: 0.1
 */

struct _GCurlTransfer
{
  GObject             parent_instance;

  char               *url;
  GCurlEasy           easy;             /* the handle, the request, what
                                         * libcurl's callbacks recorded */
  GCurlRequestOptions *options;         /* (nullable) (owned): the settings
                                         * that replace the multi's */
  GChecksumType       checksum_type;
  char               *expected_checksum;  /* hex, for download_async */
  guint               run_number;       /* counts runs, for late callbacks */
  GCurlTransferRetryFunc retry_func;    /* (nullable): download_async's */
  gpointer            retry_data;

  GCurlTransferState  state;
  GError             *error;            /* (nullable): why the last run ended */
  GCurlProgress       progress;         /* what "progress" said last */
  gint64              segmented;        /* a segmented download's bytes, all
                                         * connections', or -1 */

  GFunc               progress_hook;    /* (nullable): the multi's list, */
  gpointer            progress_hook_data;  /* after each "progress" */

  /* While "finished" is emitted: the run it is for. */
  GCurlTransferEnding *ending;

  GCurlAuth          *auth;             /* (nullable) (owned): the challenge
                                         * the run waits for an answer to */
  gboolean            auth_retrying;
  gboolean            auth_unasked;     /* "authenticate" is yet to come */
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
  PROP_REDIRECT_PROTOCOLS,
  PROP_ACCEPT_ENCODING,
  PROP_MAX_REDIRECTS,
  PROP_STALL_TIMEOUT,
  PROP_CONNECT_TIMEOUT,
  PROP_TIMEOUT,
  PROP_FAIL_ON_HTTP_ERROR,
  PROP_EFFECTIVE_URL,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  SIGNAL_PROGRESS,
  SIGNAL_GOT_HEADERS,
  SIGNAL_FINISHED,
  SIGNAL_AUTHENTICATE,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (GCurlTransfer, g_curl_transfer, G_TYPE_OBJECT)

static guint progress_props (guint changes);
static const GCurlRunFuncs run_funcs;
static void auth_decided (GCurlAuth *auth,
                          gpointer   user_data);

void
g_curl_transfer_set_state (GCurlTransfer      *self,
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

/* The current URL without its password, for messages. */
const char *
g_curl_transfer_get_shown_url (GCurlTransfer *self)
{
  return g_curl_easy_get_shown_url (&self->easy);
}

/* In a run, as the application sees it (a download paused between its
 * attempts is not: it may start the next). */
gboolean
g_curl_transfer_is_running (GCurlTransfer *self)
{
  return (self->state == G_CURL_TRANSFER_STATE_RUNNING ||
          self->state == G_CURL_TRANSFER_STATE_PAUSED ||
          self->state == G_CURL_TRANSFER_STATE_QUEUED) && !self->easy.start_paused;
}

static void
g_curl_transfer_finalize (GObject *object)
{
  GCurlTransfer *self = G_CURL_TRANSFER (object);

  /* A running transfer is owned by its engine (g_curl_easy_clear() checks
   * that it has left it). */
  g_curl_easy_clear (&self->easy);
  g_clear_pointer (&self->url, g_free);
  g_clear_pointer (&self->expected_checksum, g_free);
  if (self->options != NULL)
    g_curl_request_options_clear (self->options);
  g_clear_pointer (&self->options, g_free);
  g_clear_error (&self->error);

  G_OBJECT_CLASS (g_curl_transfer_parent_class)->finalize (object);
}

GCurlRequestOptions *
g_curl_transfer_ensure_options (GCurlTransfer *self)
{
  if (self->options == NULL)
    {
      self->options = g_new0 (GCurlRequestOptions, 1);
      g_curl_request_options_init (self->options);
    }
  return self->options;
}

/* The settings properties, in GCurlOption's order. */
#define OPTION_OF_PROP(prop_id) ((GCurlOption) ((prop_id) - PROP_USER_AGENT))
G_STATIC_ASSERT (PROP_TIMEOUT - PROP_USER_AGENT == G_CURL_OPTION_TIMEOUT);

/* Sets one of the settings that replace the multi's. Only the stall
 * timeout and the redirect limit may change while the transfer runs (for
 * its next run, like the rest); programmer errors are refused with a
 * critical and change nothing. */
static void
set_option (GCurlTransfer *self,
            guint          prop_id,
            const GValue  *value)
{
  GCurlOption option = OPTION_OF_PROP (prop_id);
  g_autofree char *property = g_strconcat ("GCurlTransfer:", properties[prop_id]->name, NULL);
  gboolean changed;

  if (g_curl_transfer_is_running (self) &&
      prop_id != PROP_STALL_TIMEOUT && prop_id != PROP_MAX_REDIRECTS)
    {
      g_critical ("%s cannot change while the transfer runs", property);
      return;
    }

  if (G_CURL_OPTION_IS_STRING (option))
    {
      if (g_value_get_string (value) == NULL && self->options == NULL)
        return;
      changed = g_curl_request_options_set_checked (g_curl_transfer_ensure_options (self), option,
                                                    g_value_get_string (value), property);
    }
  else
    changed = g_curl_request_options_set_number (g_curl_transfer_ensure_options (self), option,
                                                 G_VALUE_HOLDS_INT (value)
                                                 ? (gint64) g_value_get_int (value)
                                                 : G_VALUE_HOLDS_BOOLEAN (value)
                                                 ? (gint64) g_value_get_boolean (value)
                                                 : (gint64) MIN (g_value_get_uint (value),
                                                                 G_MAXINT));

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
      g_value_set_uint (value, g_curl_transfer_get_status_code (self));
      break;
    case PROP_EFFECTIVE_URL:
      g_value_set_string (value, g_curl_transfer_get_effective_url (self));
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
      g_value_set_int64 (value, self->easy.max_download_speed);
      break;
    case PROP_USER_AGENT:
    case PROP_PROXY:
    case PROP_TLS_CA_FILE:
    case PROP_ALLOWED_PROTOCOLS:
    case PROP_REDIRECT_PROTOCOLS:
    case PROP_ACCEPT_ENCODING:
      g_value_set_string (value, self->options != NULL
                          ? g_curl_request_options_get_string (self->options, OPTION_OF_PROP (prop_id))
                          : NULL);
      break;
    case PROP_MAX_REDIRECTS:
    case PROP_STALL_TIMEOUT:
      g_value_set_int (value, self->options != NULL
                       ? (int) g_curl_request_options_get_number (self->options, OPTION_OF_PROP (prop_id))
                       : -1);
      break;
    case PROP_CONNECT_TIMEOUT:
    case PROP_TIMEOUT:
      g_value_set_uint (value, self->options != NULL
                        ? (guint) MAX (g_curl_request_options_get_number (self->options,
                                                                          OPTION_OF_PROP (prop_id)), 0)
                        : 0);
      break;
    case PROP_FAIL_ON_HTTP_ERROR:
      g_value_set_boolean (value, self->options != NULL &&
                           self->options->fail_on_http_error > 0);
      break;
    default:
      if (!g_curl_transfer_retry_get_property (self, prop_id, value))
        g_curl_transfer_tls_get_property (self, prop_id, value, pspec);
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
      self->easy.url = self->url;
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
    case PROP_REDIRECT_PROTOCOLS:
    case PROP_ACCEPT_ENCODING:
    case PROP_MAX_REDIRECTS:
    case PROP_STALL_TIMEOUT:
    case PROP_CONNECT_TIMEOUT:
    case PROP_TIMEOUT:
    case PROP_FAIL_ON_HTTP_ERROR:
      set_option (self, prop_id, value);
      break;
    default:
      if (!g_curl_transfer_retry_set_property (self, prop_id, value))
        g_curl_transfer_tls_set_property (self, prop_id, value, pspec);
    }
}

static void
g_curl_transfer_class_init (GCurlTransferClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  g_curl_init_i18n ();

  object_class->finalize = g_curl_transfer_finalize;
  object_class->get_property = g_curl_transfer_get_property;
  object_class->set_property = g_curl_transfer_set_property;

  /**
   * GCurlTransfer:url:
   *
   * The URL the transfer requests, as given to [ctor@GCurl.Transfer.new].
   *
   * Since: 0.1
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
   * Since: 0.1
   */
  properties[PROP_METHOD] =
    g_param_spec_string ("method", NULL, NULL, "GET",
                         GCURL_PARAM_READWRITE);

  /**
   * GCurlTransfer:state:
   *
   * Where the transfer is in its run; see [enum@GCurl.TransferState] for
   * the order of its values.
   *
   * Since: 0.1
   */
  properties[PROP_STATE] =
    g_param_spec_enum ("state", NULL, NULL,
                       G_CURL_TYPE_TRANSFER_STATE, G_CURL_TRANSFER_STATE_NEW,
                       GCURL_PARAM_READABLE);

  /**
   * GCurlTransfer:status-code:
   *
   * The HTTP status of the final response (after redirects), or 0 until
   * [signal@GCurl.Transfer::got-headers]. A response that libcurl consumed
   * itself is never the final one: a proxy's reply to `CONNECT`, a `401`
   * or `407` it answered with credentials set on the handle, an interim
   * `1xx`. It stays 0 for protocols without a status (`ftp`, `file`).
   *
   * Since: 0.1
   */
  properties[PROP_STATUS_CODE] =
    g_param_spec_uint ("status-code", NULL, NULL, 0, 999, 0,
                       GCURL_PARAM_READABLE);

  /**
   * GCurlTransfer:downloaded-bytes:
   *
   * Bytes of the response body received so far, as of the last
   * [signal@GCurl.Transfer::progress]. For a partial response (206, a
   * resumed download) the count starts where the range starts, so that it
   * and [property@GCurl.Transfer:fraction] describe the whole resource.
   * For a body decoded (see [property@GCurl.Multi:accept-encoding]), the
   * bytes as they came, before decoding.
   *
   * Since: 0.1
   */
  properties[PROP_DOWNLOADED_BYTES] =
    g_param_spec_int64 ("downloaded-bytes", NULL, NULL, 0, G_MAXINT64, 0,
                        GCURL_PARAM_READABLE);

  /**
   * GCurlTransfer:download-size:
   *
   * The size of the response body, or -1 while it is not known. For a
   * partial response (206), the size of the whole resource.
   *
   * Since: 0.1
   */
  properties[PROP_DOWNLOAD_SIZE] =
    g_param_spec_int64 ("download-size", NULL, NULL, -1, G_MAXINT64, -1,
                        GCURL_PARAM_READABLE);

  /**
   * GCurlTransfer:uploaded-bytes:
   *
   * Bytes of the request body sent so far.
   *
   * Since: 0.1
   */
  properties[PROP_UPLOADED_BYTES] =
    g_param_spec_int64 ("uploaded-bytes", NULL, NULL, 0, G_MAXINT64, 0,
                        GCURL_PARAM_READABLE);

  /**
   * GCurlTransfer:upload-size:
   *
   * The size of the request body, or -1 when there is none or it is not
   * known.
   *
   * Since: 0.1
   */
  properties[PROP_UPLOAD_SIZE] =
    g_param_spec_int64 ("upload-size", NULL, NULL, -1, G_MAXINT64, -1,
                        GCURL_PARAM_READABLE);

  /**
   * GCurlTransfer:fraction:
   *
   * How much of the response body has arrived, from 0 to 1: 0 while the
   * size is not known, 1 once the transfer has succeeded. Made to be bound
   * to a progress bar's fraction.
   *
   * Since: 0.1
   */
  properties[PROP_FRACTION] =
    g_param_spec_double ("fraction", NULL, NULL, 0.0, 1.0, 0.0,
                         GCURL_PARAM_READABLE);

  /**
   * GCurlTransfer:download-speed:
   *
   * The recent download speed in bytes per second.
   *
   * Since: 0.1
   */
  properties[PROP_DOWNLOAD_SPEED] =
    g_param_spec_int64 ("download-speed", NULL, NULL, 0, G_MAXINT64, 0,
                        GCURL_PARAM_READABLE);

  /**
   * GCurlTransfer:time-remaining:
   *
   * Seconds until the body has arrived at the recent speed, or -1 when
   * that is not known.
   *
   * Since: 0.1
   */
  properties[PROP_TIME_REMAINING] =
    g_param_spec_int64 ("time-remaining", NULL, NULL, -1, G_MAXINT64, -1,
                        GCURL_PARAM_READABLE);

  /**
   * GCurlTransfer:max-download-speed:
   *
   * The highest download speed in bytes per second, 0 for no limit. It
   * may be changed while the transfer runs.
   *
   * Since: 0.1
   */
  properties[PROP_MAX_DOWNLOAD_SPEED] =
    g_param_spec_int64 ("max-download-speed", NULL, NULL, 0, G_MAXINT64, 0,
                        GCURL_PARAM_READWRITE);

  /**
   * GCurlTransfer:user-agent:
   *
   * The `User-Agent` header of this transfer, or %NULL for its multi's
   * [property@GCurl.Multi:user-agent]. It cannot contain CR or LF.
   *
   * Since: 0.1
   */
  properties[PROP_USER_AGENT] =
    g_param_spec_string ("user-agent", NULL, NULL, NULL,
                         GCURL_PARAM_READWRITE);

  /**
   * GCurlTransfer:proxy:
   *
   * The proxy this transfer goes through, as libcurl takes it
   * (`http://host:port`, `socks5h://host:port`…), or the empty string for
   * none; %NULL for its multi's [property@GCurl.Multi:proxy], whose own
   * default is to ask [property@GCurl.Multi:proxy-resolver] for each URL.
   *
   * Since: 0.1
   */
  properties[PROP_PROXY] =
    g_param_spec_string ("proxy", NULL, NULL, NULL,
                         GCURL_PARAM_READWRITE);

  /**
   * GCurlTransfer:tls-ca-file:
   *
   * A PEM file of the certificate authorities to trust for this transfer,
   * in place of the system's; %NULL for its multi's
   * [property@GCurl.Multi:tls-ca-file].
   *
   * Since: 0.1
   */
  properties[PROP_TLS_CA_FILE] =
    g_param_spec_string ("tls-ca-file", NULL, NULL, NULL,
                         GCURL_PARAM_READWRITE);

  /**
   * GCurlTransfer:allowed-protocols:
   *
   * The protocols this transfer and its redirects may use, as libcurl's
   * comma-separated list (`http,https`); %NULL for its multi's
   * [property@GCurl.Multi:allowed-protocols]. A list libcurl does not
   * accept is refused with a critical.
   *
   * Since: 0.1
   */
  properties[PROP_ALLOWED_PROTOCOLS] =
    g_param_spec_string ("allowed-protocols", NULL, NULL, NULL,
                         GCURL_PARAM_READWRITE);

  /**
   * GCurlTransfer:redirect-protocols:
   *
   * The protocols this transfer's redirects may lead to; %NULL for its
   * multi's [property@GCurl.Multi:redirect-protocols]. Never wider than
   * [property@GCurl.Transfer:allowed-protocols].
   *
   * Since: 0.1
   */
  properties[PROP_REDIRECT_PROTOCOLS] =
    g_param_spec_string ("redirect-protocols", NULL, NULL, NULL,
                         GCURL_PARAM_READWRITE);

  /**
   * GCurlTransfer:accept-encoding:
   *
   * The content codings this transfer asks for and decodes (see
   * [property@GCurl.Multi:accept-encoding]); %NULL for its multi's, and
   * for [method@GCurl.Multi.download_async] none. `"identity"` asks for
   * none.
   *
   * Since: 0.1
   */
  properties[PROP_ACCEPT_ENCODING] =
    g_param_spec_string ("accept-encoding", NULL, NULL, NULL,
                         GCURL_PARAM_READWRITE);

  /**
   * GCurlTransfer:max-redirects:
   *
   * How many redirects this transfer follows (0: none, the 3xx response is
   * the result), or -1 for its multi's [property@GCurl.Multi:max-redirects].
   * A change applies from the next run.
   *
   * Since: 0.1
   */
  properties[PROP_MAX_REDIRECTS] =
    g_param_spec_int ("max-redirects", NULL, NULL, -1, G_MAXINT, -1,
                      GCURL_PARAM_READWRITE);

  /**
   * GCurlTransfer:stall-timeout:
   *
   * Seconds without a byte received, once the request is sent, after which
   * this transfer fails with %G_CURL_ERROR_OPERATION_TIMEDOUT; 0 for never,
   * -1 for its multi's [property@GCurl.Multi:stall-timeout]. A change
   * applies from the next run.
   *
   * Since: 0.1
   */
  properties[PROP_STALL_TIMEOUT] =
    g_param_spec_int ("stall-timeout", NULL, NULL, -1, G_MAXINT, -1,
                      GCURL_PARAM_READWRITE);

  /**
   * GCurlTransfer:connect-timeout:
   *
   * Seconds the connection (name lookup, TCP and TLS handshakes included)
   * may take before the transfer fails with
   * %G_CURL_ERROR_OPERATION_TIMEDOUT; 0 for libcurl's default, 300.
   * Never set, the multi's [property@GCurl.Multi:connect-timeout]
   * applies; once set (0 too), this one.
   *
   * Since: 0.1
   */
  properties[PROP_CONNECT_TIMEOUT] =
    g_param_spec_uint ("connect-timeout", NULL, NULL, 0, G_MAXINT, 0,
                       GCURL_PARAM_READWRITE);

  /**
   * GCurlTransfer:timeout:
   *
   * Seconds each request of this transfer (each redirect is one) may take
   * in all before it fails with %G_CURL_ERROR_OPERATION_TIMEDOUT; 0 for no
   * limit. Never set, the multi's [property@GCurl.Multi:timeout] applies;
   * once set (0 too), this one. For downloads of any size,
   * [property@GCurl.Transfer:stall-timeout] is usually what you want.
   *
   * Since: 0.1
   */
  properties[PROP_TIMEOUT] =
    g_param_spec_uint ("timeout", NULL, NULL, 0, G_MAXINT, 0,
                       GCURL_PARAM_READWRITE);

  /**
   * GCurlTransfer:fail-on-http-error:
   *
   * Whether a final status of 400 or more fails the transfer with
   * %G_CURL_ERROR_HTTP_RETURNED_ERROR, the error page still readable (see
   * [property@GCurl.Multi:fail-on-http-error]). Never set, the multi's
   * applies; once set, this one.
   *
   * Since: 0.1
   */
  properties[PROP_FAIL_ON_HTTP_ERROR] =
    g_param_spec_boolean ("fail-on-http-error", NULL, NULL, FALSE,
                          GCURL_PARAM_READWRITE);

  /**
   * GCurlTransfer:effective-url:
   *
   * The URL of the last request: see
   * [method@GCurl.Transfer.get_effective_url]. Notified when a redirect is
   * followed, and when a new run starts over from
   * [property@GCurl.Transfer:url].
   *
   * Since: 0.1
   */
  properties[PROP_EFFECTIVE_URL] =
    g_param_spec_string ("effective-url", NULL, NULL, NULL, GCURL_PARAM_READABLE);

  g_object_class_install_properties (object_class, N_PROPS, properties);
  g_curl_transfer_retry_class_init (object_class,
                                    g_curl_transfer_tls_class_init (object_class, N_PROPS));

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
   * Since: 0.1
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
   * Since: 0.1
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
   * Since: 0.1
   */
  signals[SIGNAL_FINISHED] =
    g_signal_new ("finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  /**
   * GCurlTransfer::authenticate:
   * @self: the transfer
   * @auth: the challenge
   * @retrying: %TRUE if the same challenger refused an answer before, in
   *   this run
   *
   * Emitted from the multi's main context when the server answers with
   * `401 Unauthorized`, or the proxy with `407 Proxy Authentication
   * Required`, offering a scheme libcurl can answer (see
   * [property@GCurl.Auth:scheme-name]).
   *
   * A handler that returns %TRUE answers @auth with
   * [method@GCurl.Auth.authenticate] or [method@GCurl.Auth.cancel], before
   * it returns or later (after asking the user): the transfer waits, its
   * request sent and the challenge's page kept, and its stall timeout does
   * not run. With credentials, libcurl sends the request again (its body
   * too) with that scheme, to that challenger only: they are dropped when
   * a redirect leads to another origin, and forgotten when the run ends.
   * If they are refused, the signal is emitted again, with @retrying
   * %TRUE.
   *
   * With no handler, or when every handler returns %FALSE or one cancels,
   * the challenge is the response: its status, headers and page, as they
   * came (a refused tunnel to an `https://` URL fails the transfer with
   * %G_CURL_ERROR_RECV_ERROR). A page larger than 256 KiB is the response
   * at once, without the signal.
   *
   * Returns: %TRUE if the handler answers @auth (now or later)
   *
   * Since: 0.1
   */
  signals[SIGNAL_AUTHENTICATE] =
    g_signal_new ("authenticate", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, g_signal_accumulator_true_handled, NULL, NULL, G_TYPE_BOOLEAN, 2,
                  G_CURL_TYPE_AUTH, G_TYPE_BOOLEAN);
}

static void
g_curl_transfer_init (GCurlTransfer *self)
{
  g_curl_easy_init (&self->easy, G_OBJECT (self), NULL, &run_funcs);
  g_curl_progress_init (&self->progress);
  self->segmented = -1;
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
 * Since: 0.1
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
 * Since: 0.1
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
 * Some options are the library's, some are replaced when the transfer
 * starts, and credentials set here are cleared before a redirect to
 * another origin: [The raw libcurl handle](raw-handle.html) lists them all.
 *
 * Returns: (transfer none): the easy handle, owned by @self
 *
 * Since: 0.1
 */
CURL *
g_curl_transfer_get_handle (GCurlTransfer *self)
{
  g_return_val_if_fail (G_CURL_IS_TRANSFER (self), NULL);

  return self->easy.handle;
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
 * Since: 0.1
 */
const char *
g_curl_transfer_get_method (GCurlTransfer *self)
{
  g_return_val_if_fail (G_CURL_IS_TRANSFER (self), NULL);

  return g_curl_easy_get_method (&self->easy);
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
 * Since: 0.1
 */
void
g_curl_transfer_set_method (GCurlTransfer *self,
                            const char    *method)
{
  g_return_if_fail (G_CURL_IS_TRANSFER (self));
  g_return_if_fail (method == NULL || g_curl_header_name_is_valid (method));
  g_return_if_fail (!g_curl_transfer_is_running (self));

  if (g_strcmp0 (self->easy.method, method) == 0)
    return;

  g_free (self->easy.method);
  self->easy.method = g_strdup (method);
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
  g_assert (!g_curl_transfer_is_running (self));
  g_assert (g_curl_header_name_is_valid (name) && (value == NULL || g_curl_header_value_is_valid (value)));

  g_curl_header_list_set (&self->easy.library_headers, name, value);
}

/* The size of the body (of the whole resource, for a continuation) as the
 * final response's headers announced it, -1 if unknown; unlike
 * g_curl_transfer_get_download_size(), known from "got-headers" on. */
gint64
g_curl_transfer_get_expected_size (GCurlTransfer *self)
{
  return self->easy.decoding ? -1 : self->easy.download_size;
}

gint64
g_curl_transfer_get_last_activity (GCurlTransfer *self)
{
  return self->easy.stall.last_activity;
}

/* download_async's resume of FTP and file (see
 * g_curl_easy_set_resume_from()). */
void
g_curl_transfer_set_resume_from (GCurlTransfer *self,
                                 gint64         offset,
                                 gboolean       filetime)
{
  g_assert (!g_curl_transfer_is_running (self));

  g_curl_easy_set_resume_from (&self->easy, offset, filetime);
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
 * Since: 0.1
 */
void
g_curl_transfer_set_request_header (GCurlTransfer *self,
                                    const char    *name,
                                    const char    *value)
{
  g_return_if_fail (G_CURL_IS_TRANSFER (self));
  g_return_if_fail (g_curl_header_name_is_valid (name));
  g_return_if_fail (value == NULL || g_curl_header_value_is_valid (value));
  g_return_if_fail (!g_curl_transfer_is_running (self));

  g_curl_header_list_set (&self->easy.request_headers, name, value);
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
 * Since: 0.1
 */
void
g_curl_transfer_set_request_body (GCurlTransfer *self,
                                  GBytes        *body,
                                  const char    *content_type)
{
  g_return_if_fail (G_CURL_IS_TRANSFER (self));
  g_return_if_fail (content_type == NULL || g_curl_header_value_is_valid (content_type));
  g_return_if_fail (!g_curl_transfer_is_running (self));

  g_curl_easy_set_request_body (&self->easy, body, content_type);
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
 * Since: 0.1
 */
void
g_curl_transfer_set_request_stream (GCurlTransfer *self,
                                    GInputStream  *stream,
                                    gint64         length)
{
  g_return_if_fail (G_CURL_IS_TRANSFER (self));
  g_return_if_fail (stream == NULL || G_IS_INPUT_STREAM (stream));
  g_return_if_fail (length >= -1);
  g_return_if_fail (!g_curl_transfer_is_running (self));

  g_curl_easy_set_request_stream (&self->easy, stream, length);
}

/**
 * g_curl_transfer_get_state:
 * @self: a transfer
 *
 * Gets where the transfer is in its run (see [enum@GCurl.TransferState]).
 *
 * Returns: the state
 *
 * Since: 0.1
 */
GCurlTransferState
g_curl_transfer_get_state (GCurlTransfer *self)
{
  g_return_val_if_fail (G_CURL_IS_TRANSFER (self), G_CURL_TRANSFER_STATE_NEW);

  return self->state;
}

/**
 * g_curl_transfer_get_error:
 * @self: a transfer
 *
 * Gets why the transfer failed or that it was cancelled: a %G_CURL_ERROR
 * with libcurl's detailed message, or %G_IO_ERROR_CANCELLED.
 *
 * Returns: (transfer none) (nullable): the error, or %NULL unless the state
 *   is %G_CURL_TRANSFER_STATE_FAILED, %G_CURL_TRANSFER_STATE_CANCELLED or
 *   %G_CURL_TRANSFER_STATE_RETRYING (the failure retried)
 *
 * Since: 0.1
 */
const GError *
g_curl_transfer_get_error (GCurlTransfer *self)
{
  g_return_val_if_fail (G_CURL_IS_TRANSFER (self), NULL);

  if (self->state != G_CURL_TRANSFER_STATE_FAILED &&
      self->state != G_CURL_TRANSFER_STATE_CANCELLED && !g_curl_transfer_is_retrying (self))
    return NULL;

  return self->error;
}

/**
 * g_curl_transfer_get_max_download_speed:
 * @self: a transfer
 *
 * Gets the download speed limit.
 *
 * Returns: bytes per second, 0 for no limit
 *
 * Since: 0.1
 */
gint64
g_curl_transfer_get_max_download_speed (GCurlTransfer *self)
{
  g_return_val_if_fail (G_CURL_IS_TRANSFER (self), 0);

  return self->easy.max_download_speed;
}

/**
 * g_curl_transfer_set_max_download_speed:
 * @self: a transfer
 * @bytes_per_second: the limit, 0 for none
 *
 * Limits the download speed of the transfer; it may be changed while the
 * transfer runs and takes effect at once.
 *
 * Since: 0.1
 */
void
g_curl_transfer_set_max_download_speed (GCurlTransfer *self,
                                        gint64         bytes_per_second)
{
  g_return_if_fail (G_CURL_IS_TRANSFER (self));
  g_return_if_fail (bytes_per_second >= 0);

  if (self->easy.max_download_speed == bytes_per_second)
    return;

  self->easy.max_download_speed = bytes_per_second;
  /* Measure the new rate from now on. */
  g_curl_rate_limit_reset (&self->easy.rate);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_DOWNLOAD_SPEED]);
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
 * Since: 0.1
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
 * Since: 0.1
 */
GCurlTimings *
g_curl_transfer_get_timings (GCurlTransfer *self)
{
  g_return_val_if_fail (G_CURL_IS_TRANSFER (self), NULL);

  if (self->state == G_CURL_TRANSFER_STATE_NEW)
    return NULL;

  return g_curl_timings_new_for_handle (self->easy.handle, self->easy.redirect_time);
}

/* Internal API for GCurlMulti. */

/* Starts a run of the transfer in @engine, with @defaults (its multi's
 * settings). Returns TRUE if it is ready for g_curl_transfer_submit();
 * otherwise the run has ended with the error why. */
gboolean
g_curl_transfer_start (GCurlTransfer             *self,
                       GCurlEngine               *engine,
                       const GCurlRequestOptions *defaults)
{
  g_autoptr(GError) local_error = NULL;
  GCurlTransferState state;
  gboolean ready;
  guint changed;

  g_clear_error (&self->error);
  self->run_number++;
  /* The last run was redirected: the URL goes back to the first one. */
  changed = self->easy.redirect_url != NULL ? 1u << PROP_EFFECTIVE_URL : 0;
  g_curl_engine_start_run (engine, &self->easy.run);
  self->easy.hold_challenges = g_signal_has_handler_pending (self, signals[SIGNAL_AUTHENTICATE],
                                                             0, TRUE);
  ready = g_curl_easy_begin_run (&self->easy, defaults, self->options, &local_error);

  changed |= 1u << PROP_STATUS_CODE;
  state = g_curl_transfer_starting_state (self);
  if (self->state != state)
    {
      self->state = state;
      changed |= 1u << PROP_STATE;
    }
  self->segmented = -1;
  changed |= progress_props (g_curl_progress_reset (&self->progress));
  notify_props (self, changed);

  if (!ready)
    {
      g_curl_engine_end_run (&self->easy.run, g_steal_pointer (&local_error));
      return FALSE;
    }

  return TRUE;
}

/* The proxy the multi chose (see g_curl_easy_set_proxy()). */
void
g_curl_transfer_set_proxy (GCurlTransfer *self,
                           const char    *proxy)
{
  g_curl_easy_set_proxy (&self->easy, proxy);
}

void
g_curl_transfer_set_download_mode (GCurlTransfer *self,
                                   gboolean       download)
{
  self->easy.fail_on_http_error = download;
  self->easy.as_served = download;
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
GObject *
g_curl_transfer_get_owner (GCurlTransfer *self)
{
  return self->easy.run.keepalive;
}

/* Ends the run with @error, whether libcurl still runs it or has just
 * completed it and its "finished" is yet to come. */
void
g_curl_transfer_end (GCurlTransfer *self,
                     GError        *error)
{
  g_curl_engine_end_run (&self->easy.run, error);
}

/* download_async's question, as a run fails: will another follow? Then
 * the run ends RETRYING (or PAUSED, if it was) rather than FAILED. */
void
g_curl_transfer_set_retry_func (GCurlTransfer          *self,
                                GCurlTransferRetryFunc  func,
                                gpointer                user_data)
{
  self->retry_func = func;
  self->retry_data = user_data;
}

/* The download whose retry the transfer waits for has ended with @error
 * (NULL: none of its own), or the transfer was cancelled meanwhile: it
 * ends FAILED or CANCELLED after all. */
void
g_curl_transfer_settle (GCurlTransfer *self,
                        const GError  *error)
{
  if (!g_curl_transfer_is_retrying (self))
    return;

  self->easy.start_paused = FALSE;
  if (error != NULL)
    {
      g_clear_error (&self->error);
      self->error = g_error_copy (error);
    }
  g_curl_transfer_set_state (self, g_error_matches (self->error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
                                   ? G_CURL_TRANSFER_STATE_CANCELLED
                                   : G_CURL_TRANSFER_STATE_FAILED);
}

/* The run record's transfer. */
GCurlEasy *
g_curl_transfer_get_easy (GCurlTransfer *self)
{
  return &self->easy;
}

/* What "progress" said last (gcurl-figures.c reads it). */
const GCurlProgress *
g_curl_transfer_get_progress (GCurlTransfer *self)
{
  return &self->progress;
}

void
g_curl_transfer_set_progress_hook (GCurlTransfer *self,
                                   GFunc          hook,
                                   gpointer       data)
{
  self->progress_hook = hook;
  self->progress_hook_data = data;
}

static GCurlTransfer *
from_run (GCurlRun *run)
{
  return G_CURL_TRANSFER (run->object);
}

/* The speed limit allows more data now (from the engine's flush). */
static void
run_rate_resume (GCurlRun *run)
{
  g_curl_easy_rate_resume (&from_run (run)->easy);
}

gboolean
g_curl_transfer_is_completed (GCurlTransfer *self)
{
  return self->easy.run.completed;
}

/* Records the outcome; "finished" is emitted later, from the engine's
 * flush. */
/* The run no longer waits for the answer to its challenge. */
static void
drop_auth (GCurlTransfer *self)
{
  if (self->auth == NULL)
    return;

  g_curl_auth_detach (self->auth);
  g_clear_object (&self->auth);
}

static void
transfer_fail (GCurlTransfer *self,
               GError        *error)
{
  drop_auth (self);
  g_clear_error (&self->error);
  self->error = error;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_curl_transfer_set_state (self, G_CURL_TRANSFER_STATE_CANCELLED);
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
  GError *error = NULL;
  GCurlRunDoneAction action = g_curl_easy_done (&self->easy, result, &error);

  if (error != NULL)
    transfer_fail (self, error);
  else if (action == G_CURL_RUN_RESTART)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_EFFECTIVE_URL]);
  else if (action == G_CURL_RUN_HOLD && self->easy.challenge_waiting)
    {
      /* "authenticate" comes from the flush, where handlers may run (so
       * does "accept-certificate", the other reason for a hold). */
      drop_auth (self);
      self->auth = g_curl_easy_new_auth (&self->easy, auth_decided, self, &self->auth_retrying);
      self->auth_unasked = TRUE;
      g_curl_engine_mark_dirty (run);
    }

  return action;
}

/* The answer to the challenge the run waits for: from the handler of
 * "authenticate", or later, from anywhere on the multi's context. */
static void
auth_decided (GCurlAuth *auth,
              gpointer   user_data)
{
  GCurlTransfer *self = user_data;
  g_autoptr(GCurlAuth) held = NULL;
  GError *error = NULL;

  /* Ended meanwhile (drop_auth() detaches first: this is a safeguard). */
  if (self->auth != auth || !g_curl_easy_is_running (&self->easy))
    return;

  held = g_steal_pointer (&self->auth);
  self->auth_unasked = FALSE;

  if (g_curl_auth_get_state (auth) == G_CURL_AUTH_AUTHENTICATED)
    {
      if (g_curl_easy_answer_challenge (&self->easy, auth, &error))
        g_curl_engine_submit (&self->easy.run);
      else
        g_curl_engine_end_run (&self->easy.run, error);
      return;
    }

  error = g_curl_easy_refuse_challenge (&self->easy);
  if (error != NULL)
    transfer_fail (self, error);
  g_curl_engine_finish_held (&self->easy.run);
}

/* Asks the handlers of "authenticate" about the challenge the run holds. */
static void
ask_authenticate (GCurlTransfer *self)
{
  g_autoptr(GCurlAuth) auth = g_object_ref (self->auth);
  gboolean handled = FALSE;

  self->auth_unasked = FALSE;
  g_signal_emit (self, signals[SIGNAL_AUTHENTICATE], 0, auth, self->auth_retrying, &handled);
  if (!handled)
    g_curl_auth_cancel (auth);
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

static gint64
shown_downloaded (GCurlTransfer *self)
{
  return self->segmented >= 0 ? self->segmented : self->easy.downloaded;
}

/* Emits "progress" with the current figures; returns the properties that
 * changed, for the caller to notify. */
static guint
report_progress (GCurlTransfer *self,
                 gint64         now)
{
  GCurlEasy *easy = &self->easy;
  guint changes = g_curl_progress_report (&self->progress, now, shown_downloaded (self),
                                          easy->download_size, g_curl_easy_uploaded (easy),
                                          g_curl_easy_get_upload_size (easy), easy->run.completed,
                                          easy->run.completed && self->error == NULL);

  g_signal_emit (self, signals[SIGNAL_PROGRESS], 0,
                 self->progress.downloaded, self->progress.download_size,
                 self->progress.uploaded, self->progress.upload_size);
  if (self->progress_hook != NULL)
    self->progress_hook (self, self->progress_hook_data);

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
  GCurlEasy *easy = &self->easy;

  g_curl_easy_read_ahead (easy);
  g_curl_easy_emit_log (easy);
  if (g_curl_transfer_tls_flush (self))
    return TRUE;

  if (self->auth_unasked)
    ask_authenticate (self);

  /* The multi holds the transfer until "finished", whatever handlers do. */
  if (easy->headers_pending)
    {
      easy->headers_pending = FALSE;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATUS_CODE]);
      g_signal_emit (self, signals[SIGNAL_GOT_HEADERS], 0);
    }

  /* The stream's reader may be waiting for what the sink took. */
  if (easy->sink->funcs->flush != NULL)
    easy->sink->funcs->flush (easy->sink);

  if (self->state == G_CURL_TRANSFER_STATE_QUEUED && easy->phase >= G_CURL_PHASE_ACTIVE)
    g_curl_transfer_set_state (self, G_CURL_TRANSFER_STATE_RUNNING);
  /* A handler may have cancelled it: then "finished" says the rest. */
  if (easy->run.completed || !g_curl_transfer_is_running (self))
    return TRUE;

  if (!g_curl_progress_changed (&self->progress, shown_downloaded (self), easy->download_size,
                                g_curl_easy_uploaded (easy)))
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
  GCurlEasy *easy = &self->easy;
  GCurlTransferEnding ending;
  GCurlTransferState state;
  guint changed = 0;

  g_curl_easy_emit_log (easy);
  drop_auth (self);
  /* It sent its request in the libcurl call it ended in. */
  if (self->state == G_CURL_TRANSFER_STATE_QUEUED && easy->phase >= G_CURL_PHASE_ACTIVE)
    g_curl_transfer_set_state (self, G_CURL_TRANSFER_STATE_RUNNING);
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
  if (easy->headers_pending && state != G_CURL_TRANSFER_STATE_CANCELLED)
    {
      easy->headers_pending = FALSE;
      changed |= 1u << PROP_STATUS_CODE;
      g_signal_emit (self, signals[SIGNAL_GOT_HEADERS], 0);

      /* Its handler may have failed the transfer (download_async does,
       * for an HTTP error status). */
      if (self->error != NULL && state == G_CURL_TRANSFER_STATE_SUCCEEDED)
        state = G_CURL_TRANSFER_STATE_FAILED;
    }
  easy->headers_pending = FALSE;
  if (state == G_CURL_TRANSFER_STATE_FAILED && self->retry_func != NULL &&
      self->retry_func (self, self->error, self->retry_data))
    state = g_curl_transfer_retrying_state (self);

  changed |= report_progress (self, g_get_monotonic_time ());
  if (self->state != state)
    {
      self->state = state;
      changed |= 1u << PROP_STATE;
    }
  easy->pause_requested = FALSE;
  easy->paused_in_curl = FALSE;

  /* From here on, handlers (of notify::state, of "finished") may start the
   * next run. A sink (send_async's stream) takes the body of this run
   * only: it learns how the run ended first, and is unset. The library's
   * own handlers, which may come after the application's, read this run's
   * end from the ending. */
  if (easy->sink->funcs->end != NULL)
    easy->sink->funcs->end (easy->sink, self->error);
  g_curl_easy_set_sink (easy, NULL);

  ending.run = self->run_number;
  ending.error = self->error != NULL ? g_error_copy (self->error) : NULL;
  ending.body = easy->body_bytes != NULL ? g_bytes_ref (easy->body_bytes) : NULL;
  ending.outer = self->ending;
  self->ending = &ending;

  g_curl_transfer_tls_notify (self);
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

/* The watchdog's questions go to the easy handle (see gcurl-easy.c). */
static gint64
run_watch_due (GCurlRun *run,
               gint64    now,
               gboolean  nudging,
               gboolean *nudge_again)
{
  return g_curl_easy_watch_due (&from_run (run)->easy, now, nudging, nudge_again);
}

static GError *
run_watch (GCurlRun *run,
           gint64    now,
           gboolean *nudge,
           gint64   *next_due)
{
  return g_curl_easy_watch (&from_run (run)->easy, now, nudge, next_due);
}

/* See g_curl_easy_set_sink(): the sink is unset once "finished" is due. */
void
g_curl_transfer_set_sink (GCurlTransfer *self,
                          GCurlBodySink *sink)
{
  g_curl_easy_set_sink (&self->easy, sink);
}

/* A segmented download (gcurl-download-segments.c): what
 * "downloaded-bytes" says, every connection's bytes (-1: the run's own),
 * reported at the next flush, throttled as ever. */
void
g_curl_transfer_set_segmented_bytes (GCurlTransfer *self,
                                     gint64         downloaded)
{
  self->segmented = downloaded;
  g_curl_engine_mark_dirty (&self->easy.run);
  g_curl_engine_wake (&self->easy.run);
}

/* The sink has room again (see g_curl_easy_unpause_sink()). */
void
g_curl_transfer_unpause_sink (GCurlTransfer *self)
{
  g_curl_easy_unpause_sink (&self->easy);
}

static const char *
run_describe (GCurlRun *run)
{
  return g_curl_transfer_get_shown_url (from_run (run));
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

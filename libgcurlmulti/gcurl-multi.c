/* gcurl-multi.c: transfers run together on one main context
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "gcurl-engine-private.h"
#include "gcurl-enum-types.h"
#include "gcurl-error.h"
#include "gcurl-error-private.h"
#include "gcurl-input-stream-private.h"
#include "gcurl-multi.h"
#include "gcurl-multi-private.h"
#include "gcurl-source-private.h"
#include "gcurl-transfer-private.h"
#include "gcurl-util-private.h"

/**
 * GCurlMulti:
 *
 * Runs [class@GCurl.Transfer]s together on one `GMainContext`, through one
 * libcurl multi handle driven by a [func@GCurl.source_new] source: no
 * threads, no polling, and no wakeups while nothing runs.
 *
 * A multi belongs to the thread-default main context of the thread that
 * creates it (or to its [property@GCurl.Multi:context]) and is used from
 * that context's thread; several multis on several threads run
 * independently. Connections are shared by the transfers of one multi.
 *
 * Each running transfer keeps its multi alive, as a `GTask` keeps its
 * source object: an application may drop its last reference to the multi
 * while transfers run, and they finish normally.
 *
 * The multi's properties (allowed protocols, redirects, TLS CA file, user
 * agent, stall timeout) are the settings of every transfer it starts.
 *
 * Since: 1.0
 */

#define GCURL_DEFAULT_PROGRESS_INTERVAL_MS 100
#define GCURL_DEFAULT_MAX_REDIRECTS 10
#define GCURL_DEFAULT_STALL_TIMEOUT_S 60
#define GCURL_DEFAULT_ALLOWED_PROTOCOLS "http,https"
#define GCURL_DEFAULT_DOWNLOAD_RETRIES 3
#define GCURL_DEFAULT_RETRY_DELAY_MS 1000
#define GCURL_DEFAULT_MAX_BODY_SIZE (G_GUINT64_CONSTANT (256) * 1024 * 1024)

/* How long the proxy resolver's answer for an origin is kept: proxies are
 * chosen per host in practice (libsoup asks once per connection), and a
 * network change forgets them all at once. */
#define GCURL_PROXY_CACHE_TTL_US (60 * G_USEC_PER_SEC)

struct _GCurlMulti
{
  GObject             parent_instance;

  GMainContext       *context;
  GCurlSourceBackend  backend;
  GCurlEngine        *engine;         /* (owned): the CURLM and the runs */

  /* Properties. */
  guint               max_total_connections;
  guint               max_host_connections;
  guint               progress_interval;  /* ms */
  guint               download_retries;
  guint               retry_delay;        /* ms */
  GCurlRequestOptions defaults;           /* the settings of every transfer
                                           * (proxy NULL: ask proxy_resolver) */
  GProxyResolver     *proxy_resolver;     /* NULL: libcurl's own choice */
  GHashTable         *proxy_cache;        /* origin → ProxyCacheEntry */
  GHashTable         *proxy_pending;      /* origin → GPtrArray of ProxyWaiter */
  GNetworkMonitor    *network_monitor;
  gulong              network_changed_id;
  guint               proxy_resolver_set : 1;   /* at construction */
  guint               network_monitor_set : 1;
};

typedef struct
{
  char   *proxy;                          /* for CURLOPT_PROXY; "" = none,
                                           * NULL = none, and libcurl's
                                           * default says so too */
  gint64  expires;                        /* monotonic µs */
} ProxyCacheEntry;

enum {
  PROP_0,
  PROP_CONTEXT,
  PROP_BACKEND,
  PROP_MAX_TOTAL_CONNECTIONS,
  PROP_MAX_HOST_CONNECTIONS,
  PROP_PROGRESS_INTERVAL,
  PROP_N_TRANSFERS,
  PROP_ALLOWED_PROTOCOLS,
  PROP_MAX_REDIRECTS,
  PROP_TLS_CA_FILE,
  PROP_USER_AGENT,
  PROP_STALL_TIMEOUT,
  PROP_DOWNLOAD_RETRIES,
  PROP_RETRY_DELAY,
  PROP_PROXY,
  PROP_PROXY_RESOLVER,
  PROP_NETWORK_MONITOR,
  PROP_MAX_BODY_SIZE,
  PROP_MULTIPLEX,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (GCurlMulti, g_curl_multi, G_TYPE_OBJECT)

static void
proxy_cache_entry_free (gpointer data)
{
  ProxyCacheEntry *entry = data;

  g_free (entry->proxy);
  g_free (entry);
}

static void set_network_monitor (GCurlMulti      *self,
                                 GNetworkMonitor *monitor);

/* Test hook: the source of the multi's CURLM. */
GSource *
g_curl_multi_get_source (GCurlMulti *self)
{
  return self->engine != NULL ? g_curl_engine_get_source (self->engine) : NULL;
}

guint
g_curl_multi_get_download_retries (GCurlMulti *self)
{
  return self->download_retries;
}

guint
g_curl_multi_get_retry_delay (GCurlMulti *self)
{
  return self->retry_delay;
}

gint64
g_curl_multi_get_watchdog_due (GCurlMulti *self)
{
  return g_curl_engine_get_watchdog_due (self->engine);
}

/* Ends a transfer with @error, whether libcurl still runs it or has just
 * completed it and its "finished" is yet to come. */
void
g_curl_multi_fail_transfer (GCurlMulti    *self,
                            GCurlTransfer *transfer,
                            GError        *error)
{
  g_curl_transfer_end (transfer, error);
}

static void
notify_n_transfers (gpointer object,
                    gpointer user_data)
{
  g_object_notify_by_pspec (object, properties[PROP_N_TRANSFERS]);
}

/* The settings of the CURLM itself. */
static void
apply_multi_options (GCurlMulti *self)
{
  CURLM *handle;

  if (self->engine == NULL)
    return;

  handle = g_curl_engine_get_handle (self->engine);
  curl_multi_setopt (handle, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long) self->max_total_connections);
  curl_multi_setopt (handle, CURLMOPT_MAX_HOST_CONNECTIONS, (long) self->max_host_connections);
  curl_multi_setopt (handle, CURLMOPT_PIPELINING,
                     self->defaults.multiplex > 0 ? CURLPIPE_MULTIPLEX : CURLPIPE_NOTHING);
}

static void
g_curl_multi_constructed (GObject *object)
{
  GCurlMulti *self = G_CURL_MULTI (object);

  G_OBJECT_CLASS (g_curl_multi_parent_class)->constructed (object);

  if (self->context == NULL)
    self->context = g_main_context_ref_thread_default ();

  self->engine = g_curl_engine_new (self->context, self->backend, object, "GCurlMulti");
  self->backend = g_curl_source_get_backend (g_curl_engine_get_source (self->engine));
  g_curl_engine_set_count_func (self->engine, notify_n_transfers, NULL);
  g_curl_engine_set_progress_interval (self->engine, self->progress_interval);

  apply_multi_options (self);

  if (!self->proxy_resolver_set)
    self->proxy_resolver = g_object_ref (g_proxy_resolver_get_default ());
  if (!self->network_monitor_set)
    set_network_monitor (self, g_network_monitor_get_default ());
}

static void
g_curl_multi_dispose (GObject *object)
{
  GCurlMulti *self = G_CURL_MULTI (object);

  /* Running transfers keep us alive, so there are none here unless
   * g_object_run_dispose() was called: the engine ends them cleanly. */
  g_clear_pointer (&self->engine, g_curl_engine_free);
  g_clear_object (&self->proxy_resolver);
  if (self->network_monitor != NULL)
    g_clear_signal_handler (&self->network_changed_id, self->network_monitor);
  g_clear_object (&self->network_monitor);

  G_OBJECT_CLASS (g_curl_multi_parent_class)->dispose (object);
}

static void
g_curl_multi_finalize (GObject *object)
{
  GCurlMulti *self = G_CURL_MULTI (object);

  g_clear_pointer (&self->context, g_main_context_unref);
  g_curl_request_options_clear (&self->defaults);
  g_clear_pointer (&self->proxy_cache, g_hash_table_unref);
  g_clear_pointer (&self->proxy_pending, g_hash_table_unref);

  G_OBJECT_CLASS (g_curl_multi_parent_class)->finalize (object);
}

/* Refuses a list libcurl does not accept, which would otherwise leave
 * every protocol it has enabled. */
static void
set_uint (GCurlMulti *self,
          guint      *field,
          guint       value,
          guint       prop_id)
{
  if (*field == value)
    return;

  *field = value;
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop_id]);
}

/* The settings every transfer starts with, as properties. */
static void
set_default_string (GCurlMulti  *self,
                    char       **field,
                    const char  *value,
                    guint        prop_id)
{
  if (g_curl_request_options_set_string (&self->defaults, field, value))
    g_object_notify_by_pspec (G_OBJECT (self), properties[prop_id]);
}

static void
set_default_int (GCurlMulti *self,
                 int        *field,
                 int         value,
                 guint       prop_id)
{
  if (g_curl_request_options_set_int (&self->defaults, field, value))
    g_object_notify_by_pspec (G_OBJECT (self), properties[prop_id]);
}

static void
forget_proxies (GCurlMulti *self)
{
  g_hash_table_remove_all (self->proxy_cache);
}

static gboolean
forget_proxies_cb (gpointer user_data)
{
  g_autoptr(GCurlMulti) self = g_weak_ref_get (user_data);

  if (self != NULL)
    forget_proxies (self);
  return G_SOURCE_REMOVE;
}

static void
weak_ref_free (gpointer data)
{
  g_weak_ref_clear (data);
  g_free (data);
}

/* The monitor signals from the context it was made in, which may be
 * another thread's: the cache is only touched from the multi's. */
static void
network_changed_cb (GNetworkMonitor *monitor,
                    gboolean         available,
                    gpointer         user_data)
{
  GCurlMulti *self = user_data;
  GWeakRef *ref;

  if (g_main_context_is_owner (self->context))
    {
      /* Another network may have other proxies. */
      forget_proxies (self);
      return;
    }

  ref = g_new0 (GWeakRef, 1);
  g_weak_ref_init (ref, self);
  g_main_context_invoke_full (self->context, G_PRIORITY_DEFAULT, forget_proxies_cb,
                              ref, weak_ref_free);
}

static void
set_network_monitor (GCurlMulti      *self,
                     GNetworkMonitor *monitor)
{
  if (self->network_monitor == monitor)
    return;

  if (self->network_monitor != NULL)
    g_clear_signal_handler (&self->network_changed_id, self->network_monitor);
  g_set_object (&self->network_monitor, monitor);
  if (monitor != NULL)
    self->network_changed_id = g_signal_connect_object (monitor, "network-changed",
                                                        G_CALLBACK (network_changed_cb),
                                                        self, 0);
  forget_proxies (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_NETWORK_MONITOR]);
}

static void
g_curl_multi_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  GCurlMulti *self = G_CURL_MULTI (object);

  switch (prop_id)
    {
    case PROP_CONTEXT:
      g_value_set_boxed (value, self->context);
      break;
    case PROP_BACKEND:
      g_value_set_enum (value, self->backend);
      break;
    case PROP_MAX_TOTAL_CONNECTIONS:
      g_value_set_uint (value, self->max_total_connections);
      break;
    case PROP_MAX_HOST_CONNECTIONS:
      g_value_set_uint (value, self->max_host_connections);
      break;
    case PROP_PROGRESS_INTERVAL:
      g_value_set_uint (value, self->progress_interval);
      break;
    case PROP_N_TRANSFERS:
      g_value_set_uint (value, self->engine != NULL ? g_curl_engine_get_n_runs (self->engine) : 0);
      break;
    case PROP_ALLOWED_PROTOCOLS:
      g_value_set_string (value, self->defaults.allowed_protocols);
      break;
    case PROP_MAX_REDIRECTS:
      g_value_set_uint (value, (guint) self->defaults.max_redirects);
      break;
    case PROP_TLS_CA_FILE:
      g_value_set_string (value, self->defaults.tls_ca_file);
      break;
    case PROP_USER_AGENT:
      g_value_set_string (value, self->defaults.user_agent);
      break;
    case PROP_STALL_TIMEOUT:
      g_value_set_uint (value, (guint) self->defaults.stall_timeout);
      break;
    case PROP_DOWNLOAD_RETRIES:
      g_value_set_uint (value, self->download_retries);
      break;
    case PROP_RETRY_DELAY:
      g_value_set_uint (value, self->retry_delay);
      break;
    case PROP_PROXY:
      g_value_set_string (value, self->defaults.proxy);
      break;
    case PROP_PROXY_RESOLVER:
      g_value_set_object (value, self->proxy_resolver);
      break;
    case PROP_NETWORK_MONITOR:
      g_value_set_object (value, self->network_monitor);
      break;
    case PROP_MAX_BODY_SIZE:
      g_value_set_uint64 (value, self->defaults.max_body_size);
      break;
    case PROP_MULTIPLEX:
      g_value_set_boolean (value, self->defaults.multiplex > 0);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
g_curl_multi_set_property (GObject      *object,
                           guint         prop_id,
                           const GValue *value,
                           GParamSpec   *pspec)
{
  GCurlMulti *self = G_CURL_MULTI (object);

  switch (prop_id)
    {
    case PROP_CONTEXT:
      self->context = g_value_dup_boxed (value);
      break;
    case PROP_BACKEND:
      self->backend = g_value_get_enum (value);
      break;
    case PROP_MAX_TOTAL_CONNECTIONS:
      set_uint (self, &self->max_total_connections, g_value_get_uint (value), prop_id);
      apply_multi_options (self);
      break;
    case PROP_MAX_HOST_CONNECTIONS:
      set_uint (self, &self->max_host_connections, g_value_get_uint (value), prop_id);
      apply_multi_options (self);
      break;
    case PROP_PROGRESS_INTERVAL:
      set_uint (self, &self->progress_interval, g_value_get_uint (value), prop_id);
      if (self->engine != NULL)
        g_curl_engine_set_progress_interval (self->engine, self->progress_interval);
      break;
    case PROP_ALLOWED_PROTOCOLS:
      {
        const char *protocols = g_value_get_string (value);

        if (protocols == NULL)
          protocols = GCURL_DEFAULT_ALLOWED_PROTOCOLS;
        if (!g_curl_protocols_valid (protocols))
          {
            g_critical ("“%s” is not a list of protocols libcurl supports; "
                        "GCurlMulti:allowed-protocols stays “%s”",
                        protocols, self->defaults.allowed_protocols);
            break;
          }
        set_default_string (self, &self->defaults.allowed_protocols, protocols, prop_id);
      }
      break;
    case PROP_MAX_REDIRECTS:
      set_default_int (self, &self->defaults.max_redirects, (int) g_value_get_uint (value),
                       prop_id);
      break;
    case PROP_TLS_CA_FILE:
      set_default_string (self, &self->defaults.tls_ca_file, g_value_get_string (value), prop_id);
      break;
    case PROP_USER_AGENT:
      {
        const char *agent = g_value_get_string (value);

        if (agent != NULL && strpbrk (agent, "\r\n") != NULL)
          {
            g_critical ("GCurlMulti:user-agent must not contain CR or LF");
            break;
          }
        set_default_string (self, &self->defaults.user_agent, agent, prop_id);
      }
      break;
    case PROP_STALL_TIMEOUT:
      if (g_curl_request_options_set_int64 (&self->defaults, &self->defaults.stall_timeout,
                                            g_value_get_uint (value)))
        g_object_notify_by_pspec (object, pspec);
      break;
    case PROP_DOWNLOAD_RETRIES:
      set_uint (self, &self->download_retries, g_value_get_uint (value), prop_id);
      break;
    case PROP_RETRY_DELAY:
      set_uint (self, &self->retry_delay, g_value_get_uint (value), prop_id);
      break;
    case PROP_PROXY:
      {
        const char *proxy = g_value_get_string (value);

        if (proxy != NULL && strpbrk (proxy, "\r\n") != NULL)
          {
            g_critical ("GCurlMulti:proxy must not contain CR or LF");
            break;
          }
        set_default_string (self, &self->defaults.proxy, proxy, prop_id);
      }
      break;
    case PROP_PROXY_RESOLVER:
      self->proxy_resolver_set = TRUE;
      if (g_set_object (&self->proxy_resolver, g_value_get_object (value)))
        {
          forget_proxies (self);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    case PROP_NETWORK_MONITOR:
      self->network_monitor_set = TRUE;
      set_network_monitor (self, g_value_get_object (value));
      break;
    case PROP_MAX_BODY_SIZE:
      if (self->defaults.max_body_size != g_value_get_uint64 (value))
        {
          self->defaults.max_body_size = g_value_get_uint64 (value);
          g_curl_request_options_touch (&self->defaults);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    case PROP_MULTIPLEX:
      set_default_int (self, &self->defaults.multiplex, g_value_get_boolean (value), prop_id);
      apply_multi_options (self);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
g_curl_multi_class_init (GCurlMultiClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  g_curl_init_i18n ();

  object_class->constructed = g_curl_multi_constructed;
  object_class->dispose = g_curl_multi_dispose;
  object_class->finalize = g_curl_multi_finalize;
  object_class->get_property = g_curl_multi_get_property;
  object_class->set_property = g_curl_multi_set_property;

  /**
   * GCurlMulti:context:
   *
   * The main context the multi's transfers run on: by default the
   * thread-default main context of the thread that created the multi.
   *
   * Since: 1.0
   */
  properties[PROP_CONTEXT] =
    g_param_spec_boxed ("context", NULL, NULL, G_TYPE_MAIN_CONTEXT,
                        G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY |
                        G_PARAM_STATIC_STRINGS);

  /**
   * GCurlMulti:backend:
   *
   * How the multi's source watches sockets; see [enum@GCurl.SourceBackend].
   * Reading it gives the backend in use.
   *
   * Since: 1.0
   */
  properties[PROP_BACKEND] =
    g_param_spec_enum ("backend", NULL, NULL,
                       G_CURL_TYPE_SOURCE_BACKEND, G_CURL_SOURCE_BACKEND_DEFAULT,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY |
                       G_PARAM_STATIC_STRINGS);

  /**
   * GCurlMulti:max-total-connections:
   *
   * The most connections open at once (`CURLMOPT_MAX_TOTAL_CONNECTIONS`);
   * transfers beyond it wait for a connection. 0 means no limit.
   *
   * Since: 1.0
   */
  properties[PROP_MAX_TOTAL_CONNECTIONS] =
    g_param_spec_uint ("max-total-connections", NULL, NULL, 0, G_MAXINT, 0,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY |
                       G_PARAM_STATIC_STRINGS);

  /**
   * GCurlMulti:max-host-connections:
   *
   * The most connections open at once to one host
   * (`CURLMOPT_MAX_HOST_CONNECTIONS`). 0 means no limit.
   *
   * Since: 1.0
   */
  properties[PROP_MAX_HOST_CONNECTIONS] =
    g_param_spec_uint ("max-host-connections", NULL, NULL, 0, G_MAXINT, 0,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY |
                       G_PARAM_STATIC_STRINGS);

  /**
   * GCurlMulti:progress-interval:
   *
   * The least time, in milliseconds, between two
   * [signal@GCurl.Transfer::progress] emissions of one transfer (and the
   * notifications of its figures). 0 reports after every event.
   *
   * Since: 1.0
   */
  properties[PROP_PROGRESS_INTERVAL] =
    g_param_spec_uint ("progress-interval", NULL, NULL, 0, G_MAXUINT,
                       GCURL_DEFAULT_PROGRESS_INTERVAL_MS,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT | G_PARAM_EXPLICIT_NOTIFY |
                       G_PARAM_STATIC_STRINGS);

  /**
   * GCurlMulti:n-transfers:
   *
   * How many transfers were added and have not finished yet.
   *
   * Since: 1.0
   */
  properties[PROP_N_TRANSFERS] =
    g_param_spec_uint ("n-transfers", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY |
                       G_PARAM_STATIC_STRINGS);

  /**
   * GCurlMulti:allowed-protocols:
   *
   * The URL schemes transfers may use, for requests and redirects alike,
   * as libcurl's comma-separated list (`CURLOPT_PROTOCOLS_STR`): by default
   * `http,https`. A list libcurl does not accept is refused with a critical
   * and the property keeps its value. A transfer to another scheme fails
   * with %G_CURL_ERROR_UNSUPPORTED_PROTOCOL.
   *
   * Since: 1.0
   */
  properties[PROP_ALLOWED_PROTOCOLS] =
    g_param_spec_string ("allowed-protocols", NULL, NULL,
                         GCURL_DEFAULT_ALLOWED_PROTOCOLS,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT | G_PARAM_EXPLICIT_NOTIFY |
                         G_PARAM_STATIC_STRINGS);

  /**
   * GCurlMulti:max-redirects:
   *
   * How many redirects a transfer follows; one more fails it with
   * %G_CURL_ERROR_TOO_MANY_REDIRECTS. 0 follows none: the redirect is then
   * the response.
   *
   * Since: 1.0
   */
  properties[PROP_MAX_REDIRECTS] =
    g_param_spec_uint ("max-redirects", NULL, NULL, 0, G_MAXINT,
                       GCURL_DEFAULT_MAX_REDIRECTS,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT | G_PARAM_EXPLICIT_NOTIFY |
                       G_PARAM_STATIC_STRINGS);

  /**
   * GCurlMulti:tls-ca-file:
   *
   * A PEM file of the certificate authorities to trust instead of the
   * system's, or %NULL for the system's. Peer and host verification are
   * always on. It applies to transfers started after it is set.
   *
   * Since: 1.0
   */
  properties[PROP_TLS_CA_FILE] =
    g_param_spec_string ("tls-ca-file", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY |
                         G_PARAM_STATIC_STRINGS);

  /**
   * GCurlMulti:user-agent:
   *
   * The `User-Agent` header of the transfers, or %NULL for
   * `libgcurlmulti/VERSION`.
   *
   * Since: 1.0
   */
  properties[PROP_USER_AGENT] =
    g_param_spec_string ("user-agent", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY |
                         G_PARAM_STATIC_STRINGS);

  /**
   * GCurlMulti:stall-timeout:
   *
   * Seconds without receiving a byte after which a transfer that has sent
   * its request fails with %G_CURL_ERROR_OPERATION_TIMEDOUT; 0 turns the
   * watchdog off. Transfers waiting for a connection and paused transfers
   * are not timed. The watchdog wakes up at the earliest deadline (the last
   * byte received plus this timeout), not at regular ticks, so a stall is
   * noticed on time, and a loop whose transfers are all idle is not woken
   * before one of them can stall.
   *
   * Since: 1.0
   */
  properties[PROP_STALL_TIMEOUT] =
    g_param_spec_uint ("stall-timeout", NULL, NULL, 0, G_MAXUINT,
                       GCURL_DEFAULT_STALL_TIMEOUT_S,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT | G_PARAM_EXPLICIT_NOTIFY |
                       G_PARAM_STATIC_STRINGS);

  /**
   * GCurlMulti:download-retries:
   *
   * How many times [method@GCurl.Multi.download_async] tries again after a
   * transient failure (a refused connection, a name that does not resolve,
   * the connection lost mid-body, a stall, HTTP 408, 429 or 5xx), each time
   * resuming from the `.part` file.
   *
   * Since: 1.0
   */
  properties[PROP_DOWNLOAD_RETRIES] =
    g_param_spec_uint ("download-retries", NULL, NULL, 0, 100,
                       GCURL_DEFAULT_DOWNLOAD_RETRIES,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT | G_PARAM_EXPLICIT_NOTIFY |
                       G_PARAM_STATIC_STRINGS);

  /**
   * GCurlMulti:retry-delay:
   *
   * Milliseconds before the first retry of a download, about: each wait
   * is between half of its delay and all of it (jitter, so that downloads
   * that failed together do not retry together), and each further retry's
   * delay is twice the one before. A `Retry-After` from the server (seconds
   * or a date, up to five minutes) is honoured when it asks for longer.
   *
   * Since: 1.0
   */
  properties[PROP_RETRY_DELAY] =
    g_param_spec_uint ("retry-delay", NULL, NULL, 1, 3600 * 1000,
                       GCURL_DEFAULT_RETRY_DELAY_MS,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT | G_PARAM_EXPLICIT_NOTIFY |
                       G_PARAM_STATIC_STRINGS);

  /**
   * GCurlMulti:proxy:
   *
   * The proxy every transfer goes through, as libcurl takes it
   * (`http://host:port`, `socks5h://host:port`…), or the empty string for
   * none. %NULL, the default, asks [property@GCurl.Multi:proxy-resolver]
   * for each origin (the desktop's proxy settings). A transfer's own
   * [property@GCurl.Transfer:proxy] takes precedence.
   *
   * When the proxy cannot be found or reached, or refuses the tunnel to an
   * `https` server, the error says so and names the proxy (without its
   * password); its code is libcurl's (%G_CURL_ERROR_COULDNT_RESOLVE_PROXY,
   * %G_CURL_ERROR_COULDNT_CONNECT…).
   *
   * Since: 1.0
   */
  properties[PROP_PROXY] =
    g_param_spec_string ("proxy", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY |
                         G_PARAM_STATIC_STRINGS);

  /**
   * GCurlMulti:proxy-resolver:
   *
   * What chooses the proxy of each transfer when neither it nor the multi
   * names one: by default g_proxy_resolver_get_default(), which follows
   * the desktop's settings (with glib-networking). It is asked about the
   * origin of a URL only (`scheme://host:port/`: no user, password, path
   * or query, which a PAC script from the network has no business seeing),
   * and its answer is kept for a minute, and forgotten when
   * [property@GCurl.Multi:network-monitor] says the network changed. %NULL
   * leaves the choice to libcurl (its `http_proxy`, `https_proxy` and
   * `no_proxy` environment variables), as does GLib's resolver when no
   * module provides one.
   *
   * Since: 1.0
   */
  properties[PROP_PROXY_RESOLVER] =
    g_param_spec_object ("proxy-resolver", NULL, NULL, G_TYPE_PROXY_RESOLVER,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY |
                         G_PARAM_STATIC_STRINGS);

  /**
   * GCurlMulti:network-monitor:
   *
   * What tells the multi that the network changed, by default
   * g_network_monitor_get_default(). A change forgets the proxies chosen so
   * far, and a download waiting to retry after a failure
   * ([method@GCurl.Multi.download_async]) retries at once when the network
   * is available again. %NULL for none.
   *
   * Since: 1.0
   */
  properties[PROP_NETWORK_MONITOR] =
    g_param_spec_object ("network-monitor", NULL, NULL, G_TYPE_NETWORK_MONITOR,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY |
                         G_PARAM_STATIC_STRINGS);

  /**
   * GCurlMulti:max-body-size:
   *
   * The largest response body, in bytes, that a transfer collects in
   * memory ([method@GCurl.Multi.add_transfer],
   * [method@GCurl.Multi.send_and_read_async]): a larger one, announced by
   * `Content-Length` or counted as it arrives (after any decoding, so a
   * compressed body cannot inflate past it), stops the transfer with
   * %G_CURL_ERROR_FILESIZE_EXCEEDED. Streamed bodies
   * ([method@GCurl.Multi.send_async], [method@GCurl.Multi.download_async])
   * are not held in memory and have no such limit. 0 for none; 256 MiB by
   * default. A change applies to the transfers added after it.
   *
   * Since: 1.0
   */
  properties[PROP_MAX_BODY_SIZE] =
    g_param_spec_uint64 ("max-body-size", NULL, NULL, 0, G_MAXUINT64,
                         GCURL_DEFAULT_MAX_BODY_SIZE,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT | G_PARAM_EXPLICIT_NOTIFY |
                         G_PARAM_STATIC_STRINGS);

  /**
   * GCurlMulti:multiplex:
   *
   * Whether transfers to one HTTP/2 server run as streams of one
   * connection. When several transfers to an `https` origin start at once,
   * each waits for the connection in progress to learn (by ALPN) whether it
   * multiplexes, rather than open a connection of its own
   * (`CURLOPT_PIPEWAIT`): 50 transfers added together then use one TLS
   * connection where HTTP/2 is spoken, as `curl -Z` does. %FALSE gives
   * every transfer a connection of its own, HTTP/2 or not. Plain `http`
   * URLs are HTTP/1.1 and never wait. %TRUE by default; a change applies
   * to the transfers added after it.
   *
   * Since: 1.0
   */
  properties[PROP_MULTIPLEX] =
    g_param_spec_boolean ("multiplex", NULL, NULL, TRUE,
                          G_PARAM_READWRITE | G_PARAM_CONSTRUCT | G_PARAM_EXPLICIT_NOTIFY |
                          G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
g_curl_multi_init (GCurlMulti *self)
{
  g_curl_request_options_init (&self->defaults);
  /* No transfer of the multi's waits for a connection by default; the
   * other numbers are set as construct properties. */
  self->defaults.connect_timeout = 0;
  self->defaults.timeout = 0;
  self->proxy_cache = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                             proxy_cache_entry_free);
  self->proxy_pending = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                               (GDestroyNotify) g_ptr_array_unref);
}

/**
 * g_curl_multi_new:
 *
 * Creates a multi that runs transfers on the thread-default main context.
 *
 * Returns: (transfer full): a new multi
 *
 * Since: 1.0
 */
GCurlMulti *
g_curl_multi_new (void)
{
  return g_object_new (G_CURL_TYPE_MULTI, NULL);
}

/**
 * g_curl_multi_get_context:
 * @self: a multi
 *
 * Gets the main context the multi's transfers run on.
 *
 * Returns: (transfer none): the main context
 *
 * Since: 1.0
 */
GMainContext *
g_curl_multi_get_context (GCurlMulti *self)
{
  g_return_val_if_fail (G_CURL_IS_MULTI (self), NULL);

  return self->context;
}

/**
 * g_curl_multi_get_handle: (skip)
 * @self: a multi
 *
 * Gets the libcurl multi handle, to set multi options the library has no
 * property for. Do not change its socket or timer functions.
 *
 * Returns: (transfer none): the multi handle, owned by @self
 *
 * Since: 1.0
 */
CURLM *
g_curl_multi_get_handle (GCurlMulti *self)
{
  g_return_val_if_fail (G_CURL_IS_MULTI (self), NULL);

  return self->engine != NULL ? g_curl_engine_get_handle (self->engine) : NULL;
}

/**
 * g_curl_multi_get_backend:
 * @self: a multi
 *
 * Tells how the multi watches sockets.
 *
 * Returns: %G_CURL_SOURCE_BACKEND_EPOLL or %G_CURL_SOURCE_BACKEND_FDS
 *
 * Since: 1.0
 */
GCurlSourceBackend
g_curl_multi_get_backend (GCurlMulti *self)
{
  g_return_val_if_fail (G_CURL_IS_MULTI (self), G_CURL_SOURCE_BACKEND_DEFAULT);

  return self->backend;
}

/**
 * g_curl_multi_get_n_transfers:
 * @self: a multi
 *
 * Counts the transfers added to the multi that have not finished.
 *
 * Returns: the number of running transfers
 *
 * Since: 1.0
 */
guint
g_curl_multi_get_n_transfers (GCurlMulti *self)
{
  g_return_val_if_fail (G_CURL_IS_MULTI (self), 0);

  return self->engine != NULL ? g_curl_engine_get_n_runs (self->engine) : 0;
}

static gboolean
proxy_in_environment (void)
{
  static const char * const names[] = {
    "http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (names); i++)
    if (g_getenv (names[i]) != NULL)
      return TRUE;

  return FALSE;
}

/* The first proxy of @proxies that libcurl can use, as CURLOPT_PROXY
 * takes it ("" for a direct connection). */
static char *
proxy_from_list (char **proxies)
{
  guint i;

  for (i = 0; proxies != NULL && proxies[i] != NULL; i++)
    {
      const char *p = proxies[i];

      if (g_str_has_prefix (p, "direct://"))
        return g_strdup ("");
      /* GLib's "socks" is SOCKS version 5, or lower. */
      if (g_str_has_prefix (p, "socks://"))
        return g_strconcat ("socks5h://", p + strlen ("socks://"), NULL);
      if (g_str_has_prefix (p, "http://") || g_str_has_prefix (p, "https://") ||
          g_str_has_prefix (p, "socks4://") || g_str_has_prefix (p, "socks4a://") ||
          g_str_has_prefix (p, "socks5://") || g_str_has_prefix (p, "socks5h://"))
        return g_strdup (p);
    }

  return g_strdup ("");
}

/* A transfer waiting for the proxy of its origin. Transfers to one origin
 * wait behind one lookup, and start in the order they were added. */
typedef struct
{
  GCurlTransfer *transfer;
  guint          run;
} ProxyWaiter;

typedef struct
{
  GCurlMulti *multi;
  char       *origin;
} ProxyLookup;

static void
proxy_waiter_free (gpointer data)
{
  ProxyWaiter *waiter = data;

  g_object_unref (waiter->transfer);
  g_free (waiter);
}

static void
proxy_lookup_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  ProxyLookup *lookup = user_data;
  GCurlMulti *self = lookup->multi;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) proxies = g_proxy_resolver_lookup_finish (G_PROXY_RESOLVER (source),
                                                          result, &error);
  g_autoptr(GPtrArray) waiters = NULL;
  g_autofree char *pending_key = NULL;
  ProxyCacheEntry *entry = NULL;
  guint i;

  g_hash_table_steal_extended (self->proxy_pending, lookup->origin,
                               (gpointer *) &pending_key, (gpointer *) &waiters);

  if (proxies != NULL)
    {
      entry = g_new0 (ProxyCacheEntry, 1);
      entry->proxy = proxy_from_list (proxies);
      /* Without proxy variables in the environment, libcurl's default is
       * a direct connection too: then nothing is set on the handles (each
       * CURLOPT_PROXY and CURLOPT_NOPROXY is a copy per transfer). */
      if (entry->proxy[0] == '\0' && !proxy_in_environment ())
        g_clear_pointer (&entry->proxy, g_free);
      entry->expires = g_get_monotonic_time () + GCURL_PROXY_CACHE_TTL_US;
      g_hash_table_replace (self->proxy_cache, g_strdup (lookup->origin), entry);
    }

  for (i = 0; waiters != NULL && i < waiters->len; i++)
    {
      ProxyWaiter *waiter = g_ptr_array_index (waiters, i);
      GCurlTransfer *transfer = waiter->transfer;

      /* Cancelled meanwhile, or already running again. */
      if (!g_curl_transfer_is_running_in (transfer, self->engine) ||
          g_curl_transfer_is_completed (transfer) ||
          g_curl_transfer_get_run (transfer) != waiter->run)
        continue;

      if (entry == NULL)
        {
          g_curl_transfer_end (transfer,
                                        g_error_new (G_CURL_ERROR,
                                                     G_CURL_ERROR_COULDNT_RESOLVE_PROXY,
                                                     _("Could not find the proxy for %s: %s"),
                                                     g_curl_transfer_get_shown_url (transfer),
                                                     error->message));
          continue;
        }

      g_curl_transfer_set_proxy (transfer, entry->proxy);
      g_curl_transfer_submit (transfer);
    }

  g_object_unref (lookup->multi);
  g_free (lookup->origin);
  g_free (lookup);
}

/* Sets the proxy the resolver chose for @transfer's origin; returns %TRUE
 * if it has to be asked first, in which case the transfer is added to
 * libcurl once it has answered. */
static gboolean
choose_proxy (GCurlMulti    *self,
              GCurlTransfer *transfer)
{
  static GType dummy_type;
  g_autofree char *origin = NULL;
  g_autofree char *uri = NULL;
  ProxyCacheEntry *entry;
  ProxyWaiter *waiter;
  GPtrArray *waiters;
  ProxyLookup *lookup;

  if (self->defaults.proxy != NULL || self->proxy_resolver == NULL ||
      g_curl_transfer_has_proxy (transfer))
    return FALSE;

  /* GLib's fallback when no module provides a resolver always answers
   * "direct://": leave the choice to libcurl, which reads the proxy
   * environment variables. */
  if (dummy_type == 0)
    dummy_type = g_type_from_name ("GDummyProxyResolver");
  if (dummy_type != 0 && G_OBJECT_TYPE (self->proxy_resolver) == dummy_type)
    return FALSE;

  origin = g_curl_url_origin (g_curl_transfer_get_url (transfer));
  if (origin == NULL)
    return FALSE;
  entry = g_hash_table_lookup (self->proxy_cache, origin);
  if (entry != NULL && entry->expires > g_get_monotonic_time ())
    {
      g_curl_transfer_set_proxy (transfer, entry->proxy);
      return FALSE;
    }

  waiter = g_new0 (ProxyWaiter, 1);
  waiter->transfer = g_object_ref (transfer);
  waiter->run = g_curl_transfer_get_run (transfer);

  waiters = g_hash_table_lookup (self->proxy_pending, origin);
  if (waiters != NULL)
    {
      g_ptr_array_add (waiters, waiter);
      return TRUE;
    }

  waiters = g_ptr_array_new_with_free_func (proxy_waiter_free);
  g_ptr_array_add (waiters, waiter);
  g_hash_table_insert (self->proxy_pending, g_strdup (origin), waiters);

  lookup = g_new0 (ProxyLookup, 1);
  lookup->multi = g_object_ref (self);
  lookup->origin = g_steal_pointer (&origin);
  uri = g_strconcat (lookup->origin, "/", NULL);
  g_proxy_resolver_lookup_async (self->proxy_resolver, uri, NULL, proxy_lookup_cb, lookup);
  return TRUE;
}

/**
 * g_curl_multi_add_transfer:
 * @self: a multi
 * @transfer: a transfer that is not running
 *
 * Starts @transfer; its response body is collected in memory for
 * [method@GCurl.Transfer.get_body]. The multi keeps a reference to the
 * transfer until [signal@GCurl.Transfer::finished] has been emitted, which
 * always happens later, from the multi's main context, even when the
 * transfer cannot start.
 *
 * Adding a transfer that is running (here or in another multi) is a
 * programmer error. A finished transfer runs again from a clean state.
 *
 * Since: 1.0
 */
void
g_curl_multi_add_transfer (GCurlMulti    *self,
                           GCurlTransfer *transfer)
{
  GCurlTransferState state;

  g_return_if_fail (G_CURL_IS_MULTI (self));
  g_return_if_fail (G_CURL_IS_TRANSFER (transfer));
  state = g_curl_transfer_get_state (transfer);
  g_return_if_fail (state != G_CURL_TRANSFER_STATE_RUNNING &&
                    state != G_CURL_TRANSFER_STATE_PAUSED);
  g_return_if_fail (g_curl_transfer_get_multi (transfer) == NULL);
  g_return_if_fail (self->engine != NULL);

  /* A transfer that cannot start has ended already, with its error. */
  if (g_curl_transfer_start (transfer, self->engine, &self->defaults) &&
      !choose_proxy (self, transfer))
    g_curl_transfer_submit (transfer);
}

/* send_and_read */

typedef struct
{
  GCurlTransfer *transfer;
  guint          run;
  gulong         finished_id;
  GSource       *cancel_source;
} SendAndReadData;

static void
send_and_read_data_free (SendAndReadData *data)
{
  g_curl_clear_source (&data->cancel_source);
  g_clear_signal_handler (&data->finished_id, data->transfer);
  g_clear_object (&data->transfer);
  g_free (data);
}

static void
send_and_read_finished_cb (GCurlTransfer *transfer,
                           gpointer       user_data)
{
  GTask *task = user_data;
  SendAndReadData *data = g_task_get_task_data (task);
  const GCurlTransferEnding *ending = g_curl_transfer_get_ending (transfer);

  /* Not the transfer's current state: a handler that ran before this one
   * may have started the next run already. */
  if (ending == NULL || ending->run != data->run)
    return;

  if (ending->error != NULL)
    g_task_return_error (task, g_error_copy (ending->error));
  else
    g_task_return_pointer (task, ending->body ? g_bytes_ref (ending->body) : g_bytes_new (NULL, 0),
                           (GDestroyNotify) g_bytes_unref);

  /* Drops the data (and with it this handler) and the task. */
  g_object_unref (task);
}

static gboolean
send_and_read_cancelled_cb (GCancellable *cancellable,
                            gpointer      user_data)
{
  GTask *task = user_data;
  SendAndReadData *data = g_task_get_task_data (task);

  g_curl_transfer_cancel (data->transfer);
  return G_SOURCE_REMOVE;
}

/**
 * g_curl_multi_send_and_read_async:
 * @self: a multi
 * @transfer: a transfer that is not running
 * @cancellable: (nullable): a cancellable to stop the transfer
 * @callback: (scope async): called when the transfer has finished
 * @user_data: (closure): data for @callback
 *
 * Runs @transfer and collects its response body in memory. The callback
 * runs from the multi's main context once the transfer has finished; get
 * the body with [method@GCurl.Multi.send_and_read_finish].
 *
 * An HTTP error status is not an error here: the body is returned and the
 * status is on @transfer. Cancelling @cancellable cancels the transfer
 * and gives %G_IO_ERROR_CANCELLED.
 *
 * Since: 1.0
 */
void
g_curl_multi_send_and_read_async (GCurlMulti          *self,
                                  GCurlTransfer       *transfer,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  SendAndReadData *data;

  g_return_if_fail (G_CURL_IS_MULTI (self));
  g_return_if_fail (G_CURL_IS_TRANSFER (transfer));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, g_curl_multi_send_and_read_async);
  g_task_set_check_cancellable (task, FALSE);

  if (g_task_return_error_if_cancelled (task))
    return;

  data = g_new0 (SendAndReadData, 1);
  data->transfer = g_object_ref (transfer);
  g_task_set_task_data (task, data, (GDestroyNotify) send_and_read_data_free);

  /* The handler owns a reference to the task until "finished". */
  data->finished_id = g_signal_connect (transfer, "finished",
                                        G_CALLBACK (send_and_read_finished_cb),
                                        g_object_ref (task));

  data->cancel_source = g_curl_watch_cancellable (self->context, cancellable,
                                                        send_and_read_cancelled_cb, task);

  g_curl_multi_add_transfer (self, transfer);
  data->run = g_curl_transfer_get_run (transfer);
}

/**
 * g_curl_multi_send_and_read_finish:
 * @self: a multi
 * @result: the result given to the callback
 * @error: return location for an error
 *
 * Finishes [method@GCurl.Multi.send_and_read_async].
 *
 * Returns: (transfer full): the response body, or %NULL with @error set:
 *   %G_CURL_ERROR for a failed transfer, %G_IO_ERROR_CANCELLED for a
 *   cancelled one
 *
 * Since: 1.0
 */
GBytes *
g_curl_multi_send_and_read_finish (GCurlMulti    *self,
                                   GAsyncResult  *result,
                                   GError       **error)
{
  g_return_val_if_fail (G_CURL_IS_MULTI (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_async_result_is_tagged (result, g_curl_multi_send_and_read_async), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* send */

typedef struct
{
  GCurlTransfer *transfer;
  guint          run;
  GInputStream  *stream;
  gulong         headers_id;
  gulong         finished_id;
  GSource       *cancel_source;
} SendData;

static void
send_data_disconnect (SendData *data)
{
  g_curl_clear_source (&data->cancel_source);
  g_clear_signal_handler (&data->headers_id, data->transfer);
  g_clear_signal_handler (&data->finished_id, data->transfer);
}

static void
send_data_free (SendData *data)
{
  send_data_disconnect (data);
  g_clear_object (&data->stream);
  g_clear_object (&data->transfer);
  g_free (data);
}

/* The handlers own a reference to the task until one of them returns it. */
static void
send_got_headers_cb (GCurlTransfer *transfer,
                     gpointer       user_data)
{
  GTask *task = user_data;
  SendData *data = g_task_get_task_data (task);

  /* The headers of a later run, in a main loop nested in a handler of
   * this run's "finished" (see send_finished_cb()). */
  if (g_curl_transfer_get_run (transfer) != data->run)
    return;

  send_data_disconnect (data);
  g_task_return_pointer (task, g_steal_pointer (&data->stream), g_object_unref);
  g_object_unref (task);
}

static void
send_finished_cb (GCurlTransfer *transfer,
                  gpointer       user_data)
{
  GTask *task = user_data;
  SendData *data = g_task_get_task_data (task);
  const GCurlTransferEnding *ending = g_curl_transfer_get_ending (transfer);

  /* Not the transfer's current state: a handler that ran before this one
   * may have started the next run already. */
  if (ending == NULL || ending->run != data->run)
    return;

  send_data_disconnect (data);
  if (ending->error != NULL)
    g_task_return_error (task, g_error_copy (ending->error));
  else
    g_task_return_pointer (task, g_steal_pointer (&data->stream), g_object_unref);
  g_object_unref (task);
}

static gboolean
send_cancelled_cb (GCancellable *cancellable,
                   gpointer      user_data)
{
  SendData *data = g_task_get_task_data (user_data);

  g_curl_transfer_cancel (data->transfer);
  return G_SOURCE_REMOVE;
}

/**
 * g_curl_multi_send_async:
 * @self: a multi
 * @transfer: a transfer that is not running
 * @cancellable: (nullable): a cancellable to stop the transfer until its
 *   headers have arrived
 * @callback: (scope async): called once the response headers are there
 * @user_data: (closure): data for @callback
 *
 * Runs @transfer and streams its response body, as
 * `soup_session_send_async()` does. The callback runs from the multi's main
 * context once the final response's status and headers are known (after
 * redirects), or the transfer has failed; get the body's stream with
 * [method@GCurl.Multi.send_finish].
 *
 * The stream is a `GPollableInputStream` that delivers the body in order
 * and applies back-pressure: when the reader is more than a few hundred
 * KiB behind, the transfer is paused until it catches up, so a slow reader
 * of any body holds a bounded amount of memory. Closing or dropping the
 * stream before its end cancels the transfer. A failure after the headers
 * (such as the connection closing mid-body) is the error of the read that
 * comes after the last byte that arrived, never a silent short read.
 *
 * An HTTP error status is not an error here: the stream has the error
 * page, and the status is on @transfer. Read the stream from the multi's
 * main context.
 *
 * Since: 1.0
 */
void
g_curl_multi_send_async (GCurlMulti          *self,
                         GCurlTransfer       *transfer,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  SendData *data;

  g_return_if_fail (G_CURL_IS_MULTI (self));
  g_return_if_fail (G_CURL_IS_TRANSFER (transfer));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, g_curl_multi_send_async);
  g_task_set_check_cancellable (task, FALSE);

  if (g_task_return_error_if_cancelled (task))
    return;

  data = g_new0 (SendData, 1);
  data->transfer = g_object_ref (transfer);
  data->stream = g_curl_input_stream_new (transfer, self->context);
  g_task_set_task_data (task, data, (GDestroyNotify) send_data_free);

  data->headers_id = g_signal_connect (transfer, "got-headers",
                                       G_CALLBACK (send_got_headers_cb), g_object_ref (task));
  data->finished_id = g_signal_connect_data (transfer, "finished",
                                             G_CALLBACK (send_finished_cb), task,
                                             NULL, 0);

  data->cancel_source = g_curl_watch_cancellable (self->context, cancellable,
                                                        send_cancelled_cb, task);

  g_curl_multi_add_transfer (self, transfer);
  data->run = g_curl_transfer_get_run (transfer);
}

/**
 * g_curl_multi_send_finish:
 * @self: a multi
 * @result: the result given to the callback
 * @error: return location for an error
 *
 * Finishes [method@GCurl.Multi.send_async].
 *
 * Returns: (transfer full): the stream of the response body, or %NULL with
 *   @error set: %G_CURL_ERROR for a transfer that failed before its headers
 *   arrived, %G_IO_ERROR_CANCELLED for a cancelled one
 *
 * Since: 1.0
 */
GInputStream *
g_curl_multi_send_finish (GCurlMulti    *self,
                          GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (G_CURL_IS_MULTI (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_async_result_is_tagged (result, g_curl_multi_send_async), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

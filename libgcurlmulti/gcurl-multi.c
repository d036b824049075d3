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
#include "gcurl-headers-private.h"
#include "gcurl-jar-private.h"
#include "gcurl-log-private.h"
#include "gcurl-multi.h"
#include "gcurl-multi-list-private.h"
#include "gcurl-multi-private.h"
#include "gcurl-proxy-private.h"
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
 * Cookies and HSTS are off unless asked for: with
 * [property@GCurl.Multi:cookie-file] the transfers of a multi share one
 * cookie jar (also across the redirects they follow), with
 * [property@GCurl.Multi:hsts-file] one HSTS cache.
 *
 * A multi is a [iface@Gio.ListModel] of its current transfers
 * ([class@GCurl.Transfer]): a transfer is appended when it is added, and
 * removed once its [signal@GCurl.Transfer::finished] has been emitted; a
 * download ([method@GCurl.Multi.download_async]) stays in it from its
 * start to its end, while it waits to retry too. A `GtkListView` can show
 * them directly. [property@GCurl.Multi:n-transfers] counts them, and
 * [property@GCurl.Multi:downloaded-bytes], [property@GCurl.Multi:download-size],
 * [property@GCurl.Multi:fraction] and [property@GCurl.Multi:download-speed]
 * sum their figures. Finding the position of a transfer that leaves costs
 * O(log n); the sums cost O(n) at most once per
 * [property@GCurl.Multi:progress-interval] and once per add or removal
 * (fine for hundreds of transfers at once).
 *
 * Since: 0.1
 */

#define GCURL_DEFAULT_PROGRESS_INTERVAL_MS 100
#define GCURL_DEFAULT_MAX_REDIRECTS 10
#define GCURL_DEFAULT_STALL_TIMEOUT_S 60
#define GCURL_DEFAULT_ALLOWED_PROTOCOLS "http,https"
#define GCURL_DEFAULT_DOWNLOAD_RETRIES 3
#define GCURL_DEFAULT_RETRY_DELAY_MS 1000
#define GCURL_DEFAULT_MAX_BODY_SIZE (G_GUINT64_CONSTANT (256) * 1024 * 1024)

struct _GCurlMulti
{
  GObject             parent_instance;

  GMainContext       *context;
  GCurlSourceBackend  backend;
  GCurlEngine        *engine;         /* (owned): the CURLM and the runs */
  GCurlMultiList      list;           /* the transfers as a GListModel, their
                                       * sums and their shared speed limit */

  /* Properties. */
  guint               max_total_connections;
  guint               max_host_connections;
  guint               progress_interval;  /* ms */
  guint               download_retries;
  guint               retries;            /* of send_async, send_and_read_async */
  guint               retry_delay;        /* ms */
  GCurlRequestOptions defaults;           /* the settings of every transfer
                                           * (proxy NULL: ask proxy_resolver) */
  GCurlProxyChooser   proxies;            /* the proxy resolver's answers */
  char               *cookie_file;        /* NULL: off, "": in memory */
  char               *hsts_file;          /* NULL: off, "": in memory */
  GCurlJar           *jar;                /* (owned) (nullable): both of them,
                                           * NULL while both are off */
  guint               proxy_resolver_set : 1;   /* at construction */
  guint               network_monitor_set : 1;

  /* Blocking calls (gcurl-sync.c) run on siblings: multis of their own,
   * each on a main context of its own, used by one call at a time, which
   * take this multi's settings when the call starts. */
  GMutex              settings_lock;      /* the settings, while written here
                                           * or copied from another thread */
  GQueue              idle_siblings;      /* (owned): GCurlMulti */
  GCurlJar           *bare_jar;           /* (owned) (nullable): the DNS cache
                                           * and TLS sessions the siblings
                                           * share while jar is NULL */
  guint               is_sibling : 1;     /* shares another multi's jar */
};

/* The most siblings kept for the next blocking calls (each keeps its
 * connections open). */
#define MAX_IDLE_SIBLINGS 16

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
  PROP_CONNECT_TIMEOUT,
  PROP_TIMEOUT,
  PROP_FAIL_ON_HTTP_ERROR,
  PROP_REDIRECT_PROTOCOLS,
  PROP_ACCEPT_ENCODING,
  PROP_LOG_LEVEL,
  PROP_TLS_CLIENT_CERTIFICATE,
  PROP_COOKIE_FILE,
  PROP_HSTS_FILE,
  PROP_RETRIES,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void list_model_iface_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (GCurlMulti, g_curl_multi, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL, list_model_iface_init))

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
g_curl_multi_get_retries (GCurlMulti *self)
{
  return self->retries;
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

/* A run's "finished" has been emitted: the transfer leaves the list,
 * unless a download keeps it there. */
static void
transfer_ended (GObject *owner,
                GObject *transfer)
{
  g_curl_multi_list_ended (&G_CURL_MULTI (owner)->list, G_CURL_TRANSFER (transfer));
}

/* download_async keeps its transfer in the list from its start to its
 * end, between attempts too. */
void
g_curl_multi_hold_transfer (GCurlMulti    *self,
                            GCurlTransfer *transfer)
{
  g_curl_multi_list_hold (&self->list, transfer);
}

void
g_curl_multi_release_transfer (GCurlMulti    *self,
                               GCurlTransfer *transfer)
{
  g_curl_multi_list_release (&self->list, transfer);
}

/* Test hook: how many times a speed limit held a transfer back. */
guint64
g_curl_multi_get_rate_waits (GCurlMulti *self)
{
  return g_curl_engine_get_rate_waits (self->engine);
}

static GType
list_model_get_item_type (GListModel *model)
{
  return G_CURL_TYPE_TRANSFER;
}

static guint
list_model_get_n_items (GListModel *model)
{
  return g_curl_multi_list_get_n_items (&G_CURL_MULTI (model)->list);
}

static gpointer
list_model_get_item (GListModel *model,
                     guint       position)
{
  return g_curl_multi_list_get_item (&G_CURL_MULTI (model)->list, position);
}

static void
list_model_iface_init (GListModelInterface *iface)
{
  iface->get_item_type = list_model_get_item_type;
  iface->get_n_items = list_model_get_n_items;
  iface->get_item = list_model_get_item;
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
  g_curl_engine_set_limited (self->engine,
                             self->max_total_connections > 0 || self->max_host_connections > 0);
  curl_multi_setopt (handle, CURLMOPT_PIPELINING,
                     self->defaults.multiplex > 0 ? CURLPIPE_MULTIPLEX : CURLPIPE_NOTHING);
}

/* The jar for cookie-file and hsts-file, once the context is known. */
static void
update_jar (GCurlMulti *self)
{
  if (self->engine == NULL)
    return;

  self->jar = g_curl_jar_update (g_steal_pointer (&self->jar), self->context,
                                 self->cookie_file, self->hsts_file);
  self->defaults.jar = self->jar;
}

static void
set_jar_file (GCurlMulti  *self,
              char       **field,
              const char  *value,
              guint        prop_id)
{
  if (g_strcmp0 (*field, value) == 0)
    return;

  g_free (*field);
  *field = g_strdup (value);
  update_jar (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop_id]);
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
  g_curl_engine_set_ended_func (self->engine, transfer_ended);
  g_curl_engine_set_progress_interval (self->engine, self->progress_interval);
  g_curl_multi_list_attach (&self->list, self->engine, self->context);

  apply_multi_options (self);

  g_curl_proxy_chooser_set_context (&self->proxies, self->context);
  update_jar (self);
  if (!self->proxy_resolver_set)
    g_curl_proxy_chooser_set_resolver (&self->proxies, g_proxy_resolver_get_default ());
  if (!self->network_monitor_set)
    g_curl_proxy_chooser_set_monitor (&self->proxies, g_network_monitor_get_default ());
}

static void
g_curl_multi_dispose (GObject *object)
{
  GCurlMulti *self = G_CURL_MULTI (object);

  /* Running transfers keep us alive, so there are none here unless
   * g_object_run_dispose() was called: the engine ends them cleanly. */
  g_clear_pointer (&self->engine, g_curl_engine_free);
  g_curl_multi_list_clear (&self->list);
  g_curl_proxy_chooser_dispose (&self->proxies);
  g_queue_clear_full (&self->idle_siblings, g_object_unref);
  /* Saved now; transfers still attached keep it, without its files. A
   * sibling's is its multi's. */
  if (self->jar != NULL && !self->is_sibling)
    g_curl_jar_retire (self->jar);
  self->defaults.jar = NULL;
  g_clear_pointer (&self->jar, g_curl_jar_unref);
  g_clear_pointer (&self->bare_jar, g_curl_jar_unref);

  G_OBJECT_CLASS (g_curl_multi_parent_class)->dispose (object);
}

static void
g_curl_multi_finalize (GObject *object)
{
  GCurlMulti *self = G_CURL_MULTI (object);

  g_clear_pointer (&self->context, g_main_context_unref);
  g_curl_request_options_clear (&self->defaults);
  g_curl_proxy_chooser_clear (&self->proxies);
  g_free (self->cookie_file);
  g_free (self->hsts_file);
  g_mutex_clear (&self->settings_lock);

  G_OBJECT_CLASS (g_curl_multi_parent_class)->finalize (object);
}

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

/* A connection limit: once it grows (or goes), the transfers libcurl
 * queued start now, not when a running one leaves. */
static void
set_limit (GCurlMulti *self,
           guint      *field,
           guint       value,
           guint       prop_id)
{
  gboolean grew = *field != 0 && (value == 0 || value > *field);

  set_uint (self, field, value, prop_id);
  apply_multi_options (self);
  if (grew && self->engine != NULL)
    g_curl_engine_requeue (self->engine, g_curl_transfer_run_is_queued);
}

/* The settings every transfer starts with, as properties: checked as a
 * transfer's own are. */
static void
set_default_string (GCurlMulti  *self,
                    GCurlOption  option,
                    const char  *value,
                    guint        prop_id)
{
  g_autofree char *property = g_strconcat ("GCurlMulti:", properties[prop_id]->name, NULL);

  if (g_curl_request_options_set_checked (&self->defaults, option, value, property))
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
      g_value_set_uint (value, g_curl_multi_list_get_n_items (&self->list));
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
    case PROP_TLS_CLIENT_CERTIFICATE:
      g_value_set_object (value, self->defaults.tls_client_certificate);
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
    case PROP_RETRIES:
      g_value_set_uint (value, self->retries);
      break;
    case PROP_RETRY_DELAY:
      g_value_set_uint (value, self->retry_delay);
      break;
    case PROP_PROXY:
      g_value_set_string (value, self->defaults.proxy);
      break;
    case PROP_PROXY_RESOLVER:
      g_value_set_object (value, self->proxies.resolver);
      break;
    case PROP_NETWORK_MONITOR:
      g_value_set_object (value, self->proxies.monitor);
      break;
    case PROP_MAX_BODY_SIZE:
      g_value_set_uint64 (value, self->defaults.max_body_size);
      break;
    case PROP_MULTIPLEX:
      g_value_set_boolean (value, self->defaults.multiplex > 0);
      break;
    case PROP_CONNECT_TIMEOUT:
      g_value_set_uint (value, (guint) self->defaults.connect_timeout);
      break;
    case PROP_TIMEOUT:
      g_value_set_uint (value, (guint) self->defaults.timeout);
      break;
    case PROP_FAIL_ON_HTTP_ERROR:
      g_value_set_boolean (value, self->defaults.fail_on_http_error > 0);
      break;
    case PROP_REDIRECT_PROTOCOLS:
      g_value_set_string (value, self->defaults.redirect_protocols);
      break;
    case PROP_ACCEPT_ENCODING:
      g_value_set_string (value, self->defaults.accept_encoding);
      break;
    case PROP_LOG_LEVEL:
      g_value_set_enum (value, self->defaults.log_level);
      break;
    case PROP_COOKIE_FILE:
      g_value_set_string (value, self->cookie_file);
      break;
    case PROP_HSTS_FILE:
      g_value_set_string (value, self->hsts_file);
      break;
    default:
      g_curl_multi_list_get_property (&self->list, prop_id, value, pspec);
    }
}

static void
set_property_locked (GObject      *object,
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
      set_limit (self, &self->max_total_connections, g_value_get_uint (value), prop_id);
      break;
    case PROP_MAX_HOST_CONNECTIONS:
      set_limit (self, &self->max_host_connections, g_value_get_uint (value), prop_id);
      break;
    case PROP_PROGRESS_INTERVAL:
      set_uint (self, &self->progress_interval, g_value_get_uint (value), prop_id);
      g_curl_multi_list_set_interval (&self->list, self->progress_interval);
      if (self->engine != NULL)
        g_curl_engine_set_progress_interval (self->engine, self->progress_interval);
      break;
    case PROP_ALLOWED_PROTOCOLS:
      {
        const char *protocols = g_value_get_string (value);

        if (protocols == NULL)
          protocols = GCURL_DEFAULT_ALLOWED_PROTOCOLS;
        set_default_string (self, G_CURL_OPTION_ALLOWED_PROTOCOLS, protocols, prop_id);
      }
      break;
    case PROP_MAX_REDIRECTS:
      set_default_int (self, &self->defaults.max_redirects, (int) g_value_get_uint (value),
                       prop_id);
      break;
    case PROP_TLS_CA_FILE:
      set_default_string (self, G_CURL_OPTION_TLS_CA_FILE, g_value_get_string (value), prop_id);
      break;
    case PROP_TLS_CLIENT_CERTIFICATE:
      if (g_curl_request_options_set_client_certificate (&self->defaults,
                                                         g_value_get_object (value)))
        g_object_notify_by_pspec (object, pspec);
      break;
    case PROP_USER_AGENT:
      set_default_string (self, G_CURL_OPTION_USER_AGENT, g_value_get_string (value), prop_id);
      break;
    case PROP_STALL_TIMEOUT:
      if (g_curl_request_options_set_int64 (&self->defaults, &self->defaults.stall_timeout,
                                            g_value_get_uint (value)))
        g_object_notify_by_pspec (object, pspec);
      break;
    case PROP_DOWNLOAD_RETRIES:
      set_uint (self, &self->download_retries, g_value_get_uint (value), prop_id);
      break;
    case PROP_RETRIES:
      set_uint (self, &self->retries, g_value_get_uint (value), prop_id);
      break;
    case PROP_RETRY_DELAY:
      set_uint (self, &self->retry_delay, g_value_get_uint (value), prop_id);
      break;
    case PROP_PROXY:
      set_default_string (self, G_CURL_OPTION_PROXY, g_value_get_string (value), prop_id);
      break;
    case PROP_PROXY_RESOLVER:
      self->proxy_resolver_set = TRUE;
      if (g_curl_proxy_chooser_set_resolver (&self->proxies, g_value_get_object (value)))
        g_object_notify_by_pspec (object, pspec);
      break;
    case PROP_NETWORK_MONITOR:
      self->network_monitor_set = TRUE;
      if (g_curl_proxy_chooser_set_monitor (&self->proxies, g_value_get_object (value)))
        g_object_notify_by_pspec (object, pspec);
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
    case PROP_CONNECT_TIMEOUT:
      set_default_int (self, &self->defaults.connect_timeout,
                       (int) MIN (g_value_get_uint (value), G_MAXINT), prop_id);
      break;
    case PROP_TIMEOUT:
      set_default_int (self, &self->defaults.timeout,
                       (int) MIN (g_value_get_uint (value), G_MAXINT), prop_id);
      break;
    case PROP_FAIL_ON_HTTP_ERROR:
      set_default_int (self, &self->defaults.fail_on_http_error, g_value_get_boolean (value),
                       prop_id);
      break;
    case PROP_REDIRECT_PROTOCOLS:
      {
        const char *protocols = g_value_get_string (value);

        if (protocols == NULL)
          protocols = GCURL_DEFAULT_REDIRECT_PROTOCOLS;
        set_default_string (self, G_CURL_OPTION_REDIRECT_PROTOCOLS, protocols, prop_id);
      }
      break;
    case PROP_ACCEPT_ENCODING:
      set_default_string (self, G_CURL_OPTION_ACCEPT_ENCODING, g_value_get_string (value),
                          prop_id);
      break;
    case PROP_LOG_LEVEL:
      set_default_int (self, &self->defaults.log_level, g_value_get_enum (value), prop_id);
      break;
    case PROP_COOKIE_FILE:
      set_jar_file (self, &self->cookie_file, g_value_get_string (value), prop_id);
      break;
    case PROP_HSTS_FILE:
      set_jar_file (self, &self->hsts_file, g_value_get_string (value), prop_id);
      break;
    default:
      g_curl_multi_list_set_property (&self->list, prop_id, value, pspec);
    }
}

/* A blocking call in another thread may be copying the settings
 * (g_curl_multi_take_sibling()). The notifications wait for the end of
 * g_object_set(), outside the lock. */
static void
g_curl_multi_set_property (GObject      *object,
                           guint         prop_id,
                           const GValue *value,
                           GParamSpec   *pspec)
{
  GCurlMulti *self = G_CURL_MULTI (object);

  g_mutex_lock (&self->settings_lock);
  set_property_locked (object, prop_id, value, pspec);
  g_mutex_unlock (&self->settings_lock);
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
   * Since: 0.1
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
   * Since: 0.1
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
   * Since: 0.1
   */
  properties[PROP_MAX_TOTAL_CONNECTIONS] =
    g_param_spec_uint ("max-total-connections", NULL, NULL, 0, G_MAXINT, 0,
                       GCURL_PARAM_READWRITE);

  /**
   * GCurlMulti:max-host-connections:
   *
   * The most connections open at once to one host
   * (`CURLMOPT_MAX_HOST_CONNECTIONS`). 0 means no limit.
   *
   * Since: 0.1
   */
  properties[PROP_MAX_HOST_CONNECTIONS] =
    g_param_spec_uint ("max-host-connections", NULL, NULL, 0, G_MAXINT, 0,
                       GCURL_PARAM_READWRITE);

  /**
   * GCurlMulti:progress-interval:
   *
   * The least time, in milliseconds, between two
   * [signal@GCurl.Transfer::progress] emissions of one transfer (and the
   * notifications of its figures). 0 reports after every event.
   *
   * Since: 0.1
   */
  properties[PROP_PROGRESS_INTERVAL] =
    g_param_spec_uint ("progress-interval", NULL, NULL, 0, G_MAXUINT,
                       GCURL_DEFAULT_PROGRESS_INTERVAL_MS,
                       GCURL_PARAM_READWRITE | G_PARAM_CONSTRUCT);

  /**
   * GCurlMulti:n-transfers:
   *
   * How many transfers were added and have not finished yet: the number of
   * items of the multi's [iface@Gio.ListModel], downloads waiting to retry
   * included. It drops once a transfer's [signal@GCurl.Transfer::finished]
   * has been emitted.
   *
   * Since: 0.1
   */
  properties[PROP_N_TRANSFERS] =
    g_param_spec_uint ("n-transfers", NULL, NULL, 0, G_MAXUINT, 0,
                       GCURL_PARAM_READABLE);

  /**
   * GCurlMulti:allowed-protocols:
   *
   * The URL schemes transfers may use, for requests and redirects alike,
   * as libcurl's comma-separated list (`CURLOPT_PROTOCOLS_STR`): by default
   * `http,https`. A list libcurl does not accept is refused with a critical
   * and the property keeps its value. A transfer to another scheme fails
   * with %G_CURL_ERROR_UNSUPPORTED_PROTOCOL.
   *
   * Since: 0.1
   */
  properties[PROP_ALLOWED_PROTOCOLS] =
    g_param_spec_string ("allowed-protocols", NULL, NULL,
                         GCURL_DEFAULT_ALLOWED_PROTOCOLS,
                         GCURL_PARAM_READWRITE | G_PARAM_CONSTRUCT);

  /**
   * GCurlMulti:max-redirects:
   *
   * How many redirects a transfer follows; one more fails it with
   * %G_CURL_ERROR_TOO_MANY_REDIRECTS. 0 follows none: the redirect is then
   * the response.
   *
   * Since: 0.1
   */
  properties[PROP_MAX_REDIRECTS] =
    g_param_spec_uint ("max-redirects", NULL, NULL, 0, G_MAXINT,
                       GCURL_DEFAULT_MAX_REDIRECTS,
                       GCURL_PARAM_READWRITE | G_PARAM_CONSTRUCT);

  /**
   * GCurlMulti:tls-ca-file:
   *
   * A PEM file of the certificate authorities to trust instead of the
   * system's, or %NULL for the system's. Peer and host verification are
   * always on. It applies to transfers started after it is set.
   *
   * Since: 0.1
   */
  properties[PROP_TLS_CA_FILE] =
    g_param_spec_string ("tls-ca-file", NULL, NULL, NULL,
                         GCURL_PARAM_READWRITE);

  /**
   * GCurlMulti:tls-client-certificate:
   *
   * The certificate the transfers present when a server asks for one, with
   * its private key, or %NULL for none; a transfer's own
   * [property@GCurl.Transfer:tls-client-certificate] replaces it.
   *
   * The certificate comes from its [property@Gio.TlsCertificate:certificate-pem]
   * (with its issuers') or its [property@Gio.TlsCertificate:pkcs11-uri]; the
   * key from its [property@Gio.TlsCertificate:private-key-pem] or, on a
   * PKCS#11 token, its [property@Gio.TlsCertificate:private-key-pkcs11-uri]
   * (through libcurl's OpenSSL engine `pkcs11`, from the Debian package
   * libengine-pkcs11-openssl; a PIN goes in the URI as `pin-value`). A
   * certificate without a key fails the transfers with
   * %G_CURL_ERROR_SSL_CERTPROBLEM. Like headers the application sets, it
   * goes to the origin of the URL only: a redirect to another origin is
   * made without it. It applies to transfers started after it is set.
   *
   * Since: 0.1
   */
  properties[PROP_TLS_CLIENT_CERTIFICATE] =
    g_param_spec_object ("tls-client-certificate", NULL, NULL, G_TYPE_TLS_CERTIFICATE,
                         GCURL_PARAM_READWRITE);

  /**
   * GCurlMulti:user-agent:
   *
   * The `User-Agent` header of the transfers, or %NULL for
   * `libgcurlmulti/VERSION`.
   *
   * Since: 0.1
   */
  properties[PROP_USER_AGENT] =
    g_param_spec_string ("user-agent", NULL, NULL, NULL,
                         GCURL_PARAM_READWRITE);

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
   * Since: 0.1
   */
  properties[PROP_STALL_TIMEOUT] =
    g_param_spec_uint ("stall-timeout", NULL, NULL, 0, G_MAXUINT,
                       GCURL_DEFAULT_STALL_TIMEOUT_S,
                       GCURL_PARAM_READWRITE | G_PARAM_CONSTRUCT);

  /**
   * GCurlMulti:download-retries:
   *
   * How many times [method@GCurl.Multi.download_async] tries again after a
   * transient failure (a refused connection, a name that does not resolve,
   * the connection lost mid-body, a stall, HTTP 408, 429 or 5xx), each time
   * resuming from the `.part` file. 3 by default.
   *
   * Since: 0.1
   */
  properties[PROP_DOWNLOAD_RETRIES] =
    g_param_spec_uint ("download-retries", NULL, NULL, 0, 100,
                       GCURL_DEFAULT_DOWNLOAD_RETRIES,
                       GCURL_PARAM_READWRITE | G_PARAM_CONSTRUCT);

  /**
   * GCurlMulti:retries:
   *
   * How many times [method@GCurl.Multi.send_and_read_async] and
   * [method@GCurl.Multi.send_async] (and so
   * [method@GCurl.Multi.send_and_splice_async]) send a request again after
   * a transient failure, as [func@GCurl.Error.is_transient] tells it: a
   * refused connection, a name that does not resolve, a connection reset
   * or closed, a stall or time limit. An HTTP status is a failure only
   * with [property@GCurl.Multi:fail-on-http-error] (or the transfer's):
   * only then are 408, 429 and 5xx retried, and only by
   * send_and_read_async(), since send_async() has handed the stream over
   * by the time the status is known. 0, the default, never retries.
   *
   * Only idempotent requests are retried
   * ([property@GCurl.Transfer:idempotent]: `GET`, `HEAD`, `OPTIONS`,
   * `TRACE`, `PUT`, `DELETE`, or what the application said): never a
   * `POST` or `PATCH` unless the application says it is idempotent. A
   * request body from a stream is sent again only if the stream can seek
   * back to its start; otherwise the failure is the result, as it is. The
   * waits between attempts follow [property@GCurl.Multi:retry-delay], as
   * download_async()'s do. [method@GCurl.Multi.download_async] has its
   * own count, [property@GCurl.Multi:download-retries].
   *
   * Since: 0.1
   */
  properties[PROP_RETRIES] =
    g_param_spec_uint ("retries", NULL, NULL, 0, 100, 0,
                       GCURL_PARAM_READWRITE | G_PARAM_CONSTRUCT);

  /**
   * GCurlMulti:retry-delay:
   *
   * Milliseconds before the first retry of a download (and of a request
   * retried by [property@GCurl.Multi:retries]), about: each wait
   * is between half of its delay and all of it (jitter, so that downloads
   * that failed together do not retry together), and each further retry's
   * delay is twice the one before. A `Retry-After` from the server (seconds
   * or a date, up to five minutes) is honoured when it asks for longer.
   * 1000 (one second) by default.
   *
   * Since: 0.1
   */
  properties[PROP_RETRY_DELAY] =
    g_param_spec_uint ("retry-delay", NULL, NULL, 1, 3600 * 1000,
                       GCURL_DEFAULT_RETRY_DELAY_MS,
                       GCURL_PARAM_READWRITE | G_PARAM_CONSTRUCT);

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
   * Since: 0.1
   */
  properties[PROP_PROXY] =
    g_param_spec_string ("proxy", NULL, NULL, NULL,
                         GCURL_PARAM_READWRITE);

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
   * Since: 0.1
   */
  properties[PROP_PROXY_RESOLVER] =
    g_param_spec_object ("proxy-resolver", NULL, NULL, G_TYPE_PROXY_RESOLVER,
                         GCURL_PARAM_READWRITE);

  /**
   * GCurlMulti:network-monitor:
   *
   * What tells the multi that the network changed, by default
   * g_network_monitor_get_default(). A change forgets the proxies chosen so
   * far, and a download waiting to retry after a failure
   * ([method@GCurl.Multi.download_async]) retries at once when the network
   * is available again. %NULL for none.
   *
   * Since: 0.1
   */
  properties[PROP_NETWORK_MONITOR] =
    g_param_spec_object ("network-monitor", NULL, NULL, G_TYPE_NETWORK_MONITOR,
                         GCURL_PARAM_READWRITE);

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
   * Since: 0.1
   */
  properties[PROP_MAX_BODY_SIZE] =
    g_param_spec_uint64 ("max-body-size", NULL, NULL, 0, G_MAXUINT64,
                         GCURL_DEFAULT_MAX_BODY_SIZE,
                         GCURL_PARAM_READWRITE | G_PARAM_CONSTRUCT);

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
   * Since: 0.1
   */
  properties[PROP_MULTIPLEX] =
    g_param_spec_boolean ("multiplex", NULL, NULL, TRUE,
                          GCURL_PARAM_READWRITE | G_PARAM_CONSTRUCT);

  /**
   * GCurlMulti:connect-timeout:
   *
   * The default of [property@GCurl.Transfer:connect-timeout] for the
   * transfers of this multi: seconds the connection (name lookup, TCP and
   * TLS handshakes included) may take before a transfer fails with
   * %G_CURL_ERROR_OPERATION_TIMEDOUT; 0 for libcurl's default, 300. A
   * transfer that sets its own wins. A change applies to the transfers
   * started after it.
   *
   * Since: 0.1
   */
  properties[PROP_CONNECT_TIMEOUT] =
    g_param_spec_uint ("connect-timeout", NULL, NULL, 0, G_MAXINT, 0,
                       GCURL_PARAM_READWRITE);

  /**
   * GCurlMulti:timeout:
   *
   * The default of [property@GCurl.Transfer:timeout] for the transfers of
   * this multi: seconds each request (each redirect is one) may take in all
   * before it fails with %G_CURL_ERROR_OPERATION_TIMEDOUT; 0 for no limit.
   * A transfer that sets its own wins. For downloads of any size,
   * [property@GCurl.Multi:stall-timeout] is usually what you want.
   *
   * Since: 0.1
   */
  properties[PROP_TIMEOUT] =
    g_param_spec_uint ("timeout", NULL, NULL, 0, G_MAXINT, 0,
                       GCURL_PARAM_READWRITE);

  /**
   * GCurlMulti:fail-on-http-error:
   *
   * Whether a final response with a status of 400 or more ends its
   * transfer %G_CURL_TRANSFER_STATE_FAILED with
   * %G_CURL_ERROR_HTTP_RETURNED_ERROR, whose message names the status, the
   * reason phrase and the URL, instead of %G_CURL_TRANSFER_STATE_SUCCEEDED
   * with that status. The error page is still there to read:
   * [method@GCurl.Transfer.get_body] returns it, and the stream of
   * [method@GCurl.Multi.send_async] gives its bytes before the read that
   * fails. The default of [property@GCurl.Transfer:fail-on-http-error]
   * for the transfers of this multi, %FALSE by default;
   * [method@GCurl.Multi.download_async] always fails on such a status.
   *
   * Since: 0.1
   */
  properties[PROP_FAIL_ON_HTTP_ERROR] =
    g_param_spec_boolean ("fail-on-http-error", NULL, NULL, FALSE,
                          GCURL_PARAM_READWRITE | G_PARAM_CONSTRUCT);

  /**
   * GCurlMulti:redirect-protocols:
   *
   * The URL schemes a redirect may lead to, as libcurl's comma-separated
   * list: by default `http,https`, whatever
   * [property@GCurl.Multi:allowed-protocols] allows the application's own
   * URLs. So an application that fetches `file://` URLs itself can still
   * never be sent to `file:///etc/passwd` by a server. A redirect never
   * goes further than allowed-protocols either. A redirect elsewhere
   * fails its transfer with %G_CURL_ERROR_UNSUPPORTED_PROTOCOL, before
   * anything is read or sent there. A list libcurl does not accept is
   * refused with a critical and the property keeps its value.
   *
   * Since: 0.1
   */
  /**
   * GCurlMulti:accept-encoding:
   *
   * The content codings transfers ask for (`Accept-Encoding`) and decode,
   * as libcurl's `CURLOPT_ACCEPT_ENCODING`: `""` (the default) asks for
   * every coding this libcurl can decode (gzip, deflate, br and zstd on
   * Debian 12) and decodes the body, so that
   * [method@GCurl.Transfer.get_body] and the streams give it as it was
   * before the server compressed it; a list such as `"gzip"` asks for
   * those; %NULL asks for none and decodes nothing, so a body arrives as
   * served. [method@GCurl.Multi.download_async] saves a file as served
   * (a `.tar.gz` stays one, and ranges count encoded bytes) unless the
   * transfer sets [property@GCurl.Transfer:accept-encoding] itself.
   *
   * While a body is decoded, [property@GCurl.Transfer:downloaded-bytes]
   * counts the bytes as they came (encoded), as `Content-Length` does, so
   * that [property@GCurl.Transfer:fraction] goes from 0 to 1 with the
   * transfer; the body itself is longer.
   *
   * Since: 0.1
   */
  /**
   * GCurlMulti:log-level:
   *
   * How much of its transfers' traffic the multi logs, as debug messages
   * of the `GCurl` log domain (shown by GLib's default writer with
   * `G_MESSAGES_DEBUG=GCurl`), each naming its transfer: request and
   * status lines and timings, then headers, then the start of each chunk
   * of body. The values of `Authorization`, `Proxy-Authorization`,
   * `Cookie` and `Set-Cookie` are never logged, nor a password of a URL.
   * The messages are made inside libcurl but emitted from the multi's main
   * context, as signals are: a log writer may do anything.
   *
   * The default comes from the environment variable `GCURL_DEBUG`
   * (`minimal`, `headers` or `body`), read when the multi is made;
   * otherwise %G_CURL_LOG_NONE, which costs nothing. A change applies to
   * the transfers started after it.
   *
   * Since: 0.1
   */
  properties[PROP_LOG_LEVEL] =
    g_param_spec_enum ("log-level", NULL, NULL, G_CURL_TYPE_LOG_LEVEL, G_CURL_LOG_NONE,
                       GCURL_PARAM_READWRITE);

  properties[PROP_ACCEPT_ENCODING] =
    g_param_spec_string ("accept-encoding", NULL, NULL, "",
                         GCURL_PARAM_READWRITE | G_PARAM_CONSTRUCT);

  properties[PROP_REDIRECT_PROTOCOLS] =
    g_param_spec_string ("redirect-protocols", NULL, NULL,
                         GCURL_DEFAULT_REDIRECT_PROTOCOLS,
                         GCURL_PARAM_READWRITE | G_PARAM_CONSTRUCT);

  /**
   * GCurlMulti:cookie-file:
   *
   * Where the cookies of the multi's transfers are kept: %NULL (the
   * default) for no cookies at all (no `Cookie` header is sent but those
   * the application sets, and no `Set-Cookie` is kept), `""` for a jar in
   * memory, or the path of a file in the Netscape cookie-file format
   * (curl's and wget's).
   *
   * With a jar, every transfer of the multi sends and keeps cookies as
   * libcurl does (RFC 6265: `Domain`, `Path`, `Secure` only over https,
   * `HttpOnly`, `Expires` and `Max-Age`), also across the redirects the
   * library follows: a cookie set by a 302 is sent to where it leads, if
   * it matches. A change applies to the transfers started after it.
   *
   * A file is read when the property is set: one that does not exist is an
   * empty jar, one that cannot be read is a warning (with its path and the
   * reason) and an empty jar. It is written, whole, with mode 0600 and
   * atomically (a temporary file renamed over it, so that it is never
   * half-written), shortly after responses that set cookies, after
   * [method@GCurl.Multi.add_cookie], at once by
   * [method@GCurl.Multi.clear_cookies], and when the multi is disposed; a
   * write that fails is a warning. Setting another path first saves the
   * jar to the old one, then replaces it with the new file's cookies;
   * setting `""` keeps the cookies, in memory only; setting %NULL drops
   * them (after saving them to the old path). Transfers running at the
   * change finish with the old jar.
   *
   * Since: 0.1
   */
  properties[PROP_COOKIE_FILE] =
    g_param_spec_string ("cookie-file", NULL, NULL, NULL,
                         GCURL_PARAM_READWRITE);

  /**
   * GCurlMulti:hsts-file:
   *
   * Where the multi's HSTS cache (RFC 6797) is kept, with the convention
   * of [property@GCurl.Multi:cookie-file]: %NULL (the default) for no
   * HSTS, `""` for a cache in memory, or the path of a file in libcurl's
   * HSTS format.
   *
   * With a cache, a `Strict-Transport-Security` header received over
   * https (from a host name: libcurl ignores it from IP addresses) makes
   * later `http://` URLs to that host (and its subdomains with
   * `includeSubDomains`) go over https instead, to the same port if the
   * URL names one, until `max-age` runs out. Without one nothing is
   * upgraded, whatever the servers say, also when the multi has cookies.
   *
   * The file is read when the property is set (its entries reach the cache
   * when the next transfer starts) and written as the cookie file is
   * (atomically, mode 0600) after responses with the header and when the
   * multi is disposed, never by a multi that learnt nothing. Changing it
   * saves the cache to the old path first; a new path replaces the cache
   * with that file's entries, `""` keeps them in memory.
   *
   * Since: 0.1
   */
  properties[PROP_HSTS_FILE] =
    g_param_spec_string ("hsts-file", NULL, NULL, NULL,
                         GCURL_PARAM_READWRITE);

  g_object_class_install_properties (object_class, N_PROPS, properties);
  g_curl_multi_list_class_init (object_class, N_PROPS);
}

static void
g_curl_multi_init (GCurlMulti *self)
{
  g_mutex_init (&self->settings_lock);
  g_queue_init (&self->idle_siblings);
  g_curl_request_options_init (&self->defaults);
  /* No transfer of the multi's waits for a connection by default; the
   * other numbers are set as construct properties. */
  self->defaults.connect_timeout = 0;
  self->defaults.timeout = 0;
  self->defaults.fail_on_http_error = FALSE;
  self->defaults.log_level = g_curl_log_level_from_string (g_getenv ("GCURL_DEBUG"));
  g_curl_proxy_chooser_init (&self->proxies, G_OBJECT (self));
  g_curl_multi_list_init (&self->list, G_OBJECT (self), properties[PROP_N_TRANSFERS]);
}

/**
 * g_curl_multi_new:
 *
 * Creates a multi that runs transfers on the thread-default main context.
 *
 * Returns: (transfer full): a new multi
 *
 * Since: 0.1
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
 * Since: 0.1
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
 * Since: 0.1
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
 * Since: 0.1
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
 * Counts the multi's current transfers: see [property@GCurl.Multi:n-transfers].
 *
 * Returns: the number of transfers added and not finished
 *
 * Since: 0.1
 */
guint
g_curl_multi_get_n_transfers (GCurlMulti *self)
{
  g_return_val_if_fail (G_CURL_IS_MULTI (self), 0);

  return g_curl_multi_list_get_n_items (&self->list);
}

/**
 * g_curl_multi_set_default_header:
 * @self: a multi
 * @name: a header name: an HTTP token such as `Accept-Language`
 * @value: (nullable): its value, without CR or LF; %NULL removes it
 *
 * Sets a header that every transfer of this multi sends, as if each had
 * set it with [method@GCurl.Transfer.set_request_header]: a transfer's
 * own header of the same name (compared without case) wins, and like the
 * transfer's own headers it goes to the origin of the transfer's URL only,
 * never to another origin a redirect leads to. A change applies to the
 * transfers started after it.
 *
 * A name that is not an HTTP token, or a value containing CR or LF, is a
 * programmer error: it is refused with a critical and never sent.
 *
 * Since: 0.1
 */
void
g_curl_multi_set_default_header (GCurlMulti *self,
                                 const char *name,
                                 const char *value)
{
  g_return_if_fail (G_CURL_IS_MULTI (self));
  g_return_if_fail (g_curl_header_name_is_valid (name));
  g_return_if_fail (value == NULL || g_curl_header_value_is_valid (value));

  g_mutex_lock (&self->settings_lock);
  g_curl_request_options_set_header (&self->defaults, name, value);
  g_mutex_unlock (&self->settings_lock);
}

/**
 * g_curl_multi_cancel_all:
 * @self: a multi
 *
 * Cancels every transfer of this multi that has not finished, as
 * [method@GCurl.Transfer.cancel] does, in the order they were added: each
 * is %G_CURL_TRANSFER_STATE_CANCELLED when this returns, and emits
 * [signal@GCurl.Transfer::finished] later, from the multi's main context.
 * Transfers added from a handler of those signals run as usual. A download
 * waiting to retry is cancelled too (see [method@GCurl.Transfer.cancel]).
 *
 * Since: 0.1
 */
void
g_curl_multi_cancel_all (GCurlMulti *self)
{
  g_autoptr(GPtrArray) transfers = NULL;

  g_return_if_fail (G_CURL_IS_MULTI (self));

  if (self->engine == NULL)
    return;

  /* Downloads waiting to retry too. */
  transfers = g_curl_multi_list_ref_items (&self->list);
  for (guint i = 0; i < transfers->len; i++)
    g_curl_transfer_cancel (transfers->pdata[i]);
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
 * Since: 0.1
 */
void
g_curl_multi_add_transfer (GCurlMulti    *self,
                           GCurlTransfer *transfer)
{
  gboolean ready;

  g_return_if_fail (G_CURL_IS_MULTI (self));
  g_return_if_fail (G_CURL_IS_TRANSFER (transfer));
  g_return_if_fail (!g_curl_transfer_is_running (transfer));
  g_return_if_fail (g_curl_transfer_get_owner (transfer) == NULL);
  g_return_if_fail (self->engine != NULL);

  /* A transfer that cannot start has ended already, with its error. */
  /* The application's proxy (the transfer's or this multi's), or the
   * resolver's for its origin. */
  ready = g_curl_transfer_start (transfer, self->engine, &self->defaults);
  /* In the list from now until its "finished" has been emitted; a
   * handler of items-changed may have cancelled it. */
  g_curl_multi_list_add (&self->list, transfer);
  if (!ready || g_curl_transfer_is_completed (transfer))
    return;
  if (self->defaults.proxy == NULL && !g_curl_transfer_has_proxy (transfer) &&
      g_curl_proxy_chooser_choose (&self->proxies, transfer))
    return;
  g_curl_transfer_submit (transfer);
}

/**
 * g_curl_multi_get_cookies:
 * @self: a multi
 *
 * Lists the cookies of the multi's jar (see
 * [property@GCurl.Multi:cookie-file]), one Netscape cookie-file line each:
 * domain (with a leading dot when it is for the whole domain), `TRUE` for
 * a domain cookie or `FALSE` for a host-only one, path, `TRUE` if it is
 * Secure, expiry (seconds since 1970, 0 for a session cookie), name and
 * value, separated by tabs; `#HttpOnly_` before an HttpOnly one. Expired
 * cookies are left out. Empty when the multi has no jar.
 *
 * Returns: (transfer full) (array zero-terminated=1): the cookies
 *
 * Since: 0.1
 */
char **
g_curl_multi_get_cookies (GCurlMulti *self)
{
  g_return_val_if_fail (G_CURL_IS_MULTI (self), NULL);

  return g_curl_jar_get_cookies (self->jar);
}

/**
 * g_curl_multi_add_cookie:
 * @self: a multi
 * @url: the `http` or `https` URL the cookie is from
 * @set_cookie: a `Set-Cookie` header value, such as
 *   `session=abc; Path=/; Secure; HttpOnly`
 *
 * Adds a cookie to the multi's jar as if a response from @url had sent
 * `Set-Cookie: @set_cookie`: without `Domain` it is for @url's host only,
 * without `Path` for the directory of @url's path (RFC 6265, 5.1.4);
 * `Secure`, `HttpOnly`, `Expires` and `Max-Age` are honoured (an
 * expiry in the past removes the cookie of that name), and it replaces a
 * cookie of the same name, domain and path. libcurl parses it.
 *
 * A cookie such a response could not set is refused with a warning: a
 * `Domain` @url's host is not in (or an IP address other than the host),
 * a `Domain` without a dot other than `localhost` (the public suffix list
 * is not consulted), `Secure` from an `http` URL (but to `localhost`), or
 * what libcurl does not accept. A @url that is not an absolute `http` or
 * `https` URL with a host, or a @set_cookie with CR or LF, is a
 * programmer error. Without a jar this does nothing.
 *
 * Since: 0.1
 */
void
g_curl_multi_add_cookie (GCurlMulti *self,
                         const char *url,
                         const char *set_cookie)
{
  g_return_if_fail (G_CURL_IS_MULTI (self));
  g_return_if_fail (g_curl_jar_url_is_valid (url));
  g_return_if_fail (set_cookie != NULL && strpbrk (set_cookie, "\r\n") == NULL);

  if (!g_curl_jar_add_cookie (self->jar, url, set_cookie))
    {
      g_autofree char *shown = g_curl_url_without_password (url);

      g_warning ("The cookie “%s” cannot come from %s; it was not added", set_cookie, shown);
    }
}

/**
 * g_curl_multi_clear_cookies:
 * @self: a multi
 *
 * Removes every cookie from the multi's jar, and writes the empty jar to
 * [property@GCurl.Multi:cookie-file] at once if it is a file. Without a
 * jar this does nothing.
 *
 * Since: 0.1
 */
void
g_curl_multi_clear_cookies (GCurlMulti *self)
{
  g_return_if_fail (G_CURL_IS_MULTI (self));

  g_curl_jar_clear_cookies (self->jar);
}

/* Blocking calls (gcurl-sync.c) */

/* A new sibling of @self, on a main context of its own, with @self's
 * backend and proxy resolver. No network monitor: its signals would reach
 * the sibling's proxy cache from the monitor's thread; the cache entries
 * expire anyway. */
static GCurlMulti *
sibling_new (GCurlMulti *self)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  GCurlMulti *sibling = g_object_new (G_CURL_TYPE_MULTI,
                                      "context", context,
                                      "backend", self->backend,
                                      "proxy-resolver", self->proxies.resolver,
                                      "network-monitor", NULL,
                                      NULL);

  sibling->is_sibling = TRUE;
  return sibling;
}

/* Gives @sibling the settings of @self as they are now (under its
 * settings_lock). */
static void
sibling_sync (GCurlMulti *sibling,
              GCurlMulti *self)
{
  sibling->max_total_connections = self->max_total_connections;
  sibling->max_host_connections = self->max_host_connections;
  sibling->progress_interval = self->progress_interval;
  sibling->download_retries = self->download_retries;
  sibling->retries = self->retries;
  sibling->retry_delay = self->retry_delay;

  g_curl_request_options_clear (&sibling->defaults);
  g_curl_request_options_copy (&self->defaults, &sibling->defaults);
  /* The jar's share has the DNS cache and TLS sessions too. */
  if (self->jar == NULL && self->bare_jar == NULL)
    self->bare_jar = g_curl_jar_new_bare (self->context);
  g_clear_pointer (&sibling->jar, g_curl_jar_unref);
  sibling->jar = g_curl_jar_ref (self->jar != NULL ? self->jar : self->bare_jar);
  sibling->defaults.jar = sibling->jar;

  g_curl_proxy_chooser_set_resolver (&sibling->proxies, self->proxies.resolver);
  g_curl_engine_set_progress_interval (sibling->engine, sibling->progress_interval);
  g_curl_multi_list_set_interval (&sibling->list, sibling->progress_interval);
  apply_multi_options (sibling);
}

/* (transfer full): a multi for one blocking call (or one blocking send()'s
 * stream), from any thread: an idle sibling of @self, or a new one, with
 * @self's settings of now. Give it back with g_curl_multi_return_sibling()
 * once the call is over. */
GCurlMulti *
g_curl_multi_take_sibling (GCurlMulti *self)
{
  GCurlMulti *sibling;

  g_mutex_lock (&self->settings_lock);
  sibling = g_queue_pop_head (&self->idle_siblings);
  if (sibling == NULL)
    sibling = sibling_new (self);
  sibling_sync (sibling, self);
  g_mutex_unlock (&self->settings_lock);

  return sibling;
}

/* Keeps @sibling (transfer full), its connections open, for the next
 * blocking call, unless enough are kept already. Its context must not be
 * in use. */
void
g_curl_multi_return_sibling (GCurlMulti *self,
                             GCurlMulti *sibling)
{
  g_mutex_lock (&self->settings_lock);
  if (self->idle_siblings.length < MAX_IDLE_SIBLINGS && self->engine != NULL)
    {
      g_queue_push_head (&self->idle_siblings, g_steal_pointer (&sibling));
    }
  g_mutex_unlock (&self->settings_lock);

  g_clear_object (&sibling);
}

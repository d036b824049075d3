/* gcurl-proxy.c: the proxy of each origin, from a GProxyResolver
 *
 * A transfer whose proxy the application did not choose asks the multi's
 * GProxyResolver (GNOME's settings, PAC files, the environment) for the
 * proxy of its origin before libcurl sees it. Answers are kept per origin
 * for a while, as libsoup keeps them per connection, and transfers to one
 * origin wait behind one lookup, in the order they were added. See
 * gcurl-proxy-private.h.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "gcurl-error.h"
#include "gcurl-proxy-private.h"
#include "gcurl-transfer-private.h"
#include "gcurl-util-private.h"

/* How long the resolver's answer for an origin is kept: proxies are
 * chosen per host in practice (libsoup asks once per connection), and a
 * network change forgets them all at once. */
#define GCURL_PROXY_CACHE_TTL_US (60 * G_USEC_PER_SEC)

typedef struct
{
  char   *proxy;                        /* for CURLOPT_PROXY; "" = none,
                                         * NULL = none, and libcurl's
                                         * default says so too */
  gint64  expires;                      /* monotonic µs */
} ProxyCacheEntry;

/* A transfer waiting for the proxy of its origin. */
typedef struct
{
  GCurlTransfer *transfer;
  guint          run;
} ProxyWaiter;

/* A lookup in flight: it keeps the owner, and so the chooser, alive. */
typedef struct
{
  GCurlProxyChooser *chooser;
  GObject           *owner;
  char              *origin;
} ProxyLookup;

static void
proxy_cache_entry_free (gpointer data)
{
  ProxyCacheEntry *entry = data;

  g_free (entry->proxy);
  g_free (entry);
}

static void
proxy_waiter_free (gpointer data)
{
  ProxyWaiter *waiter = data;

  g_object_unref (waiter->transfer);
  g_free (waiter);
}

void
g_curl_proxy_chooser_init (GCurlProxyChooser *self,
                           GObject           *owner)
{
  self->owner = owner;
  self->cache = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, proxy_cache_entry_free);
  self->pending = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                         (GDestroyNotify) g_ptr_array_unref);
}

/* The owner's dispose: lookups in flight still finish, and find their
 * transfers gone. */
void
g_curl_proxy_chooser_dispose (GCurlProxyChooser *self)
{
  g_curl_proxy_chooser_set_monitor (self, NULL);
  g_clear_object (&self->resolver);
}

/* The owner's finalize: no lookup holds it any more. */
void
g_curl_proxy_chooser_clear (GCurlProxyChooser *self)
{
  g_curl_proxy_chooser_dispose (self);
  g_clear_pointer (&self->cache, g_hash_table_unref);
  g_clear_pointer (&self->pending, g_hash_table_unref);
  g_clear_pointer (&self->last_origin, g_free);
}

/* The owner's main context, where the network monitor's changes are
 * handled. */
void
g_curl_proxy_chooser_set_context (GCurlProxyChooser *self,
                                  GMainContext      *context)
{
  self->context = context;
}

void
g_curl_proxy_chooser_forget (GCurlProxyChooser *self)
{
  g_hash_table_remove_all (self->cache);
}

/* Returns whether @resolver is a new one; the answers of the old one are
 * forgotten. */
gboolean
g_curl_proxy_chooser_set_resolver (GCurlProxyChooser *self,
                                   GProxyResolver    *resolver)
{
  if (!g_set_object (&self->resolver, resolver))
    return FALSE;

  g_curl_proxy_chooser_forget (self);
  return TRUE;
}

typedef struct
{
  GWeakRef           owner;
  GCurlProxyChooser *chooser;           /* valid while owner is */
} ForgetData;

static gboolean
forget_cb (gpointer user_data)
{
  ForgetData *data = user_data;
  g_autoptr(GObject) owner = g_weak_ref_get (&data->owner);

  if (owner != NULL)
    g_curl_proxy_chooser_forget (data->chooser);
  return G_SOURCE_REMOVE;
}

static void
forget_data_free (gpointer user_data)
{
  ForgetData *data = user_data;

  g_weak_ref_clear (&data->owner);
  g_free (data);
}

/* The monitor signals from the context it was made in, which may be
 * another thread's: the cache is only touched from the owner's. */
static void
network_changed_cb (GNetworkMonitor *monitor,
                    gboolean         available,
                    gpointer         user_data)
{
  GCurlProxyChooser *self = user_data;
  ForgetData *data;

  if (self->context == NULL || g_main_context_is_owner (self->context))
    {
      /* Another network may have other proxies. */
      g_curl_proxy_chooser_forget (self);
      return;
    }

  data = g_new0 (ForgetData, 1);
  g_weak_ref_init (&data->owner, self->owner);
  data->chooser = self;
  g_main_context_invoke_full (self->context, G_PRIORITY_DEFAULT, forget_cb, data,
                              forget_data_free);
}

/* Returns whether @monitor is a new one. Its "network-changed" forgets the
 * answers, until the owner's dispose disconnects it. */
gboolean
g_curl_proxy_chooser_set_monitor (GCurlProxyChooser *self,
                                  GNetworkMonitor   *monitor)
{
  if (self->monitor == monitor)
    return FALSE;

  if (self->monitor != NULL)
    g_clear_signal_handler (&self->network_changed_id, self->monitor);
  g_set_object (&self->monitor, monitor);
  if (monitor != NULL)
    self->network_changed_id = g_signal_connect (monitor, "network-changed",
                                                 G_CALLBACK (network_changed_cb), self);
  g_curl_proxy_chooser_forget (self);
  return TRUE;
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

char *
g_curl_proxy_from_list (char **proxies)
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

static void
proxy_lookup_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  ProxyLookup *lookup = user_data;
  GCurlProxyChooser *self = lookup->chooser;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) proxies = g_proxy_resolver_lookup_finish (G_PROXY_RESOLVER (source),
                                                          result, &error);
  g_autoptr(GPtrArray) waiters = NULL;
  g_autofree char *pending_key = NULL;
  ProxyCacheEntry *entry = NULL;
  guint i;

  g_hash_table_steal_extended (self->pending, lookup->origin,
                               (gpointer *) &pending_key, (gpointer *) &waiters);

  if (proxies != NULL)
    {
      entry = g_new0 (ProxyCacheEntry, 1);
      entry->proxy = g_curl_proxy_from_list (proxies);
      /* Without proxy variables in the environment, libcurl's default is
       * a direct connection too: then nothing is set on the handles (each
       * CURLOPT_PROXY and CURLOPT_NOPROXY is a copy per transfer). */
      if (entry->proxy[0] == '\0' && !proxy_in_environment ())
        g_clear_pointer (&entry->proxy, g_free);
      entry->expires = g_get_monotonic_time () + GCURL_PROXY_CACHE_TTL_US;
      g_hash_table_replace (self->cache, g_strdup (lookup->origin), entry);
    }

  for (i = 0; waiters != NULL && i < waiters->len; i++)
    {
      ProxyWaiter *waiter = g_ptr_array_index (waiters, i);
      GCurlTransfer *transfer = waiter->transfer;

      /* Cancelled meanwhile, or already running again. */
      if (g_curl_transfer_get_owner (transfer) != self->owner ||
          g_curl_transfer_is_completed (transfer) ||
          g_curl_transfer_get_run (transfer) != waiter->run)
        continue;

      if (entry == NULL)
        {
          g_curl_transfer_end (transfer,
                               g_error_new (G_CURL_ERROR, G_CURL_ERROR_COULDNT_RESOLVE_PROXY,
                                            _("Could not find the proxy for %s: %s"),
                                            g_curl_transfer_get_shown_url (transfer),
                                            error->message));
          continue;
        }

      g_curl_transfer_set_proxy (transfer, entry->proxy);
      g_curl_transfer_submit (transfer);
    }

  g_object_unref (lookup->owner);
  g_free (lookup->origin);
  g_free (lookup);
}

/* Sets the proxy the resolver chose for @transfer's origin (a started
 * run); returns %TRUE if it has to be asked first, in which case the run
 * is submitted to libcurl once it has answered. %FALSE leaves the choice
 * to libcurl: no resolver, GLib's fallback one, or a URL without an
 * origin. */
gboolean
g_curl_proxy_chooser_choose (GCurlProxyChooser *self,
                             GCurlTransfer     *transfer)
{
  g_autofree char *origin = NULL;
  g_autofree char *uri = NULL;
  const char *url;
  ProxyCacheEntry *entry;
  ProxyWaiter *waiter;
  GPtrArray *waiters;
  ProxyLookup *lookup;

  if (self->resolver == NULL)
    return FALSE;

  /* GLib's fallback when no module provides a resolver always answers
   * "direct://": leave the choice to libcurl, which reads the proxy
   * environment variables. */
  /* By name: a static cache of its GType would be written from every
   * thread that runs a blocking call (gcurl-sync.c). */
  if (g_str_equal (G_OBJECT_TYPE_NAME (self->resolver), "GDummyProxyResolver"))
    return FALSE;

  /* Most transfers go where the one before went: no URL parsing then. */
  url = g_curl_transfer_get_url (transfer);
  if (self->last_origin != NULL && g_curl_url_has_origin (url, self->last_origin))
    origin = g_strdup (self->last_origin);
  else
    origin = g_curl_url_origin (url);
  if (origin == NULL)
    return FALSE;
  if (g_strcmp0 (origin, self->last_origin) != 0)
    {
      g_free (self->last_origin);
      self->last_origin = g_strdup (origin);
    }
  entry = g_hash_table_lookup (self->cache, origin);
  if (entry != NULL && entry->expires > g_get_monotonic_time ())
    {
      g_curl_transfer_set_proxy (transfer, entry->proxy);
      return FALSE;
    }

  waiter = g_new0 (ProxyWaiter, 1);
  waiter->transfer = g_object_ref (transfer);
  waiter->run = g_curl_transfer_get_run (transfer);

  waiters = g_hash_table_lookup (self->pending, origin);
  if (waiters != NULL)
    {
      g_ptr_array_add (waiters, waiter);
      return TRUE;
    }

  waiters = g_ptr_array_new_with_free_func (proxy_waiter_free);
  g_ptr_array_add (waiters, waiter);
  g_hash_table_insert (self->pending, g_strdup (origin), waiters);

  lookup = g_new0 (ProxyLookup, 1);
  lookup->chooser = self;
  lookup->owner = g_object_ref (self->owner);
  lookup->origin = g_steal_pointer (&origin);
  uri = g_strconcat (lookup->origin, "/", NULL);
  g_proxy_resolver_lookup_async (self->resolver, uri, NULL, proxy_lookup_cb, lookup);
  return TRUE;
}

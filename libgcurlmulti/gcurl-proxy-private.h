/* gcurl-proxy-private.h: the proxy of each origin, from a GProxyResolver
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

#include "gcurl-transfer.h"

G_BEGIN_DECLS

/* Asks a GProxyResolver for the proxy of each origin, once per origin for
 * a minute, and forgets the answers when the network
 * changes. Embedded in a multi; used from its main context only. */
typedef struct _GCurlProxyChooser GCurlProxyChooser;
struct _GCurlProxyChooser
{
  GObject         *owner;               /* (unowned): the multi, which embeds this */
  GMainContext    *context;             /* (unowned): the owner's */
  GProxyResolver  *resolver;            /* (nullable): NULL, libcurl's own choice */
  GNetworkMonitor *monitor;             /* (nullable) */
  gulong           network_changed_id;
  GHashTable      *cache;               /* origin → ProxyCacheEntry */
  GHashTable      *pending;             /* origin → GPtrArray of ProxyWaiter */
  char            *last_origin;         /* (nullable): of the last URL chosen for */
};

void     g_curl_proxy_chooser_init         (GCurlProxyChooser *self,
                                            GObject           *owner);
void     g_curl_proxy_chooser_dispose      (GCurlProxyChooser *self);
void     g_curl_proxy_chooser_clear        (GCurlProxyChooser *self);
void     g_curl_proxy_chooser_set_context  (GCurlProxyChooser *self,
                                            GMainContext      *context);
gboolean g_curl_proxy_chooser_set_resolver (GCurlProxyChooser *self,
                                            GProxyResolver    *resolver);
gboolean g_curl_proxy_chooser_set_monitor  (GCurlProxyChooser *self,
                                            GNetworkMonitor   *monitor);
void     g_curl_proxy_chooser_forget       (GCurlProxyChooser *self);
gboolean g_curl_proxy_chooser_choose       (GCurlProxyChooser *self,
                                            GCurlTransfer     *transfer);

/* The first proxy of a GProxyResolver answer that libcurl can use, as
 * CURLOPT_PROXY takes it ("" for a direct connection). */
char    *g_curl_proxy_from_list            (char             **proxies);

G_END_DECLS

/* gcurl-transfer-mirrors.c: more URLs of the same file
 *
 * The part of GCurlTransfer's API that download_async's failover reads
 * (gcurl-download-mirrors.c): the mirrors the application gave, and the
 * URL a run goes to when it is not the transfer's own. Both are kept on
 * the transfer as object data, so that they need nothing of the instance
 * struct (gcurl-transfer.c); the property is installed after "idempotent"
 * (see gcurl-transfer-retry.c).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "gcurl-easy-private.h"
#include "gcurl-transfer-private.h"
#include "gcurl-util-private.h"

static GParamSpec *mirrors_pspec;
static guint mirrors_prop;
static GQuark mirrors_quark;
static GQuark run_url_quark;

void
g_curl_transfer_mirrors_class_init (GObjectClass *object_class,
                                    guint         prop_id)
{
  mirrors_prop = prop_id;
  mirrors_quark = g_quark_from_static_string ("gcurl-transfer-mirrors");
  run_url_quark = g_quark_from_static_string ("gcurl-transfer-run-url");

  /**
   * GCurlTransfer:mirrors: (getter get_mirrors) (setter set_mirrors)
   *
   * More URLs of the same file, for [method@GCurl.Multi.download_async]
   * and [method@GCurl.Multi.download_to_directory_async] to continue
   * from when [property@GCurl.Transfer:url] fails in a way another server
   * can fix; %NULL for none (the default). See
   * [method@GCurl.Transfer.set_mirrors].
   *
   * Since: 0.1
   */
  mirrors_pspec = g_param_spec_boxed ("mirrors", NULL, NULL, G_TYPE_STRV, GCURL_PARAM_READWRITE);
  g_object_class_install_property (object_class, mirrors_prop, mirrors_pspec);
  g_curl_transfer_segments_class_init (object_class, mirrors_prop + 1);
}

/* Returns TRUE if @prop_id is this unit's property, after reading it. */
gboolean
g_curl_transfer_mirrors_get_property (GCurlTransfer *self,
                                      guint          prop_id,
                                      GValue        *value)
{
  if (prop_id != mirrors_prop)
    return g_curl_transfer_segments_get_property (self, prop_id, value);

  g_value_set_boxed (value, g_curl_transfer_get_mirrors (self));
  return TRUE;
}

/* Returns TRUE if @prop_id is this unit's property, after setting it. */
gboolean
g_curl_transfer_mirrors_set_property (GCurlTransfer *self,
                                      guint          prop_id,
                                      const GValue  *value)
{
  if (prop_id != mirrors_prop)
    return g_curl_transfer_segments_set_property (self, prop_id, value);

  g_curl_transfer_set_mirrors (self, g_value_get_boxed (value));
  return TRUE;
}

/**
 * g_curl_transfer_set_mirrors:
 * @self: a transfer
 * @urls: (array zero-terminated=1) (nullable): more URLs of the same
 *   file, in the order to try them, or %NULL (or an empty array) for none
 *
 * Gives the downloads of @self more URLs of the same file: other servers
 * that serve exactly the resource [property@GCurl.Transfer:url] names.
 *
 * When an attempt of [method@GCurl.Multi.download_async] (and so of
 * [method@GCurl.Multi.download_to_directory_async]) fails in a way another
 * server can fix — the connection refused or lost mid-body, a name that
 * does not resolve, a stall, HTTP 404, 410, 408, 429 or 5xx — the download
 * continues at once from the next URL: the transfer's own first, then the
 * mirrors in order. Once every URL of that round has failed,
 * [property@GCurl.Multi:download-retries] decides as without mirrors on
 * the last error: a retry waits, then starts a new round from the
 * transfer's own URL. So a download makes at most (download-retries + 1)
 * rounds, each of at most one attempt per URL, and its error is the last
 * URL's. Other failures (a TLS certificate that does not verify, a
 * protocol that is not allowed, the disk) end the download as before.
 *
 * A `.part` is continued from another URL than the one whose response
 * began it only when both responses carry the same strong `ETag` (and the
 * other validators agree): two servers of the same file seldom give it
 * the same `Last-Modified`, and the size alone cannot tell one file from
 * another. Anything else starts the file over from zero on the new URL,
 * at the cost of the bytes already received. The same holds for a
 * `.part` from an earlier download (%G_CURL_DOWNLOAD_RESUME),
 * whose URL is not known. Two files are never spliced. With an expected
 * checksum ([method@GCurl.Transfer.set_expected_checksum]), a file that
 * does not match it is fetched again from zero from the next URL, once
 * per mirror and once more.
 *
 * A mirror is a URL the application chose: the request headers it set
 * (and the multi's) are sent to every mirror, as is everything else it
 * set on @self (method, options, the raw handle's credentials). User
 * names and passwords in [property@GCurl.Transfer:url] are not: they go
 * to that URL only; a mirror that needs them has them in its own URL.
 * The proxy is the one chosen for the transfer's own URL.
 *
 * Each attempt is a run of @self, with its
 * [signal@GCurl.Transfer::finished]; during and after a run
 * [property@GCurl.Transfer:effective-url] names the mirror (or the
 * redirect) that served it. [property@GCurl.Transfer:url] does not
 * change. A download reads the mirrors when it starts: a change applies
 * to the next download.
 *
 * Since: 0.1
 */
void
g_curl_transfer_set_mirrors (GCurlTransfer      *self,
                             const char * const *urls)
{
  const char * const *old;

  g_return_if_fail (G_CURL_IS_TRANSFER (self));

  if (urls != NULL && urls[0] == NULL)
    urls = NULL;
  old = g_curl_transfer_get_mirrors (self);
  if (old == urls ||
      (old != NULL && urls != NULL && g_strv_equal ((const char **) old, (const char **) urls)))
    return;

  g_object_set_qdata_full (G_OBJECT (self), mirrors_quark, g_strdupv ((char **) urls),
                           (GDestroyNotify) g_strfreev);
  g_object_notify_by_pspec (G_OBJECT (self), mirrors_pspec);
}

/**
 * g_curl_transfer_get_mirrors:
 * @self: a transfer
 *
 * Gets the URLs [method@GCurl.Transfer.set_mirrors] gave.
 *
 * Returns: (transfer none) (array zero-terminated=1) (nullable): the
 *   mirrors, or %NULL if there are none
 *
 * Since: 0.1
 */
const char * const *
g_curl_transfer_get_mirrors (GCurlTransfer *self)
{
  g_return_val_if_fail (G_CURL_IS_TRANSFER (self), NULL);

  return mirrors_quark != 0 ? g_object_get_qdata (G_OBJECT (self), mirrors_quark) : NULL;
}

/* Makes the next runs of @self request @url (a mirror, or its own URL
 * again) instead of its own URL, and effective-url say so; %NULL, at the
 * end of a download, goes back to its own URL for good, but effective-url
 * keeps naming the URL that served the last run until the next run
 * starts. Only between runs. */
void
g_curl_transfer_set_run_url (GCurlTransfer *self,
                             const char    *url)
{
  GCurlEasy *easy = g_curl_transfer_get_easy (self);
  const char *own = g_curl_transfer_get_url (self);
  char *copy;

  if (url == NULL)
    {
      if (easy->url == own)
        return;
      /* What effective-url says: made before the URL changes. */
      g_curl_easy_get_shown_url (easy);
      easy->url = own;
      g_object_set_qdata (G_OBJECT (self), run_url_quark, NULL);
      return;
    }

  if (g_strcmp0 (url, easy->url) == 0)
    return;

  copy = g_strdup (url);
  easy->url = copy;
  g_object_set_qdata_full (G_OBJECT (self), run_url_quark, copy, g_free);
  g_clear_pointer (&easy->shown_url, g_free);
  g_object_notify (G_OBJECT (self), "effective-url");
}

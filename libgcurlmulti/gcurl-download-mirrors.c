/* gcurl-download-mirrors.c: which URL the next attempt of a download asks
 *
 * download_async (gcurl-download.c) with a transfer that has mirrors
 * (GCurlTransfer:mirrors, gcurl-transfer-mirrors.c) goes through its URLs
 * in rounds: the transfer's own first, then each mirror in order. A
 * failure another server can fix (what a retry could fix, and a 404 or
 * 410: the file is not, or no longer, on that server) moves on to the
 * next URL at once, without a wait and without spending one of
 * download-retries. When the round's last URL has failed, the retry rule
 * decides as without mirrors, and a retry starts a new round from the
 * transfer's own URL after its wait.
 *
 * Never splice two files: a .part continues from another URL than the one
 * whose response began it only on the same strong ETag. Two mirrors of a
 * file usually differ in ETag (an inode, a build time) and often in
 * Last-Modified (when each was synced); a strong ETag equal on both is
 * the one validator that says the bytes are the same. Last-Modified with
 * the size is not enough: two versions of a file made within one second
 * can have both equal, and two servers' clocks say nothing of each other.
 * The cost: between most mirrors a switch starts over from zero. A .part
 * from an earlier download has no known URL, so the same rule holds for
 * it from the first attempt on. The validators every continuation is
 * checked against (gcurl-download.c) still apply on top.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "gcurl-download-mirrors-private.h"
#include "gcurl-error.h"
#include "gcurl-error-private.h"
#include "gcurl-transfer-private.h"

void
g_curl_mirrors_init (GCurlMirrors  *mirrors,
                     GCurlTransfer *transfer)
{
  const char * const *more = g_curl_transfer_get_mirrors (transfer);
  GPtrArray *urls = g_ptr_array_new ();

  g_ptr_array_add (urls, g_strdup (g_curl_transfer_get_url (transfer)));
  for (guint i = 0; more != NULL && more[i] != NULL; i++)
    g_ptr_array_add (urls, g_strdup (more[i]));
  mirrors->n_urls = urls->len;
  g_ptr_array_add (urls, NULL);
  mirrors->urls = (char **) g_ptr_array_free (urls, FALSE);
  mirrors->current = 0;
  mirrors->tried = 1;
  mirrors->part_source = G_CURL_MIRRORS_UNKNOWN;
}

void
g_curl_mirrors_clear (GCurlMirrors *mirrors)
{
  g_clear_pointer (&mirrors->urls, g_strfreev);
  mirrors->n_urls = 0;
}

guint
g_curl_mirrors_get_n_mirrors (const GCurlMirrors *mirrors)
{
  return mirrors->n_urls > 0 ? mirrors->n_urls - 1 : 0;
}

/* Whether this attempt's URL is http(s): a .part is continued with a
 * Range, not libcurl's resume. */
gboolean
g_curl_mirrors_is_http (const GCurlMirrors *mirrors)
{
  const char *scheme = g_uri_peek_scheme (mirrors->urls[mirrors->current]);

  return scheme == NULL || g_str_has_prefix (scheme, "http");
}

/* Points the next run of @transfer at this attempt's URL. */
void
g_curl_mirrors_apply (const GCurlMirrors *mirrors,
                      GCurlTransfer      *transfer)
{
  if (mirrors->n_urls > 1)
    g_curl_transfer_set_run_url (transfer, mirrors->urls[mirrors->current]);
}

/* Whether another server may not fail as this one did. */
static gboolean
another_server_can_fix (const GError *error,
                        guint         status,
                        int           os_errno)
{
  if (g_error_matches (error, G_CURL_ERROR, G_CURL_ERROR_HTTP_RETURNED_ERROR) &&
      (status == 404 || status == 410))
    return TRUE;

  return g_curl_error_is_transient_for_status (error, status, os_errno);
}

/* After an attempt failed with @error: moves on to the next URL of this
 * round and returns TRUE, or FALSE if another server cannot help, or
 * every URL of the round has been tried. */
/* Whether g_curl_mirrors_fail_over() would go on to another URL. */
gboolean
g_curl_mirrors_can_fail_over (const GCurlMirrors *mirrors,
                              const GError       *error,
                              guint               status,
                              int                 os_errno)
{
  return mirrors->tried < mirrors->n_urls && another_server_can_fix (error, status, os_errno);
}

gboolean
g_curl_mirrors_fail_over (GCurlMirrors *mirrors,
                          const GError *error,
                          guint         status,
                          int           os_errno)
{
  if (!g_curl_mirrors_can_fail_over (mirrors, error, status, os_errno))
    return FALSE;

  mirrors->current = (mirrors->current + 1) % mirrors->n_urls;
  mirrors->tried++;
  return TRUE;
}

/* A retry (after its wait): a new round, from the transfer's own URL. */
void
g_curl_mirrors_new_round (GCurlMirrors *mirrors)
{
  mirrors->current = 0;
  mirrors->tried = 1;
}

/* After a .part that turned out wrong (its checksum): the next attempt,
 * from zero, goes to the next URL, round robin, and starts a round. */
void
g_curl_mirrors_next (GCurlMirrors *mirrors)
{
  if (mirrors->n_urls > 0)
    mirrors->current = (mirrors->current + 1) % mirrors->n_urls;
  mirrors->tried = 1;
}

/* A new .part was begun from this attempt's response. */
void
g_curl_mirrors_part_begun (GCurlMirrors *mirrors)
{
  mirrors->part_source = mirrors->current;
}

static gboolean
is_strong_etag (const char *etag)
{
  return etag != NULL && etag[0] == '"';
}

/* Whether this attempt may ask for the rest of a .part whose ETag is
 * @part_etag: only if the answer could continue it (see
 * g_curl_mirrors_may_continue()). Otherwise asking for the whole file
 * saves a request. */
gboolean
g_curl_mirrors_may_resume (const GCurlMirrors *mirrors,
                           const char         *part_etag)
{
  return mirrors->n_urls <= 1 || mirrors->current == mirrors->part_source ||
         is_strong_etag (part_etag);
}

/* Whether a response with @etag may continue the .part whose ETag is
 * @part_etag, as far as its URL goes (the other validators are checked by
 * the caller): from the URL that began it, yes; from another, only with
 * the same strong ETag. */
gboolean
g_curl_mirrors_may_continue (const GCurlMirrors *mirrors,
                             const char         *part_etag,
                             const char         *etag)
{
  return g_curl_mirrors_may_resume (mirrors, part_etag) &&
         (mirrors->n_urls <= 1 || mirrors->current == mirrors->part_source ||
          g_strcmp0 (part_etag, etag) == 0);
}

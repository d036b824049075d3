/* gcurl-transfer-segments.c: over how many connections a download may go
 *
 * The part of GCurlTransfer's API that segmented downloads read
 * (gcurl-download-segments.c): the "segments" property, and the mark of
 * the transfers such a download makes for its other connections, which
 * no multi lists. Both are object data, so that they need nothing of the
 * instance struct (gcurl-transfer.c); the property is installed after
 * "mirrors" (see gcurl-transfer-mirrors.c).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "gcurl-easy-private.h"
#include "gcurl-transfer-private.h"
#include "gcurl-util-private.h"

/* More connections than this to one file help no one, and a server may
 * take them for an attack. */
#define GCURL_MAX_SEGMENTS 16

static GParamSpec *segments_pspec;
static guint segments_prop;
static GQuark segments_quark;
static GQuark unlisted_quark;

void
g_curl_transfer_segments_class_init (GObjectClass *object_class,
                                     guint         prop_id)
{
  segments_prop = prop_id;
  segments_quark = g_quark_from_static_string ("gcurl-transfer-segments");
  unlisted_quark = g_quark_from_static_string ("gcurl-transfer-unlisted");

  /**
   * GCurlTransfer:segments: (getter get_segments) (setter set_segments)
   *
   * Over how many connections at once [method@GCurl.Multi.download_async]
   * and [method@GCurl.Multi.download_to_directory_async] may fetch the
   * file, from 1 (the default: one connection) to 16. See
   * [method@GCurl.Transfer.set_segments].
   *
   * Since: 0.1
   */
  segments_pspec = g_param_spec_uint ("segments", NULL, NULL, 1, GCURL_MAX_SEGMENTS, 1,
                                      GCURL_PARAM_READWRITE);
  g_object_class_install_property (object_class, segments_prop, segments_pspec);
}

/* Returns TRUE if @prop_id is this unit's property, after reading it. */
gboolean
g_curl_transfer_segments_get_property (GCurlTransfer *self,
                                       guint          prop_id,
                                       GValue        *value)
{
  if (prop_id != segments_prop)
    return FALSE;

  g_value_set_uint (value, g_curl_transfer_get_segments (self));
  return TRUE;
}

/* Returns TRUE if @prop_id is this unit's property, after setting it. */
gboolean
g_curl_transfer_segments_set_property (GCurlTransfer *self,
                                       guint          prop_id,
                                       const GValue  *value)
{
  if (prop_id != segments_prop)
    return FALSE;

  g_curl_transfer_set_segments (self, g_value_get_uint (value));
  return TRUE;
}

/**
 * g_curl_transfer_set_segments:
 * @self: a transfer
 * @segments: the most connections a download of @self may use at once,
 *   from 1 to 16
 *
 * Lets the downloads of @self fetch a large file over several
 * connections at once, each a range of it: a server that limits the
 * speed of each connection (as many mirrors do) then gives the file
 * several times faster.
 *
 * A download is split only when the first response says that it can be:
 * a `200` for a `GET` over HTTP(S) with `Accept-Ranges: bytes`, a
 * `Content-Length` of at least 2 MiB per segment beyond the first (a
 * smaller file gets fewer segments, down to one), a strong `ETag` or a
 * `Last-Modified`, and no content coding; and when @self has no
 * [property@GCurl.Transfer:max-download-speed] of its own, which is for
 * one connection (the multi's is shared by all). That response is the first
 * segment; the others are requested with `Range` and `If-Range`, and each
 * is written in place into the `.part`, which has the file's size from
 * the start. Every other segment's response must be a `206` of exactly
 * the range asked, with the same validators: anything else means the
 * file changed, and the download starts over from zero as
 * [method@GCurl.Multi.download_async] does. So two versions are never
 * spliced, whichever connection brought which bytes. With
 * [method@GCurl.Transfer.set_mirrors], the segments are spread over the
 * URLs; a mirror whose response is not of the same file (another strong
 * `ETag`) is not used for segments.
 *
 * The other connections are transfers of the library's own with
 * [property@GCurl.Transfer:url] (or a mirror), the request headers, and
 * the settings of @self (options and the TLS client certificate), but not
 * what was given to its raw handle, nor answers to its
 * [signal@GCurl.Transfer::authenticate] or
 * [signal@GCurl.Transfer::accept-certificate]: a segment whose connection
 * fails for good (a `401`, a certificate to accept) is fetched by the
 * first connection instead, after its own. Transient failures of a
 * segment are retried as the download's are
 * ([property@GCurl.Multi:download-retries]). They are not in the multi's
 * list model, and @self shows the whole download: its downloaded-bytes
 * (and fraction, speed) count every connection's bytes, and pausing
 * @self pauses them all.
 *
 * What each segment has received is kept next to the `.part` (in
 * `<destination>.part.segments`), so that %G_CURL_DOWNLOAD_RESUME or a
 * retry continues every segment where it stopped. A checksum set with
 * [method@GCurl.Transfer.set_expected_checksum] is checked on the whole
 * file.
 *
 * Since: 0.1
 */
void
g_curl_transfer_set_segments (GCurlTransfer *self,
                              guint          segments)
{
  g_return_if_fail (G_CURL_IS_TRANSFER (self));
  g_return_if_fail (segments >= 1 && segments <= GCURL_MAX_SEGMENTS);

  if (g_curl_transfer_get_segments (self) == segments)
    return;

  g_object_set_qdata (G_OBJECT (self), segments_quark, GUINT_TO_POINTER (segments));
  g_object_notify_by_pspec (G_OBJECT (self), segments_pspec);
}

/**
 * g_curl_transfer_get_segments:
 * @self: a transfer
 *
 * Gets [property@GCurl.Transfer:segments].
 *
 * Returns: the most connections a download of @self may use at once
 *
 * Since: 0.1
 */
guint
g_curl_transfer_get_segments (GCurlTransfer *self)
{
  guint segments;

  g_return_val_if_fail (G_CURL_IS_TRANSFER (self), 1);

  segments = GPOINTER_TO_UINT (g_object_get_qdata (G_OBJECT (self), segments_quark));
  return segments != 0 ? segments : 1;
}

/* One of a segmented download's own connections: in no multi's list. */
void
g_curl_transfer_set_unlisted (GCurlTransfer *self)
{
  g_object_set_qdata (G_OBJECT (self), unlisted_quark, GINT_TO_POINTER (TRUE));
}

gboolean
g_curl_transfer_is_unlisted (GCurlTransfer *self)
{
  return g_object_get_qdata (G_OBJECT (self), unlisted_quark) != NULL;
}

/* A segmented download (gcurl-download-segments.c): the rest of the body
 * is not wanted, the run ends at the next chunk, successfully. */
void
g_curl_transfer_end_body (GCurlTransfer *self)
{
  GCurlEasy *easy = g_curl_transfer_get_easy (self);

  easy->body_enough = TRUE;
  g_curl_easy_unpause_sink (easy);
}

/* gcurl-transfer-destination.c: where a transfer's download is saved
 *
 * The part of GCurlTransfer's API that download_async and
 * download_to_directory_async fill in: the file the body goes to, once
 * it is known. Kept on the transfer as object data, so that it needs
 * nothing of the instance struct (gcurl-transfer.c); the property is
 * installed after the TLS ones (see gcurl-transfer-tls.c).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "gcurl-transfer-private.h"
#include "gcurl-util-private.h"

static GParamSpec *destination_property;
static GQuark destination_quark;

void
g_curl_transfer_destination_class_init (GObjectClass *object_class,
                                        guint         prop_id)
{
  destination_quark = g_quark_from_static_string ("gcurl-transfer-destination");

  /**
   * GCurlTransfer:destination: (getter get_destination)
   *
   * The file [method@GCurl.Multi.download_async] or
   * [method@GCurl.Multi.download_to_directory_async] saves the body to
   * (its `.part` until it is complete), once it is known: when
   * download_async starts, and for a download to a folder when the
   * final response's headers have named the file (just after
   * [signal@GCurl.Transfer::got-headers]). %NULL before any download.
   * It stays set after the download has ended, until another download
   * of this transfer names another file.
   *
   * Notified from the multi's main context when it changes.
   *
   * Since: 0.1
   */
  destination_property =
    g_param_spec_object ("destination", NULL, NULL, G_TYPE_FILE, GCURL_PARAM_READABLE);
  g_object_class_install_property (object_class, prop_id, destination_property);
}

void
g_curl_transfer_destination_get_property (GCurlTransfer *self,
                                          GValue        *value)
{
  g_value_set_object (value, g_curl_transfer_get_destination (self));
}

/* Sets where the download of @self is saved, and notifies if that
 * changed. */
void
g_curl_transfer_set_destination (GCurlTransfer *self,
                                 GFile         *destination)
{
  GFile *old = g_curl_transfer_get_destination (self);

  if (old == destination || (old != NULL && destination != NULL && g_file_equal (old, destination)))
    return;

  g_object_set_qdata_full (G_OBJECT (self), destination_quark,
                           destination != NULL ? g_object_ref (destination) : NULL,
                           g_object_unref);
  g_object_notify_by_pspec (G_OBJECT (self), destination_property);
}

/**
 * g_curl_transfer_get_destination:
 * @self: a transfer
 *
 * Gets the file a download of @self saves the body to, once it is known:
 * see [property@GCurl.Transfer:destination].
 *
 * Returns: (transfer none) (nullable): the file, or %NULL if no download
 *   has named one yet
 *
 * Since: 0.1
 */
GFile *
g_curl_transfer_get_destination (GCurlTransfer *self)
{
  g_return_val_if_fail (G_CURL_IS_TRANSFER (self), NULL);

  return destination_quark != 0 ? g_object_get_qdata (G_OBJECT (self), destination_quark) : NULL;
}

/* gcurl-figures.c: a transfer's figures, as its last "progress" gave them
 *
 * The part of GCurlTransfer's API that reads the progress meter
 * (gcurl-progress.c): bytes, sizes, fraction, speed and time remaining,
 * which the properties of the same names notify.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "gcurl-progress-private.h"
#include "gcurl-transfer.h"
#include "gcurl-transfer-private.h"

/**
 * g_curl_transfer_get_downloaded_bytes:
 * @self: a transfer
 *
 * Gets how many bytes of the response body have arrived, as of the last
 * [signal@GCurl.Transfer::progress].
 *
 * Returns: the byte count
 *
 * Since: 0.1
 */
gint64
g_curl_transfer_get_downloaded_bytes (GCurlTransfer *self)
{
  g_return_val_if_fail (G_CURL_IS_TRANSFER (self), 0);

  return g_curl_transfer_get_progress (self)->downloaded;
}

/**
 * g_curl_transfer_get_download_size:
 * @self: a transfer
 *
 * Gets the size of the response body, from its `Content-Length`.
 *
 * Returns: the size in bytes, or -1 when it is not known
 *
 * Since: 0.1
 */
gint64
g_curl_transfer_get_download_size (GCurlTransfer *self)
{
  g_return_val_if_fail (G_CURL_IS_TRANSFER (self), -1);

  return g_curl_transfer_get_progress (self)->download_size;
}

/**
 * g_curl_transfer_get_uploaded_bytes:
 * @self: a transfer
 *
 * Gets how many bytes of the request body have been sent.
 *
 * Returns: the byte count
 *
 * Since: 0.1
 */
gint64
g_curl_transfer_get_uploaded_bytes (GCurlTransfer *self)
{
  g_return_val_if_fail (G_CURL_IS_TRANSFER (self), 0);

  return g_curl_transfer_get_progress (self)->uploaded;
}

/**
 * g_curl_transfer_get_upload_size:
 * @self: a transfer
 *
 * Gets the size of the request body.
 *
 * Returns: the size in bytes, or -1 when there is none or it is not known
 *
 * Since: 0.1
 */
gint64
g_curl_transfer_get_upload_size (GCurlTransfer *self)
{
  g_return_val_if_fail (G_CURL_IS_TRANSFER (self), -1);

  return g_curl_transfer_get_progress (self)->upload_size;
}

/**
 * g_curl_transfer_get_fraction:
 * @self: a transfer
 *
 * Gets how much of the response body has arrived.
 *
 * Returns: a number from 0 to 1; 1 once the transfer has succeeded
 *
 * Since: 0.1
 */
double
g_curl_transfer_get_fraction (GCurlTransfer *self)
{
  g_return_val_if_fail (G_CURL_IS_TRANSFER (self), 0.0);

  return g_curl_transfer_get_progress (self)->fraction;
}

/**
 * g_curl_transfer_get_download_speed:
 * @self: a transfer
 *
 * Gets the recent download speed.
 *
 * Returns: bytes per second
 *
 * Since: 0.1
 */
gint64
g_curl_transfer_get_download_speed (GCurlTransfer *self)
{
  g_return_val_if_fail (G_CURL_IS_TRANSFER (self), 0);

  return g_curl_transfer_get_progress (self)->speed;
}

/**
 * g_curl_transfer_get_time_remaining:
 * @self: a transfer
 *
 * Estimates how long until the response body has arrived.
 *
 * Returns: seconds, or -1 when the size or the speed is not known
 *
 * Since: 0.1
 */
gint64
g_curl_transfer_get_time_remaining (GCurlTransfer *self)
{
  g_return_val_if_fail (G_CURL_IS_TRANSFER (self), -1);

  return g_curl_transfer_get_progress (self)->time_remaining;
}

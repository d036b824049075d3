/* gcurl-response.c: what a transfer's final response said
 *
 * The part of GCurlTransfer's API that reads the response: its status,
 * reason phrase, headers, body, and the URL it came from. libcurl keeps the
 * headers (curl_easy_header()); the values are read from there when asked.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "gcurl-easy-private.h"
#include "gcurl-headers-private.h"
#include "gcurl-transfer.h"
#include "gcurl-transfer-private.h"

/* The headers and reason of the final response, once "got-headers" is out:
 * not those of a 1xx, a redirect followed, or one still arriving. */
static gboolean
response_is_final (GCurlEasy *easy)
{
  return g_curl_easy_headers_final (easy) && !easy->headers_pending;
}

/**
 * g_curl_transfer_get_status_code:
 * @self: a transfer
 *
 * Gets the HTTP status of the final response. A status of 400 or more is
 * not a failure of the transfer: the response is there to read.
 *
 * Returns: the status, or 0 before [signal@GCurl.Transfer::got-headers]
 *
 * Since: 0.1
 */
guint
g_curl_transfer_get_status_code (GCurlTransfer *self)
{
  GCurlEasy *easy;

  g_return_val_if_fail (G_CURL_IS_TRANSFER (self), 0);

  easy = g_curl_transfer_get_easy (self);

  return easy->headers_pending ? 0 : easy->status_code;
}

/**
 * g_curl_transfer_get_reason_phrase:
 * @self: a transfer
 *
 * Gets the reason phrase of the final response's status line, such as
 * `Not Found`, once [signal@GCurl.Transfer::got-headers] was emitted. It
 * is what the server wrote, not a translation, and only for display:
 * HTTP/2 and HTTP/3 have none, and HTTP/1.1 servers may send any text or
 * none. Bytes that are not UTF-8 are replaced.
 *
 * Returns: (transfer none) (nullable): the reason phrase, or %NULL
 *
 * Since: 0.1
 */
const char *
g_curl_transfer_get_reason_phrase (GCurlTransfer *self)
{
  GCurlEasy *easy;

  g_return_val_if_fail (G_CURL_IS_TRANSFER (self), NULL);

  easy = g_curl_transfer_get_easy (self);

  return response_is_final (easy) ? easy->reason : NULL;
}

/**
 * g_curl_transfer_get_effective_url:
 * @self: a transfer
 *
 * Gets the URL of the last request the transfer made: after the redirects
 * it followed, the one the response came from; before it runs, its
 * [property@GCurl.Transfer:url]. A password in it is left out, so that it
 * can be shown or logged.
 *
 * Returns: (transfer none): the URL
 *
 * Since: 0.1
 */
const char *
g_curl_transfer_get_effective_url (GCurlTransfer *self)
{
  g_return_val_if_fail (G_CURL_IS_TRANSFER (self), NULL);

  return g_curl_easy_get_shown_url (g_curl_transfer_get_easy (self));
}

/**
 * g_curl_transfer_get_response_header:
 * @self: a transfer
 * @name: a header name, compared without case
 *
 * Gets a header of the final response, once
 * [signal@GCurl.Transfer::got-headers] was emitted. A header the response
 * had several times is returned as one comma-separated list; for headers
 * whose values may contain commas of their own, such as `Set-Cookie`, use
 * [method@GCurl.Transfer.get_response_header_values].
 *
 * Returns: (transfer none) (nullable): the value, or %NULL if the response
 *   has no such header
 *
 * Since: 0.1
 */
const char *
g_curl_transfer_get_response_header (GCurlTransfer *self,
                                     const char    *name)
{
  GCurlEasy *easy;

  g_return_val_if_fail (G_CURL_IS_TRANSFER (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  easy = g_curl_transfer_get_easy (self);
  if (!response_is_final (easy))
    return NULL;

  return g_curl_easy_lookup_header (easy, name);
}

/**
 * g_curl_transfer_get_response_header_values:
 * @self: a transfer
 * @name: a header name, compared without case
 *
 * Gets every value of a header of the final response, once
 * [signal@GCurl.Transfer::got-headers] was emitted, in the order the
 * server sent them and each as sent: two `Set-Cookie` headers are two
 * values, whatever commas their `Expires` dates have.
 *
 * Returns: (transfer full) (nullable) (array zero-terminated=1): the
 *   values, or %NULL if the response has no such header
 *
 * Since: 0.1
 */
char **
g_curl_transfer_get_response_header_values (GCurlTransfer *self,
                                            const char    *name)
{
  GCurlEasy *easy;

  g_return_val_if_fail (G_CURL_IS_TRANSFER (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  easy = g_curl_transfer_get_easy (self);
  if (!response_is_final (easy))
    return NULL;

  return g_curl_response_headers_values (easy->handle, name);
}

/**
 * g_curl_transfer_list_response_headers:
 * @self: a transfer
 *
 * Lists the names of the headers of the final response, once
 * [signal@GCurl.Transfer::got-headers] was emitted: in the order they
 * first came, each once (a repeated header too), spelled as the server
 * spelled it first. Look their values up with
 * [method@GCurl.Transfer.get_response_header_values].
 *
 * Returns: (transfer full) (array zero-terminated=1): the names; empty
 *   before the final response's headers
 *
 * Since: 0.1
 */
char **
g_curl_transfer_list_response_headers (GCurlTransfer *self)
{
  GCurlEasy *easy;

  g_return_val_if_fail (G_CURL_IS_TRANSFER (self), NULL);

  easy = g_curl_transfer_get_easy (self);
  if (!response_is_final (easy))
    return g_new0 (char *, 1);

  return g_curl_response_headers_names (easy->handle);
}

/**
 * g_curl_transfer_get_body:
 * @self: a transfer
 *
 * Gets the response body collected in memory, once the transfer has
 * succeeded, or failed on its status with
 * [property@GCurl.Transfer:fail-on-http-error]: then the error page.
 *
 * Returns: (transfer full) (nullable): the body, or %NULL unless the state
 *   is %G_CURL_TRANSFER_STATE_SUCCEEDED, or %G_CURL_TRANSFER_STATE_FAILED
 *   with %G_CURL_ERROR_HTTP_RETURNED_ERROR
 *
 * Since: 0.1
 */
GBytes *
g_curl_transfer_get_body (GCurlTransfer *self)
{
  GCurlEasy *easy;

  g_return_val_if_fail (G_CURL_IS_TRANSFER (self), NULL);

  easy = g_curl_transfer_get_easy (self);
  if (easy->body_bytes == NULL)
    return NULL;

  return g_bytes_ref (easy->body_bytes);
}

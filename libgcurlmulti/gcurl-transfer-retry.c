/* gcurl-transfer-retry.c: whether a transfer may be sent again
 *
 * The part of GCurlTransfer that the retries of send_async and
 * send_and_read_async ask (gcurl-send.c, GCurlMulti:retries): whether its
 * request is idempotent, whether its body can be sent again, the wait
 * between two runs that cancel() ends, and the fresh connection a retry
 * (download_async's too) goes out on.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "gcurl-easy-private.h"
#include "gcurl-transfer-private.h"
#include "gcurl-util-private.h"

/* GCurlEasy.idempotent: zero (the state of a new transfer) follows the
 * method; set_idempotent() replaces it for good. */
typedef enum
{
  G_CURL_IDEMPOTENCE_BY_METHOD = 0,
  G_CURL_IDEMPOTENCE_YES,
  G_CURL_IDEMPOTENCE_NO,
} GCurlIdempotence;

/* RFC 9110 9.2.2: the methods whose effect is the same however many times
 * the request is sent. POST, PATCH and every other method are not. */
static const char * const idempotent_methods[] = {
  "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE", NULL
};

static GParamSpec *idempotent_pspec;
static guint idempotent_prop;

void
g_curl_transfer_retry_class_init (GObjectClass *object_class,
                                  guint         first_prop_id)
{
  idempotent_prop = first_prop_id;

  /**
   * GCurlTransfer:idempotent: (getter get_idempotent) (setter set_idempotent)
   *
   * Whether sending the request twice has the same effect as sending it
   * once, so that [method@GCurl.Multi.send_and_read_async] and
   * [method@GCurl.Multi.send_async] may retry it after a transient failure
   * (see [property@GCurl.Multi:retries]).
   *
   * Until it is set, it follows [property@GCurl.Transfer:method]: %TRUE
   * for `GET`, `HEAD`, `OPTIONS`, `TRACE`, `PUT` and `DELETE`, %FALSE for
   * `POST` (the method of a transfer with a request body), `PATCH` and
   * any other method; a change of method or body is not notified here.
   * Once set, it is what was set, whatever the method: set it to %TRUE
   * for a `POST` the server treats as idempotent (one that carries an
   * idempotency key, say), or to %FALSE for a `GET` with side effects.
   * A `POST` is never sent twice by the library unless this says so.
   *
   * Since: 0.1
   */
  idempotent_pspec =
    g_param_spec_boolean ("idempotent", NULL, NULL, FALSE, GCURL_PARAM_READWRITE);
  g_object_class_install_property (object_class, idempotent_prop, idempotent_pspec);
  /* The transfer's other units' properties come after this one. */
  g_curl_transfer_mirrors_class_init (object_class, idempotent_prop + 1);
}

/* Returns TRUE if @prop_id is this unit's property, after reading it. */
gboolean
g_curl_transfer_retry_get_property (GCurlTransfer *self,
                                    guint          prop_id,
                                    GValue        *value)
{
  if (prop_id != idempotent_prop)
    return g_curl_transfer_mirrors_get_property (self, prop_id, value);

  g_value_set_boolean (value, g_curl_transfer_get_idempotent (self));
  return TRUE;
}

/* Returns TRUE if @prop_id is this unit's property, after setting it. */
gboolean
g_curl_transfer_retry_set_property (GCurlTransfer *self,
                                    guint          prop_id,
                                    const GValue  *value)
{
  if (prop_id != idempotent_prop)
    return g_curl_transfer_mirrors_set_property (self, prop_id, value);

  g_curl_transfer_set_idempotent (self, g_value_get_boolean (value));
  return TRUE;
}

/**
 * g_curl_transfer_get_idempotent:
 * @self: a transfer
 *
 * Gets whether the request of @self may be sent again after a transient
 * failure: see [property@GCurl.Transfer:idempotent].
 *
 * Returns: what [method@GCurl.Transfer.set_idempotent] set, or, until it
 *   was called, whether the method is idempotent
 *
 * Since: 0.1
 */
gboolean
g_curl_transfer_get_idempotent (GCurlTransfer *self)
{
  GCurlEasy *easy;

  g_return_val_if_fail (G_CURL_IS_TRANSFER (self), FALSE);

  easy = g_curl_transfer_get_easy (self);
  switch ((GCurlIdempotence) easy->idempotent)
    {
    case G_CURL_IDEMPOTENCE_YES:
      return TRUE;
    case G_CURL_IDEMPOTENCE_NO:
      return FALSE;
    case G_CURL_IDEMPOTENCE_BY_METHOD:
    default:
      return g_strv_contains (idempotent_methods, g_curl_easy_get_method (easy));
    }
}

/**
 * g_curl_transfer_set_idempotent:
 * @self: a transfer
 * @idempotent: %TRUE if sending the request twice does no harm
 *
 * Says whether the request of @self may be sent again after a transient
 * failure, whatever its method: see [property@GCurl.Transfer:idempotent].
 * Call it with %TRUE to let [property@GCurl.Multi:retries] retry a
 * `POST`. It takes effect at the next failure.
 *
 * Since: 0.1
 */
void
g_curl_transfer_set_idempotent (GCurlTransfer *self,
                                gboolean       idempotent)
{
  GCurlEasy *easy;
  gboolean was;

  g_return_if_fail (G_CURL_IS_TRANSFER (self));

  easy = g_curl_transfer_get_easy (self);
  was = g_curl_transfer_get_idempotent (self);
  easy->idempotent = idempotent ? G_CURL_IDEMPOTENCE_YES : G_CURL_IDEMPOTENCE_NO;
  if (was != !!idempotent)
    g_object_notify_by_pspec (G_OBJECT (self), idempotent_pspec);
}

/* Whether the run that just ended may be made again as a retry: the
 * request is idempotent, and its body, if from a stream that was read
 * from, can be rewound (the next run seeks it back to its start; a stream
 * that cannot would fail that run with G_CURL_ERROR_SEND_FAIL_REWIND). */
gboolean
g_curl_transfer_can_retry (GCurlTransfer *self)
{
  GCurlUpload *upload = &g_curl_transfer_get_easy (self)->upload;

  if (!g_curl_transfer_get_idempotent (self))
    return FALSE;

  return upload->stream == NULL || !upload->started ||
         (G_IS_SEEKABLE (upload->stream) && g_seekable_can_seek (G_SEEKABLE (upload->stream)));
}

/* The transfer waits to be run again by a send call, which watches
 * @wait: g_curl_transfer_cancel() cancels it. @wait is not referenced; the
 * call ends the wait (g_curl_transfer_end_retry_wait()) before it drops
 * it. The transfer stays as the failed run left it meanwhile (FAILED, its
 * error): no run, so neither counted by its multi nor kept alive by it. */
void
g_curl_transfer_begin_retry_wait (GCurlTransfer *self,
                                  GCancellable  *wait)
{
  GCurlEasy *easy = g_curl_transfer_get_easy (self);

  g_assert (easy->retry_wait == NULL);
  easy->retry_wait = wait;
}

/* The wait @wait is over (its timeout, or its cancellation). */
void
g_curl_transfer_end_retry_wait (GCurlTransfer *self,
                                GCancellable  *wait)
{
  GCurlEasy *easy = g_curl_transfer_get_easy (self);

  if (easy->retry_wait == wait)
    easy->retry_wait = NULL;
}

/* From g_curl_transfer_cancel(): ends a wait before a retry, if the
 * transfer is in one. Returns TRUE if it was. A transfer the application
 * ran again meanwhile is not waiting: cancel() is for that run (the call
 * gives up at the end of its wait). */
gboolean
g_curl_transfer_cancel_retry_wait (GCurlTransfer *self)
{
  GCancellable *wait = g_curl_transfer_get_easy (self)->retry_wait;
  GCurlTransferState state = g_curl_transfer_get_state (self);

  if (wait == NULL || state == G_CURL_TRANSFER_STATE_RUNNING ||
      state == G_CURL_TRANSFER_STATE_PAUSED)
    return FALSE;

  g_curl_transfer_end_retry_wait (self, wait);
  g_cancellable_cancel (wait);
  return TRUE;
}

/* A retry never goes back to the connection the failure came on: a
 * stalled or broken HTTP/2 connection stays in libcurl's cache (see
 * g_curl_easy_set_fresh_connect()). */
void
g_curl_transfer_set_fresh_connect (GCurlTransfer *self,
                                   gboolean       fresh)
{
  g_assert (!g_curl_transfer_is_running (self));

  g_curl_easy_set_fresh_connect (g_curl_transfer_get_easy (self), fresh);
}

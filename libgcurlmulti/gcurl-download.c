/* gcurl-download.c: download_async, where nothing may be lost
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <unistd.h>
#include <glib/gi18n-lib.h>
#include <gio/gfiledescriptorbased.h>

#include "gcurl-error.h"
#include "gcurl-multi.h"
#include "gcurl-multi-private.h"
#include "gcurl-transfer-private.h"

/* A download is a chain of attempts. Each attempt sends the transfer with
 * send_async() and, once the headers say what the body is, splices the
 * body stream into "<destination>.part": appended when the server continues
 * exactly where the .part ends (206 with a matching Content-Range), from
 * zero otherwise. The stream's back-pressure pauses the transfer while the
 * file writes (asynchronous, in GIO's thread pool) are behind. When the
 * body is complete, the .part is synced, its checksum checked if one is
 * expected, and renamed over the destination. A transient failure waits
 * and starts another attempt, which resumes from the .part. */

/* The resource's validator (ETag, else Last-Modified) is kept with the
 * .part, so that a resumed request can ask for the rest only if the
 * resource has not changed (If-Range). */
#define GCURL_VALIDATOR_ATTRIBUTE "xattr::gcurlmulti.validator"
#define GCURL_MAX_RETRY_AFTER_S 300

typedef struct
{
  GCurlMulti         *multi;
  GCurlTransfer      *transfer;
  GFile              *destination;
  GFile              *part;
  GCurlDownloadFlags  flags;

  guint               attempt;            /* 0 for the first */
  guint               retries_left;
  guint               retry_delay;        /* ms, doubled after each retry */
  GSource            *retry_source;
  GNetworkMonitor    *monitor;            /* while waiting to retry */
  gulong              network_changed_id;
  GSource            *cancel_source;
  gboolean            restarted;          /* from zero, after a bad 206 or 416 */

  goffset             offset;             /* .part size this attempt continues */
  GInputStream       *body;
  GOutputStream      *out;
} Download;

static void start_attempt (GTask *task);

static void
stop_watching_network (Download *d)
{
  if (d->monitor != NULL)
    g_clear_signal_handler (&d->network_changed_id, d->monitor);
  g_clear_object (&d->monitor);
}

static void
download_free (Download *d)
{
  stop_watching_network (d);
  g_curl_clear_source (&d->retry_source);
  g_curl_clear_source (&d->cancel_source);
  g_clear_object (&d->body);
  g_clear_object (&d->out);
  g_clear_object (&d->part);
  g_clear_object (&d->destination);
  g_clear_object (&d->transfer);
  g_clear_object (&d->multi);
  g_free (d);
}

/* Until its "finished" has been emitted, a transfer cannot be changed or
 * run again (got-headers may come from inside the finishing itself). */
static gboolean
transfer_is_busy (GCurlTransfer *transfer)
{
  GCurlTransferState state = g_curl_transfer_get_state (transfer);

  return g_curl_transfer_get_multi (transfer) != NULL ||
         state == G_CURL_TRANSFER_STATE_RUNNING ||
         state == G_CURL_TRANSFER_STATE_PAUSED;
}

static void
clear_range_headers (GCurlTransfer *transfer,
                     gpointer       user_data)
{
  g_signal_handlers_disconnect_by_func (transfer, clear_range_headers, user_data);
  g_curl_transfer_set_fail_on_http_error (transfer, FALSE);
  g_curl_transfer_set_request_header (transfer, "Range", NULL);
  g_curl_transfer_set_request_header (transfer, "If-Range", NULL);
}

/* Returns the download's result (@error, or success if %NULL) and drops
 * the reference the task holds on itself while it runs. */
static void
download_return (GTask  *task,
                 GError *error)
{
  Download *d = g_task_get_task_data (task);

  g_curl_clear_source (&d->cancel_source);
  g_clear_object (&d->body);
  if (d->out != NULL && !g_output_stream_is_closed (d->out))
    g_output_stream_close (d->out, NULL, NULL);
  g_clear_object (&d->out);
  /* The transfer is the application's again, as it gave it. */
  if (!transfer_is_busy (d->transfer))
    clear_range_headers (d->transfer, NULL);
  else
    g_signal_connect (d->transfer, "finished", G_CALLBACK (clear_range_headers), NULL);

  /* On failure the .part stays for a later G_CURL_DOWNLOAD_RESUME, and the
   * destination was never touched. */
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

static gboolean
download_return_if_cancelled (GTask *task)
{
  GError *error = NULL;

  if (!g_cancellable_set_error_if_cancelled (g_task_get_cancellable (task), &error))
    return FALSE;

  download_return (task, error);
  return TRUE;
}

static gboolean
error_is_transient (const GError *error,
                    guint         status)
{
  if (error->domain != G_CURL_ERROR)
    return FALSE;

  switch (error->code)
    {
    case G_CURL_ERROR_PARTIAL_FILE:
    case G_CURL_ERROR_RECV_ERROR:
    case G_CURL_ERROR_SEND_ERROR:
    case G_CURL_ERROR_OPERATION_TIMEDOUT:
    case G_CURL_ERROR_GOT_NOTHING:
    case G_CURL_ERROR_HTTP2:
    case G_CURL_ERROR_HTTP2_STREAM:
      return TRUE;
    case G_CURL_ERROR_HTTP_RETURNED_ERROR:
      return status == 408 || status == 429 || (status >= 500 && status <= 599);
    default:
      return FALSE;
    }
}

/* Retry-After as seconds (the HTTP-date form is rare for these statuses
 * and treated as absent). */
static guint
retry_after_ms (GCurlTransfer *transfer)
{
  const char *value = g_curl_transfer_get_response_header (transfer, "Retry-After");
  guint64 seconds;

  if (value == NULL || !g_ascii_string_to_unsigned (value, 10, 0, GCURL_MAX_RETRY_AFTER_S,
                                                    &seconds, NULL))
    return 0;

  return (guint) seconds * 1000;
}

static void
network_changed_cb (GNetworkMonitor *monitor,
                    gboolean         available,
                    gpointer         user_data)
{
  GSource *retry_source = user_data;

  if (available && !g_source_is_destroyed (retry_source))
    g_source_set_ready_time (retry_source, 0);
}

static gboolean
retry_cb (gpointer user_data)
{
  GTask *task = user_data;
  Download *d = g_task_get_task_data (task);

  g_clear_pointer (&d->retry_source, g_source_unref);
  stop_watching_network (d);
  start_attempt (task);

  return G_SOURCE_REMOVE;
}

/* Ends the attempt with @error: another attempt after a delay if the error
 * is transient and retries are left, the end of the download otherwise. */
static void
attempt_failed (GTask  *task,
                GError *error)
{
  Download *d = g_task_get_task_data (task);
  guint status = g_curl_transfer_get_status_code (d->transfer);
  guint delay;

  g_clear_object (&d->body);
  if (d->out != NULL)
    {
      g_output_stream_close (d->out, NULL, NULL);
      g_clear_object (&d->out);
    }

  if (download_return_if_cancelled (task))
    {
      g_error_free (error);
      return;
    }

  if (d->retries_left == 0 || !error_is_transient (error, status))
    {
      download_return (task, error);
      return;
    }

  delay = MAX (retry_after_ms (d->transfer), d->retry_delay);
  g_debug ("Download of %s failed (%s); retrying in %u ms, %u retries left",
           g_curl_transfer_get_shown_url (d->transfer), error->message, delay, d->retries_left);
  g_error_free (error);
  d->attempt++;
  d->retries_left--;
  d->retry_delay *= 2;

  d->retry_source = g_timeout_source_new (delay);
  g_source_set_static_name (d->retry_source, "GCurl download retry");
  g_source_set_callback (d->retry_source, retry_cb, task, NULL);
  g_source_attach (d->retry_source, g_curl_multi_get_context (d->multi));

  /* The network coming back is the moment to retry, not the end of the
   * delay. The monitor may signal from another thread: the handler only
   * makes the retry due, through its own reference to the source. */
  g_object_get (d->multi, "network-monitor", &d->monitor, NULL);
  if (d->monitor != NULL)
    d->network_changed_id =
      g_signal_connect_data (d->monitor, "network-changed", G_CALLBACK (network_changed_cb),
                             g_source_ref (d->retry_source),
                             (GClosureNotify) (void (*) (void)) g_source_unref, 0);
}

static char *
read_validator (GFile *part)
{
  g_autoptr(GFileInfo) info = g_file_query_info (part, GCURL_VALIDATOR_ATTRIBUTE,
                                                 G_FILE_QUERY_INFO_NONE, NULL, NULL);

  if (info == NULL || !g_file_info_has_attribute (info, GCURL_VALIDATOR_ATTRIBUTE))
    return NULL;

  return g_strdup (g_file_info_get_attribute_string (info, GCURL_VALIDATOR_ATTRIBUTE));
}

static void
write_validator (Download *d)
{
  const char *validator = g_curl_transfer_get_response_header (d->transfer, "ETag");

  /* A weak ETag may not be used with If-Range (RFC 9110 13.1.5). */
  if (validator == NULL || g_str_has_prefix (validator, "W/"))
    validator = g_curl_transfer_get_response_header (d->transfer, "Last-Modified");
  if (validator == NULL)
    return;

  /* Best effort: without extended attributes a resumed download can still
   * check the Content-Range, only not detect a changed resource. */
  g_file_set_attribute_string (d->part, GCURL_VALIDATOR_ATTRIBUTE, validator,
                               G_FILE_QUERY_INFO_NONE, NULL, NULL);
}

/* Finishing: sync, checksum, rename, in a worker thread (file I/O that may
 * take a while must not block the main loop). */

static gboolean
verify_checksum (GFile          *part,
                 GChecksumType   type,
                 const char     *expected,
                 GCancellable   *cancellable,
                 GError        **error)
{
  g_autoptr(GFileInputStream) in = g_file_read (part, cancellable, error);
  g_autoptr(GChecksum) checksum = NULL;
  guint8 buf[64 * 1024];
  gssize n;

  if (in == NULL)
    return FALSE;

  checksum = g_checksum_new (type);
  while ((n = g_input_stream_read (G_INPUT_STREAM (in), buf, sizeof buf, cancellable, error)) > 0)
    g_checksum_update (checksum, buf, n);
  if (n < 0)
    return FALSE;

  if (g_ascii_strcasecmp (g_checksum_get_string (checksum), expected) != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   _("The downloaded file has checksum %s, not the expected %s"),
                   g_checksum_get_string (checksum), expected);
      return FALSE;
    }

  return TRUE;
}

static void
finish_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  Download *d = task_data;
  GError *error = NULL;
  GChecksumType type;
  const char *expected = g_curl_transfer_get_expected_checksum (d->transfer, &type);
  GFileCopyFlags copy_flags = G_FILE_COPY_NO_FALLBACK_FOR_MOVE;

  if (d->out != NULL)
    {
      /* On disk before it gets its final name: a crash must never leave a
       * destination with missing data. */
      if (G_IS_FILE_DESCRIPTOR_BASED (d->out) &&
          fsync (g_file_descriptor_based_get_fd (G_FILE_DESCRIPTOR_BASED (d->out))) < 0)
        {
          int errsv = errno;

          g_task_return_new_error (task, G_IO_ERROR, g_io_error_from_errno (errsv),
                                   _("Could not write %s to disk: %s"),
                                   g_file_peek_path (d->part), g_strerror (errsv));
          return;
        }
      if (!g_output_stream_close (d->out, cancellable, &error))
        {
          g_task_return_error (task, error);
          return;
        }
    }

  if (expected != NULL && !verify_checksum (d->part, type, expected, cancellable, &error))
    {
      /* A corrupt .part must not be resumed. */
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA))
        g_file_delete (d->part, NULL, NULL);
      g_task_return_error (task, error);
      return;
    }

  if (d->flags & G_CURL_DOWNLOAD_OVERWRITE)
    copy_flags |= G_FILE_COPY_OVERWRITE;
  if (!g_file_move (d->part, d->destination, copy_flags, cancellable, NULL, NULL, &error))
    {
      g_task_return_error (task, error);
      return;
    }

  g_task_return_boolean (task, TRUE);
}

static void
finish_done_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  GTask *task = user_data;
  GError *error = NULL;

  g_task_propagate_boolean (G_TASK (result), &error);
  download_return (task, error);
}

static void
finish_download (GTask *task)
{
  Download *d = g_task_get_task_data (task);
  GTask *finish = g_task_new (NULL, NULL, finish_done_cb, task);

  g_task_set_source_tag (finish, finish_download);
  g_task_set_task_data (finish, d, NULL);
  g_task_run_in_thread (finish, finish_thread);
  g_object_unref (finish);
}

static void
splice_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  GTask *task = user_data;
  Download *d = g_task_get_task_data (task);
  GError *error = NULL;

  if (g_output_stream_splice_finish (G_OUTPUT_STREAM (source), result, &error) < 0)
    {
      attempt_failed (task, error);
      return;
    }

  g_clear_object (&d->body);
  finish_download (task);
}

/* The final response's headers are there: decide what the body is. */
static void
send_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  GTask *task = user_data;
  Download *d = g_task_get_task_data (task);
  GError *error = NULL;
  guint status;
  gint64 start, total;
  gboolean append = FALSE;

  d->body = g_curl_multi_send_finish (d->multi, result, &error);
  if (d->body == NULL)
    {
      attempt_failed (task, error);
      return;
    }

  status = g_curl_transfer_get_status_code (d->transfer);
  g_curl_parse_content_range (g_curl_transfer_get_response_header (d->transfer, "Content-Range"),
                       &start, &total);

  if (status == 416 && d->offset > 0)
    {
      g_clear_object (&d->body);
      /* The .part is already the whole resource. */
      if (total == d->offset)
        {
          finish_download (task);
          return;
        }
      status = 0;   /* restart from zero below */
    }
  else if (status >= 400)
    {
      error = g_error_new (G_CURL_ERROR, G_CURL_ERROR_HTTP_RETURNED_ERROR,
                           _("The server answered HTTP %u for %s"),
                           status, g_curl_transfer_get_shown_url (d->transfer));
      /* The transfer fails too, rather than fetch the error page and look
       * like a success to whatever is bound to its state or fraction. */
      if (g_curl_transfer_get_multi (d->transfer) != NULL)
        g_curl_multi_fail_transfer (d->multi, d->transfer, g_error_copy (error));
      g_clear_object (&d->body);
      attempt_failed (task, error);
      return;
    }
  else if (status == 206)
    {
      /* Appending anything but the exact continuation would corrupt the
       * file: the classic resume bug. */
      if (d->offset > 0 && start == d->offset)
        append = TRUE;
      else
        status = 0;
    }

  if (status == 0)
    {
      if (d->restarted)
        {
          g_clear_object (&d->body);
          download_return (task, g_error_new (G_CURL_ERROR, G_CURL_ERROR_RANGE_ERROR,
                                                    _("The server does not continue the download "
                                                      "of %s where it stopped"),
                                                    g_curl_transfer_get_shown_url (d->transfer)));
          return;
        }
      /* Start over from zero, once. */
      d->restarted = TRUE;
      g_clear_object (&d->body);
      d->offset = 0;
      g_file_delete (d->part, NULL, NULL);
      start_attempt (task);
      return;
    }

  if (append)
    d->out = G_OUTPUT_STREAM (g_file_append_to (d->part, G_FILE_CREATE_NONE, NULL, &error));
  else
    d->out = G_OUTPUT_STREAM (g_file_replace (d->part, NULL, FALSE, G_FILE_CREATE_NONE,
                                              NULL, &error));
  if (d->out == NULL)
    {
      /* Not transient: the disk, not the network. */
      g_clear_object (&d->body);
      download_return (task, error);
      return;
    }
  if (!append)
    d->offset = 0;
  write_validator (d);

  g_output_stream_splice_async (d->out, d->body, G_OUTPUT_STREAM_SPLICE_NONE,
                                G_PRIORITY_DEFAULT, NULL, splice_cb, task);
}

static void
transfer_done_cb (GCurlTransfer *transfer,
                  gpointer       user_data)
{
  GTask *task = user_data;

  g_signal_handlers_disconnect_by_func (transfer, transfer_done_cb, task);
  start_attempt (task);
}

static void
start_attempt (GTask *task)
{
  Download *d = g_task_get_task_data (task);
  g_autoptr(GFileInfo) info = NULL;

  if (download_return_if_cancelled (task))
    return;

  /* The previous attempt's transfer was cancelled (its stream dropped) and
   * has not emitted "finished" yet: it can run again after that. */
  if (transfer_is_busy (d->transfer))
    {
      g_signal_connect (d->transfer, "finished", G_CALLBACK (transfer_done_cb), task);
      return;
    }

  /* Continue the .part with RESUME, and always on a retry. */
  d->offset = 0;
  if ((d->flags & G_CURL_DOWNLOAD_RESUME) || d->attempt > 0)
    {
      info = g_file_query_info (d->part, G_FILE_ATTRIBUTE_STANDARD_SIZE,
                                G_FILE_QUERY_INFO_NONE, NULL, NULL);
      if (info != NULL)
        d->offset = g_file_info_get_size (info);
    }

  if (d->offset > 0)
    {
      g_autofree char *range = g_strdup_printf ("bytes=%" G_GOFFSET_FORMAT "-", d->offset);
      g_autofree char *validator = read_validator (d->part);

      g_curl_transfer_set_request_header (d->transfer, "Range", range);
      g_curl_transfer_set_request_header (d->transfer, "If-Range", validator);
    }
  else
    {
      g_curl_transfer_set_request_header (d->transfer, "Range", NULL);
      g_curl_transfer_set_request_header (d->transfer, "If-Range", NULL);
    }

  g_curl_transfer_set_fail_on_http_error (d->transfer, TRUE);
  g_curl_multi_send_async (d->multi, d->transfer, NULL, send_cb, task);
}

static gboolean
cancelled_cb (GCancellable *cancellable,
              gpointer      user_data)
{
  GTask *task = user_data;
  Download *d = g_task_get_task_data (task);

  /* Waiting to retry: nothing runs, end here. Otherwise the transfer's
   * end (or the stream's) brings the cancellation back through
   * attempt_failed(). */
  if (d->retry_source != NULL)
    {
      g_curl_clear_source (&d->retry_source);
      stop_watching_network (d);
      download_return_if_cancelled (task);
    }
  else
    {
      g_curl_transfer_cancel (d->transfer);
    }

  return G_SOURCE_REMOVE;
}

/**
 * g_curl_multi_download_async:
 * @self: a multi
 * @transfer: a transfer that is not running
 * @destination: the file to create
 * @flags: how to treat an existing `.part` and destination
 * @cancellable: (nullable): a cancellable to stop the download
 * @callback: (scope async): called when the download has ended
 * @user_data: (closure): data for @callback
 *
 * Downloads what @transfer requests to @destination, the way a downloader
 * must: nothing is lost, and nothing wrong is saved.
 *
 * The body is written to `<destination>.part` as it arrives, with
 * asynchronous writes (the transfer is paused while the disk is behind),
 * and on success synced to disk and renamed to @destination, atomically.
 * Without %G_CURL_DOWNLOAD_OVERWRITE an existing @destination is
 * %G_IO_ERROR_EXISTS, before anything is sent.
 *
 * With %G_CURL_DOWNLOAD_RESUME, an existing `.part` is continued with a
 * `Range` request (and `If-Range`, so that a changed resource starts over).
 * The continuation is only appended when the server answers 206 with a
 * `Content-Range` that starts exactly at the end of the `.part`; a 200, or a
 * range that starts elsewhere, starts the file over from zero, and a 416 for
 * a complete `.part` finishes it.
 *
 * Transient failures (the connection reset or closed mid-body, a stall,
 * HTTP 408, 429 and 5xx) are retried up to
 * [property@GCurl.Multi:download-retries] times, after
 * [property@GCurl.Multi:retry-delay] doubled each time (or the server's
 * `Retry-After`), each retry resuming from the `.part`. Other failures end
 * the download at once. An HTTP status of 400 or more is
 * %G_CURL_ERROR_HTTP_RETURNED_ERROR, and no error page is ever saved.
 *
 * If [method@GCurl.Transfer.set_expected_checksum] was called, the file is
 * checked before the rename: a mismatch is %G_IO_ERROR_INVALID_DATA, the
 * `.part` is deleted and @destination is not created.
 *
 * On failure or cancellation the `.part` stays, for a later
 * %G_CURL_DOWNLOAD_RESUME, and @destination is untouched. Once the whole
 * body has arrived, cancelling no longer stops the download: the file is
 * completed (synced, checked and renamed).
 *
 * @transfer emits [signal@GCurl.Transfer::finished] once per attempt; the
 * download's own outcome is the one given to @callback.
 *
 * Since: 1.0
 */
void
g_curl_multi_download_async (GCurlMulti          *self,
                             GCurlTransfer       *transfer,
                             GFile               *destination,
                             GCurlDownloadFlags   flags,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  GTask *task;
  Download *d;
  g_autofree char *part_name = NULL;
  g_autofree char *basename = NULL;
  g_autoptr(GFile) parent = NULL;

  g_return_if_fail (G_CURL_IS_MULTI (self));
  g_return_if_fail (G_CURL_IS_TRANSFER (transfer));
  g_return_if_fail (G_IS_FILE (destination));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, g_curl_multi_download_async);
  g_task_set_check_cancellable (task, FALSE);

  if (g_task_return_error_if_cancelled (task))
    {
      g_object_unref (task);
      return;
    }

  if (!(flags & G_CURL_DOWNLOAD_OVERWRITE) && g_file_query_exists (destination, NULL))
    {
      g_autofree char *name = g_file_get_parse_name (destination);

      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_EXISTS,
                               _("%s exists already"), name);
      g_object_unref (task);
      return;
    }

  parent = g_file_get_parent (destination);
  basename = g_file_get_basename (destination);
  part_name = g_strconcat (basename, ".part", NULL);

  d = g_new0 (Download, 1);
  d->multi = g_object_ref (self);
  d->transfer = g_object_ref (transfer);
  d->destination = g_object_ref (destination);
  d->part = parent ? g_file_get_child (parent, part_name) : g_file_new_for_path (part_name);
  d->flags = flags;
  d->retries_left = g_curl_multi_get_download_retries (self);
  d->retry_delay = MAX (g_curl_multi_get_retry_delay (self), 1);
  g_task_set_task_data (task, d, (GDestroyNotify) download_free);

  d->cancel_source = g_curl_multi_watch_cancellable (self, cancellable, cancelled_cb, task);

  /* The task holds itself until it returns. */
  start_attempt (task);
}

/**
 * g_curl_multi_download_finish:
 * @self: a multi
 * @result: the result given to the callback
 * @error: return location for an error
 *
 * Finishes [method@GCurl.Multi.download_async].
 *
 * Returns: %TRUE if the destination file is complete, %FALSE with @error
 *   set otherwise
 *
 * Since: 1.0
 */
gboolean
g_curl_multi_download_finish (GCurlMulti    *self,
                              GAsyncResult  *result,
                              GError       **error)
{
  g_return_val_if_fail (G_CURL_IS_MULTI (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_async_result_is_tagged (result, g_curl_multi_download_async), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

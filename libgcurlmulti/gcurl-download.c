/* gcurl-download.c: download_async, where nothing may be lost
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <gio/gfiledescriptorbased.h>

#include "gcurl-date.h"
#include "gcurl-copy-private.h"
#include "gcurl-download-mirrors-private.h"
#include "gcurl-download-private.h"
#include "gcurl-download-segments-private.h"
#include "gcurl-download-validators-private.h"
#include "gcurl-error.h"
#include "gcurl-error-private.h"
#include "gcurl-headers-private.h"
#include "gcurl-multi.h"
#include "gcurl-multi-private.h"
#include "gcurl-retry-private.h"
#include "gcurl-send-private.h"
#include "gcurl-transfer-private.h"
#include "gcurl-util-private.h"

/* A download is a chain of attempts. Each attempt sends the transfer with
 * send_async() and, once the headers say what the body is, splices the
 * body stream into "<destination>.part": appended when the server continues
 * exactly where the .part ends, the same resource as the .part's (206 with
 * a matching Content-Range and matching validators), into a new .part
 * otherwise. The stream's back-pressure pauses the transfer while the file
 * writes (asynchronous, in GIO's thread pool) are behind. When the body is
 * complete, the .part is synced, its size and checksum checked, and it is
 * renamed over the destination. A transient failure waits (exponential
 * back-off with jitter, or the server's Retry-After) and starts another
 * attempt, which resumes from the .part.
 *
 * Never splice two versions of a file: the resource's validators (ETag,
 * Last-Modified, size; for FTP and file:// the size and the file's time)
 * are kept with the .part, in an extended attribute or, where the file
 * system has none, in "<destination>.part.validators", and compared with
 * every continuation the server sends, whether or not it honoured
 * If-Range. They are written before the first byte of a new .part, which
 * is a new file (the old one and its validators deleted first): a crash at
 * any moment leaves either a consistent pair or an empty .part.
 *
 * A download started without a destination (download_to_directory_async,
 * gcurl-download-directory.c) gets one from its choose function at the
 * first final response's headers, before anything is written: the
 * function makes the new, empty .part itself (which holds the name), or
 * names a .part to continue, and then this attempt is dropped and the
 * next asks for the rest with a Range. From there on it is a download to
 * that file like any other.
 *
 * A transfer with mirrors: which URL each attempt asks, and when a .part
 * may continue on another, is gcurl-download-mirrors.c's. */

#define GCURL_VALIDATORS_ATTRIBUTE "xattr::gcurlmulti.validators"
/* What earlier versions kept: the If-Range value alone. */
#define GCURL_LEGACY_VALIDATOR_ATTRIBUTE "xattr::gcurlmulti.validator"
/* One more attempt from zero after a .part that turned out wrong (its
 * checksum, or its size: another program changed it). */
#define GCURL_FRESH_ATTEMPTS 1

/* Test hook: behave as on a file system without extended attributes. */
static gboolean xattrs_disabled;

typedef struct
{
  GCurlMulti         *multi;
  GCurlTransfer      *transfer;
  GFile              *destination;
  GFile              *part;
  GFile              *sidecar;            /* the .part's validators file */
  GCurlDownloadFlags  flags;
  gboolean            http;               /* this attempt's URL is http(s):
                                           * Range, not CURLOPT_RESUME_FROM */
  GCurlMirrors        mirrors;            /* the URLs, and this attempt's */

  guint               attempt;            /* 0 for the first */
  GCurlRetry          retry;              /* retries left, next back-off */
  guint               fresh_left;         /* attempts from zero after a bad .part */
  GSource            *retry_source;
  GNetworkMonitor    *monitor;            /* while waiting to retry */
  gulong              network_changed_id;
  GSource            *cancel_source;
  gboolean            restarted;          /* from zero, after a bad continuation */
  gboolean            force_fresh;        /* the next attempt starts from zero */
  gboolean            retrying;           /* the next attempt is a retry */
  gboolean            held;               /* in the multi's list until the end */
  gulong              state_id;           /* notify::state, while waiting to retry */

  GCurlValidators    *validators;         /* the .part's, or NULL if unknown */
  goffset             offset;             /* .part size this attempt continues */
  gint64              expected_size;      /* the whole file, -1 if unknown */
  GInputStream       *body;
  GOutputStream      *out;
  gssize              written;            /* this attempt's, into out */
  gboolean            part_changed;       /* finish found the .part altered */
  GCurlSegments      *segments;           /* (nullable): the .part's ranges */

  /* download_to_directory_async: names the file at the first headers */
  GCurlDownloadChooseFunc choose;
  gpointer            choose_data;
  gboolean            part_claimed;       /* choose made the empty .part */
} Download;

static void start_attempt (GTask *task);

/* Where the body goes: @destination, its .part, its validators file. */
static void
set_destination (Download *d,
                 GFile    *destination)
{
  g_autofree char *basename = g_file_get_basename (destination);
  g_autofree char *part_name = g_strconcat (basename, ".part", NULL);
  g_autofree char *sidecar_name = g_strconcat (part_name, GCURL_VALIDATORS_SUFFIX, NULL);
  g_autoptr(GFile) parent = g_file_get_parent (destination);

  g_set_object (&d->destination, destination);
  g_clear_object (&d->part);
  g_clear_object (&d->sidecar);
  d->part = parent ? g_file_get_child (parent, part_name) : g_file_new_for_path (part_name);
  d->sidecar = parent ? g_file_get_child (parent, sidecar_name)
                      : g_file_new_for_path (sidecar_name);
}

/* Test hook (see tests/test-download.c): %TRUE makes downloads keep the
 * validators in the side file, as on a file system without extended
 * attributes. */
void
g_curl_download_set_xattrs_disabled (gboolean disabled)
{
  xattrs_disabled = disabled;
}

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
  g_clear_pointer (&d->validators, g_curl_validators_free);
  g_clear_pointer (&d->segments, g_curl_segments_unref);
  g_clear_object (&d->sidecar);
  g_clear_object (&d->part);
  g_clear_object (&d->destination);
  g_clear_object (&d->transfer);
  g_clear_object (&d->multi);
  g_curl_mirrors_clear (&d->mirrors);
  g_free (d);
}

/* Validators */

/* The validators kept with the .part: its extended attribute, the side
 * file, or what earlier versions kept; %NULL if there are none. */
static GCurlValidators *
read_validators (Download *d)
{
  g_autoptr(GFileInfo) info = NULL;
  g_autofree char *data = NULL;
  g_autofree char *legacy_raw = NULL;
  const char *legacy;
  GCurlValidators *v;

  if (!xattrs_disabled)
    info = g_file_query_info (d->part,
                              GCURL_VALIDATORS_ATTRIBUTE "," GCURL_LEGACY_VALIDATOR_ATTRIBUTE,
                              G_FILE_QUERY_INFO_NONE, NULL, NULL);
  if (info != NULL && g_file_info_has_attribute (info, GCURL_VALIDATORS_ATTRIBUTE))
    {
      g_autofree char *raw =
        g_curl_validators_unescape_xattr (g_file_info_get_attribute_string (info, GCURL_VALIDATORS_ATTRIBUTE));

      v = g_curl_validators_from_data (raw);
      if (v != NULL)
        return v;
    }

  if (g_file_load_contents (d->sidecar, NULL, &data, NULL, NULL, NULL))
    {
      v = g_curl_validators_from_data (data);
      if (v != NULL)
        return v;
    }

  if (info == NULL || !g_file_info_has_attribute (info, GCURL_LEGACY_VALIDATOR_ATTRIBUTE))
    return NULL;
  legacy = legacy_raw = g_curl_validators_unescape_xattr (g_file_info_get_attribute_string (info,
                                                                          GCURL_LEGACY_VALIDATOR_ATTRIBUTE));

  v = g_new0 (GCurlValidators, 1);
  v->size = v->filetime = -1;
  if (!g_curl_header_validator_is_valid (legacy))
    v->damaged = TRUE;
  else if (legacy[0] == '"' || g_str_has_prefix (legacy, "W/"))
    v->etag = g_strdup (legacy);
  else
    v->last_modified = g_strdup (legacy);
  return v;
}

/* Keeps @v with the new, still empty .part: as its extended attribute, or
 * where the file system has none, in the side file (written whole or not at
 * all). Without either, the download still checks its own retries against
 * them (they stay in memory); a later download would know nothing. */
static void
write_validators (Download              *d,
                  const GCurlValidators *v)
{
  g_autofree char *data = g_curl_validators_to_data (v);
  g_autoptr(GError) error = NULL;
  const char *sidecar_path;

  if (!xattrs_disabled)
    {
      /* GIO unescapes "\xNN" as it sets the value (see g_curl_validators_unescape_xattr()). */
      g_autoptr(GString) escaped = g_string_new (data);

      g_string_replace (escaped, "\\", "\\x5c", 0);
      if (g_file_set_attribute_string (d->part, GCURL_VALIDATORS_ATTRIBUTE, escaped->str,
                                       G_FILE_QUERY_INFO_NONE, NULL, &error))
        return;
    }
  g_clear_error (&error);

  sidecar_path = g_file_peek_path (d->sidecar);
  if (sidecar_path != NULL
      ? g_file_set_contents_full (sidecar_path, data, -1, G_FILE_SET_CONTENTS_CONSISTENT,
                                  0666, &error)
      : g_file_replace_contents (d->sidecar, data, strlen (data), NULL, FALSE,
                                 G_FILE_CREATE_NONE, NULL, NULL, &error))
    return;

  g_debug ("Cannot keep the validators of %s: %s", g_file_peek_path (d->part),
           error->message);
}

/* What the response says about the resource it is a part of. */
static GCurlValidators *
response_validators (Download *d)
{
  CURL *handle = g_curl_transfer_get_handle (d->transfer);
  GCurlValidators *v = g_new0 (GCurlValidators, 1);
  guint status = g_curl_transfer_get_status_code (d->transfer);
  curl_off_t filetime = -1;
  gint64 start, total;

  v->etag = g_strdup (g_curl_transfer_get_response_header (d->transfer, "ETag"));
  v->last_modified = g_strdup (g_curl_transfer_get_response_header (d->transfer,
                                                                    "Last-Modified"));
  /* A server's value with a control character is no validator. */
  g_curl_header_validator_sanitize (&v->etag);
  g_curl_header_validator_sanitize (&v->last_modified);
  v->size = -1;
  if (status == 206 || status == 416)
    {
      if (g_curl_parse_content_range (g_curl_transfer_get_response_header (d->transfer,
                                                                           "Content-Range"),
                                      &start, &total))
        v->size = total;
    }
  else
    {
      /* 200, or another protocol: the transfer counts a resumed file
       * whole (see g_curl_transfer_set_resume_from()). */
      v->size = g_curl_transfer_get_expected_size (d->transfer);
    }

  v->filetime = -1;
  if (status == 0 && curl_easy_getinfo (handle, CURLINFO_FILETIME_T, &filetime) == CURLE_OK &&
      filetime >= 0)
    v->filetime = filetime;

  return v;
}

/* Whether @now (the response's) can be the resource @saved (the .part's)
 * describes: every validator both have must be equal. A weak ETag cannot
 * prove two bodies the same (RFC 9110 8.8.3.2), but a different one proves
 * them different. */
/* Whether @now, this attempt's response, continues the .part: the
 * validators, and from another URL than the one that began it a strong
 * ETag (see gcurl-download-mirrors.c). */
static gboolean
continues_part (Download              *d,
                const GCurlValidators *now,
                const char           **which)
{
  if (!g_curl_validators_match (d->validators, now, which))
    return FALSE;
  if (g_curl_mirrors_may_continue (&d->mirrors, d->validators ? d->validators->etag : NULL,
                                   now->etag))
    return TRUE;

  *which = "no strong ETag in common with the URL the .part began at";
  return FALSE;
}

/* If-Range: a strong ETag, else the Last-Modified date (RFC 9110 13.1.5). */
static const char *
if_range_value (const GCurlValidators *v)
{
  if (v == NULL)
    return NULL;
  if (v->etag != NULL && !g_str_has_prefix (v->etag, "W/"))
    return v->etag;
  return v->last_modified;
}

/* Deletes the .part and its validators, in that order: a crash in between
 * leaves validators without a .part, which nothing reads. */
static gboolean
delete_part (Download  *d,
             GError   **error)
{
  g_autoptr(GError) local_error = NULL;

  if (!g_file_delete (d->part, NULL, &local_error) &&
      !g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  g_file_delete (d->sidecar, NULL, NULL);
  g_curl_segments_delete_for (d->part);

  return TRUE;
}

static goffset
stream_size (GOutputStream *out)
{
  g_autoptr(GFileInfo) info = NULL;

  if (G_IS_FILE_DESCRIPTOR_BASED (out))
    {
      struct stat st;

      if (fstat (g_file_descriptor_based_get_fd (G_FILE_DESCRIPTOR_BASED (out)), &st) < 0)
        return -1;
      return st.st_size;
    }

  info = g_file_output_stream_query_info (G_FILE_OUTPUT_STREAM (out),
                                          G_FILE_ATTRIBUTE_STANDARD_SIZE, NULL, NULL);
  return info != NULL ? g_file_info_get_size (info) : -1;
}

/* The error for a .part another program changed: it has @have bytes where
 * @expected were written. */
static void
set_part_changed_error (GError   **error,
                        GFile     *part,
                        goffset    have,
                        goffset    expected)
{
  g_autofree char *have_text = g_strdup_printf ("%" G_GOFFSET_FORMAT, have);
  g_autofree char *expected_text = g_strdup_printf ("%" G_GOFFSET_FORMAT, expected);

  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
               _("%s changed while it was being downloaded: it has %s bytes where %s were "
                 "written"),
               g_file_peek_path (part), have_text, expected_text);
}

/* Opens the .part for appending, and checks that it is as long as this
 * attempt thinks (another program may have changed it). Appending, always:
 * if another program shortens the file meanwhile, the next write lands at
 * its new end, never after a hole of zeros that would pass for data, and
 * the size check before the rename sees it. */
static GOutputStream *
open_part (Download  *d,
           goffset    expected,
           GError   **error)
{
  g_autoptr(GFileOutputStream) out = g_file_append_to (d->part, G_FILE_CREATE_NONE, NULL, error);
  goffset size;

  if (out == NULL)
    return NULL;

  size = stream_size (G_OUTPUT_STREAM (out));
  if (size != expected)
    {
      set_part_changed_error (error, d->part, size, expected);
      g_output_stream_close (G_OUTPUT_STREAM (out), NULL, NULL);
      return NULL;
    }

  return G_OUTPUT_STREAM (g_steal_pointer (&out));
}

/* A new .part for a response from the start of the resource: the old one
 * and its validators go first, the new validators are kept before any byte
 * of it (see the top of this file). */
static GOutputStream *
open_new_part (Download         *d,
               GCurlValidators  *validators,
               GError          **error)
{
  GOutputStream *out;

  /* The empty .part download_to_directory made to hold the name stays:
   * deleting it would give the name away. */
  if (d->part_claimed)
    g_file_delete (d->sidecar, NULL, NULL);
  else if (!delete_part (d, error))
    return NULL;
  d->part_claimed = FALSE;

  out = open_part (d, 0, error);
  if (out == NULL)
    return NULL;

  write_validators (d, validators);
  g_clear_pointer (&d->validators, g_curl_validators_free);
  d->validators = validators;
  g_curl_mirrors_part_begun (&d->mirrors);

  return out;
}

/* Attempts */

/* Until its "finished" has been emitted, a transfer cannot be changed or
 * run again (got-headers may come from inside the finishing itself). */
static gboolean
transfer_is_busy (GCurlTransfer *transfer)
{
  return g_curl_transfer_get_owner (transfer) != NULL || g_curl_transfer_is_running (transfer);
}

static void
set_resume_request (GCurlTransfer         *transfer,
                    gboolean               http,
                    goffset                offset,
                    const GCurlValidators *validators)
{
  g_autofree char *range = NULL;

  if (http && offset > 0)
    range = g_strdup_printf ("bytes=%" G_GOFFSET_FORMAT "-", offset);
  g_curl_transfer_set_library_header (transfer, "Range", range);
  g_curl_transfer_set_library_header (transfer, "If-Range",
                                      range != NULL ? if_range_value (validators) : NULL);
  g_curl_transfer_set_resume_from (transfer, http ? 0 : offset, !http);
}

/* IF_MODIFIED: what the destination holds, as conditions for the request:
 * the ETag and Last-Modified kept with it (the .part's extended attribute
 * moves with it, its side file follows it), else its modification time,
 * which a download sets to the Last-Modified (see resource_time()).
 * Nothing if it does not exist, or while a .part is continued (If-Range
 * says the rest). */
static void
set_conditions (Download *d)
{
  g_autoptr(GFileInfo) info = NULL;
  g_autoptr(GDateTime) mtime = NULL;
  GCurlValidators *v = NULL;
  g_autofree char *since = NULL;
  g_autofree char *kept = NULL;

  if ((d->flags & G_CURL_DOWNLOAD_IF_MODIFIED) && d->offset == 0)
    info = g_file_query_info (d->destination,
                              G_FILE_ATTRIBUTE_TIME_MODIFIED "," G_FILE_ATTRIBUTE_STANDARD_SIZE
                              "," GCURL_VALIDATORS_ATTRIBUTE,
                              G_FILE_QUERY_INFO_NONE, NULL, NULL);
  if (info != NULL && !xattrs_disabled &&
      g_file_info_has_attribute (info, GCURL_VALIDATORS_ATTRIBUTE))
    {
      g_autofree char *raw =
        g_curl_validators_unescape_xattr (g_file_info_get_attribute_string (info, GCURL_VALIDATORS_ATTRIBUTE));

      v = g_curl_validators_from_data (raw);
    }
  if (v == NULL && info != NULL &&
      (kept = g_curl_download_read_kept_validators (d->destination, info)) != NULL)
    v = g_curl_validators_from_data (kept);
  if (v != NULL && v->last_modified != NULL)
    since = g_strdup (v->last_modified);
  else if (info != NULL && (mtime = g_file_info_get_modification_date_time (info)) != NULL)
    since = g_curl_date_time_to_http_string (mtime);

  g_curl_transfer_set_library_header (d->transfer, "If-None-Match", v != NULL ? v->etag : NULL);
  g_curl_transfer_set_library_header (d->transfer, "If-Modified-Since", since);
  g_clear_pointer (&v, g_curl_validators_free);
}

static void
clear_download_request (GCurlTransfer *transfer,
                        gpointer       user_data)
{
  g_signal_handlers_disconnect_by_func (transfer, clear_download_request, user_data);
  g_curl_transfer_set_library_header (transfer, "If-None-Match", NULL);
  g_curl_transfer_set_library_header (transfer, "If-Modified-Since", NULL);
  g_curl_transfer_set_download_mode (transfer, FALSE);
  g_curl_transfer_set_fresh_connect (transfer, FALSE);
  g_curl_transfer_set_run_url (transfer, NULL);
  set_resume_request (transfer, TRUE, 0, NULL);
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
  g_clear_signal_handler (&d->state_id, d->transfer);
  /* Its state says how the download ended, before it leaves the multi's
   * list (a retry, RETRYING, was its last word). */
  g_curl_transfer_set_retry_func (d->transfer, NULL, NULL);
  g_curl_transfer_settle (d->transfer, error);
  if (d->held)
    g_curl_multi_release_transfer (d->multi, d->transfer);
  d->held = FALSE;
  /* The transfer is the application's again, as it gave it. */
  if (!transfer_is_busy (d->transfer))
    clear_download_request (d->transfer, NULL);
  else
    g_signal_connect (d->transfer, "finished", G_CALLBACK (clear_download_request), NULL);

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
  g_clear_signal_handler (&d->state_id, d->transfer);
  stop_watching_network (d);
  start_attempt (task);

  return G_SOURCE_REMOVE;
}

static void
close_attempt (Download *d)
{
  g_clear_object (&d->body);
  if (d->out != NULL)
    {
      g_output_stream_close (d->out, NULL, NULL);
      g_clear_object (&d->out);
    }
}

/* Starts over from zero, at once (not a retry): the .part is of another
 * version of the resource, or could not be continued. */
static void
restart_from_zero (GTask *task)
{
  Download *d = g_task_get_task_data (task);

  close_attempt (d);
  d->force_fresh = TRUE;
  start_attempt (task);
}

/* Whether @error says that libcurl could not continue the .part of a
 * protocol other than HTTP where it ends (an FTP server without REST, a
 * file shorter than the .part). */
static gboolean
is_resume_refused (Download     *d,
                   const GError *error)
{
  return !d->http && d->offset > 0 && error->domain == G_CURL_ERROR &&
         (error->code == G_CURL_ERROR_BAD_DOWNLOAD_RESUME ||
          error->code == G_CURL_ERROR_FTP_COULDNT_USE_REST ||
          error->code == G_CURL_ERROR_RANGE_ERROR);
}

/* g_curl_transfer_cancel() on the transfer while it waits to retry: the
 * download ends. */
static void
state_cb (GCurlTransfer *transfer,
          GParamSpec    *pspec,
          gpointer       user_data)
{
  GTask *task = user_data;
  Download *d = g_task_get_task_data (task);

  if (g_curl_transfer_get_state (transfer) != G_CURL_TRANSFER_STATE_CANCELLED ||
      d->retry_source == NULL)
    return;

  g_curl_clear_source (&d->retry_source);
  stop_watching_network (d);
  download_return (task, g_error_copy (g_curl_transfer_get_error (transfer)));
}

/* Asked by the transfer as an attempt fails, before its "finished": whether
 * attempt_failed() will try again (then the attempt ends RETRYING, not
 * FAILED). */
static gboolean
will_retry (GCurlTransfer *transfer,
            const GError  *error,
            gpointer       user_data)
{
  GTask *task = user_data;
  Download *d = g_task_get_task_data (task);
  long os_errno = 0;
  guint status;

  /* Decided already: the stream reported the failure first (from the
   * "got-headers" the run's end emits). */
  if (d->retrying || d->retry_source != NULL)
    return TRUE;
  if (g_cancellable_is_cancelled (g_task_get_cancellable (task)))
    return FALSE;
  if (is_resume_refused (d, error) && !d->restarted)
    return TRUE;

  /* The next URL at once, or the same after a wait (see attempt_failed()). */
  curl_easy_getinfo (g_curl_transfer_get_handle (transfer), CURLINFO_OS_ERRNO, &os_errno);
  status = g_curl_transfer_get_status_code (transfer);
  if (g_curl_mirrors_can_fail_over (&d->mirrors, error, status, (int) os_errno))
    return TRUE;
  return d->retry.left > 0 && g_curl_error_is_transient_for_status (error, status, (int) os_errno);
}

/* Ends the attempt with @error: another attempt after a delay if the error
 * is transient and retries are left, the end of the download otherwise. */
static void
attempt_failed (GTask  *task,
                GError *error)
{
  Download *d = g_task_get_task_data (task);
  guint status = g_curl_transfer_get_status_code (d->transfer);
  long os_errno = 0;
  guint delay;

  close_attempt (d);

  if (download_return_if_cancelled (task))
    {
      g_error_free (error);
      return;
    }

  /* Cancelled as it ended RETRYING (from a notify::state handler). */
  if (g_curl_transfer_get_state (d->transfer) == G_CURL_TRANSFER_STATE_CANCELLED &&
      !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_error_free (error);
      download_return (task, g_error_copy (g_curl_transfer_get_error (d->transfer)));
      return;
    }

  if (is_resume_refused (d, error) && !d->restarted)
    {
      g_debug ("Download of %s cannot continue its .part (%s); starting over",
               g_curl_transfer_get_shown_url (d->transfer), error->message);
      g_error_free (error);
      d->restarted = TRUE;
      restart_from_zero (task);
      return;
    }

  curl_easy_getinfo (g_curl_transfer_get_handle (d->transfer), CURLINFO_OS_ERRNO, &os_errno);
  if (g_curl_mirrors_fail_over (&d->mirrors, error, status, (int) os_errno))
    {
      g_debug ("Download of %s failed (%s); continuing from the next URL",
               g_curl_transfer_get_shown_url (d->transfer), error->message);
      g_error_free (error);
      d->attempt++;
      d->retrying = TRUE;
      d->restarted = FALSE;     /* a new server gets its own start from zero */
      start_attempt (task);
      return;
    }
  if (d->retry.left == 0 || !g_curl_error_is_transient_for_status (error, status, (int) os_errno))
    {
      download_return (task, error);
      return;
    }

  delay = g_curl_retry_next_delay (&d->retry,
                                   g_curl_transfer_get_response_header (d->transfer, "Retry-After"));
  g_debug ("Download of %s failed (%s); retrying in %u ms, %u retries left after this one",
           g_curl_transfer_get_shown_url (d->transfer), error->message, delay, d->retry.left);
  g_error_free (error);
  d->attempt++;
  d->retrying = TRUE;
  g_curl_mirrors_new_round (&d->mirrors);

  d->retry_source = g_timeout_source_new (delay);
  g_source_set_static_name (d->retry_source, "GCurl download retry");
  g_source_set_callback (d->retry_source, retry_cb, task, NULL);
  g_source_attach (d->retry_source, g_curl_multi_get_context (d->multi));
  d->state_id = g_signal_connect (d->transfer, "notify::state", G_CALLBACK (state_cb), task);

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

/* Finishing: sync, size, checksum, rename, in a worker thread (file I/O
 * that may take a while must not block the main loop). */

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

/* Whether the .part is exactly what was written into it, and as long as the
 * resource: another program may have shortened or replaced it. */
/* Whether the transfer set accept-encoding itself, to something that
 * decodes. */
static gboolean
asks_for_decoding (GCurlTransfer *transfer)
{
  g_autofree char *encoding = NULL;

  g_object_get (transfer, "accept-encoding", &encoding, NULL);

  return encoding != NULL && g_ascii_strcasecmp (encoding, "identity") != 0;
}

static gboolean
verify_size (Download  *d,
             GError   **error)
{
  goffset have = -1;
  goffset wrote = d->offset + MAX (d->written, 0);
  g_autoptr(GFileInfo) info = NULL;

  if (d->out != NULL)
    have = stream_size (d->out);
  else if ((info = g_file_query_info (d->part, G_FILE_ATTRIBUTE_STANDARD_SIZE,
                                      G_FILE_QUERY_INFO_NONE, NULL, NULL)) != NULL)
    have = g_file_info_get_size (info);

  if (have == wrote && (d->expected_size < 0 || have == d->expected_size))
    return TRUE;

  d->part_changed = TRUE;
  if (have != wrote)
    set_part_changed_error (error, d->part, have, wrote);
  else
    {
      g_autofree char *have_text = g_strdup_printf ("%" G_GOFFSET_FORMAT, have);
      g_autofree char *size_text = g_strdup_printf ("%" G_GINT64_FORMAT, d->expected_size);

      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   _("%s has %s bytes, but the file has %s"),
                   g_file_peek_path (d->part), have_text, size_text);
    }
  return FALSE;
}

/* When the resource was last changed, in s since the epoch, or -1. */
static gint64
resource_time (const GCurlValidators *v)
{
  time_t t;

  if (v == NULL)
    return -1;
  if (v->filetime >= 0)
    return v->filetime;
  if (v->last_modified == NULL || (t = curl_getdate (v->last_modified, NULL)) < 0)
    return -1;

  return (gint64) t;
}

/* Gives the .part its name without ever replacing a file of that name,
 * atomically: link() fails if the name exists, where g_file_move() checks
 * and then renames. Where the file system has no hard links, the latter. */
static gboolean
move_no_replace (Download      *d,
                 GCancellable  *cancellable,
                 GError       **error)
{
  const char *part = g_file_peek_path (d->part);
  const char *destination = g_file_peek_path (d->destination);

  if (part != NULL && destination != NULL)
    {
      if (link (part, destination) == 0)
        {
          g_unlink (part);
          return TRUE;
        }
      if (errno == EEXIST)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS, _("%s exists already"),
                       destination);
          return FALSE;
        }
    }

  return g_file_move (d->part, d->destination, G_FILE_COPY_NO_FALLBACK_FOR_MOVE, cancellable,
                      NULL, NULL, error);
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
  gint64 mtime;

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
    }

  if (d->out == NULL && d->segments != NULL && !g_curl_segments_sync (d->segments, &error))
    {
      g_task_return_error (task, error);
      return;
    }

  if (!verify_size (d, &error))
    {
      g_task_return_error (task, error);
      return;
    }

  if (d->out != NULL && !g_output_stream_close (d->out, cancellable, &error))
    {
      g_task_return_error (task, error);
      return;
    }

  if (expected != NULL && !verify_checksum (d->part, type, expected, cancellable, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA))
        d->part_changed = TRUE;
      g_task_return_error (task, error);
      return;
    }

  /* The file's time is the resource's: its Last-Modified, or for FTP and
   * file:// the file's own. */
  mtime = resource_time (d->validators);
  if (mtime >= 0)
    {
      g_file_set_attribute_uint64 (d->part, G_FILE_ATTRIBUTE_TIME_MODIFIED, (guint64) mtime,
                                   G_FILE_QUERY_INFO_NONE, cancellable, NULL);
      g_file_set_attribute_uint32 (d->part, G_FILE_ATTRIBUTE_TIME_MODIFIED_USEC, 0,
                                   G_FILE_QUERY_INFO_NONE, cancellable, NULL);
    }

  if (d->flags & (G_CURL_DOWNLOAD_OVERWRITE | G_CURL_DOWNLOAD_IF_MODIFIED))
    copy_flags |= G_FILE_COPY_OVERWRITE;
  if (d->choose != NULL ? !move_no_replace (d, cancellable, &error)
                        : !g_file_move (d->part, d->destination, copy_flags, cancellable,
                                        NULL, NULL, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  g_curl_download_keep_validators (d->sidecar, d->destination, d->flags);
  g_curl_segments_delete_for (d->part);

  g_task_return_boolean (task, TRUE);
}

static void
finish_done_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  GTask *task = user_data;
  Download *d = g_task_get_task_data (task);
  GError *error = NULL;

  if (g_task_propagate_boolean (G_TASK (result), &error))
    {
      download_return (task, NULL);
      return;
    }

  g_clear_object (&d->out);

  /* A .part that is wrong (checksum, size) must never be resumed; it is
   * worth one more attempt from zero (a mirror's hiccup, another program
   * that touched the file) before the download fails. */
  if (d->part_changed)
    {
      d->part_changed = FALSE;
      delete_part (d, NULL);
      g_clear_pointer (&d->validators, g_curl_validators_free);
      if (d->fresh_left > 0 && !g_cancellable_is_cancelled (g_task_get_cancellable (task)))
        {
          g_debug ("Download of %s: %s; starting over",
                   g_curl_transfer_get_shown_url (d->transfer), error->message);
          d->fresh_left--;
          g_error_free (error);
          g_curl_mirrors_next (&d->mirrors);
          restart_from_zero (task);
          return;
        }
    }

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

/* The body is in the .part (gcurl-copy.c), or the attempt failed. */
static void
copy_done_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  GTask *task = user_data;
  Download *d = g_task_get_task_data (task);
  GError *error = NULL;
  guint64 written = 0;
  gboolean copied = g_curl_copy_finish (result, &written, &error);

  d->written = (gssize) written;
  if (!copied)
    {
      attempt_failed (task, error);
      return;
    }

  g_clear_object (&d->body);
  finish_download (task);
}

/* The response does not continue the .part: start over from zero, at once
 * and once; a second time the server cannot be downloaded from. */
static void
not_a_continuation (GTask      *task,
                    const char *why)
{
  Download *d = g_task_get_task_data (task);

  g_clear_object (&d->body);
  if (d->restarted)
    {
      download_return (task, g_error_new (G_CURL_ERROR, G_CURL_ERROR_RANGE_ERROR,
                                          _("The server does not continue the download "
                                            "of %s where it stopped"),
                                          g_curl_transfer_get_shown_url (d->transfer)));
      return;
    }

  g_debug ("Download of %s does not continue its .part (%s); starting over",
           g_curl_transfer_get_shown_url (d->transfer), why);
  d->restarted = TRUE;
  restart_from_zero (task);
}

/* download_to_directory: the first final response's headers name the
 * file. Returns FALSE if the attempt ends here: the download failed, or
 * the file's .part continues this resource and a new attempt asks for the
 * rest of it. */
static gboolean
choose_destination (GTask *task,
                    guint  status)
{
  Download *d = g_task_get_task_data (task);
  g_autoptr(GFile) destination = NULL;
  gboolean resume = FALSE;
  GError *error = NULL;

  /* Not a file: nothing to name (a 304 to conditions the application set,
   * a 416 to its own Range). */
  if (status == 304 || status == 416)
    error = g_error_new (G_IO_ERROR, G_IO_ERROR_FAILED,
                         _("The server sent no file to save for %s (status %u)"),
                         g_curl_transfer_get_shown_url (d->transfer), status);
  else
    destination = d->choose (d->transfer, &resume, d->choose_data, &error);

  if (destination == NULL)
    {
      download_return (task, error);
      return FALSE;
    }

  set_destination (d, destination);
  g_curl_transfer_set_destination (d->transfer, destination);
  if (resume)
    {
      d->flags |= G_CURL_DOWNLOAD_RESUME;
      close_attempt (d);
      start_attempt (task);
      return FALSE;
    }

  d->part_claimed = TRUE;
  return TRUE;
}

static void
segments_done_cb (GError   *error,
                  gboolean  changed,
                  gpointer  user_data)
{
  GTask *task = user_data;
  Download *d = g_task_get_task_data (task);

  if (changed)
    not_a_continuation (task, "a segment's response");
  else if (error != NULL)
    attempt_failed (task, error);
  else
    {
      /* Every range is on disk: the .part is the file, all of it. */
      d->offset = 0;
      d->written = d->expected_size = g_curl_segments_get_size (d->segments);
      finish_download (task);
    }
}

/* The .part is fetched in segments (gcurl-download-segments.c), this
 * response's body the first. */
static void
run_segments (GTask *task)
{
  Download *d = g_task_get_task_data (task);
  g_autoptr(GInputStream) body = g_steal_pointer (&d->body);

  g_curl_segments_run (d->segments, d->multi, d->transfer, body, d->offset,
                       (const char * const *) d->mirrors.urls + d->mirrors.current,
                       d->validators->etag, d->validators->last_modified, segments_done_cb, task);
}

/* The final response's headers are there: decide what the body is. */
static void
send_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  GTask *task = user_data;
  Download *d = g_task_get_task_data (task);
  g_autoptr(GCurlValidators) now = NULL;
  GError *error = NULL;
  const char *which = NULL;
  guint status;
  gint64 start = -1, total;
  gboolean append = FALSE;

  d->body = g_curl_multi_send_finish (d->multi, result, &error);
  if (d->body == NULL)
    {
      attempt_failed (task, error);
      return;
    }

  status = g_curl_transfer_get_status_code (d->transfer);
  if (status >= 400 && status != 416)
    {
      error = g_curl_error_new_http (status, g_curl_transfer_get_reason_phrase (d->transfer),
                                     g_curl_transfer_get_shown_url (d->transfer));
      /* The transfer fails too, rather than fetch the error page and look
       * like a success to whatever is bound to its state or fraction. */
      if (g_curl_transfer_get_owner (d->transfer) != NULL)
        g_curl_multi_fail_transfer (d->multi, d->transfer, g_error_copy (error));
      attempt_failed (task, error);
      return;
    }

  if (d->destination == NULL && !choose_destination (task, status))
    return;

  now = response_validators (d);
  g_curl_parse_content_range (g_curl_transfer_get_response_header (d->transfer, "Content-Range"),
                              &start, &total);

  if (status == 416)
    {
      g_clear_object (&d->body);
      /* The .part may already be the whole resource. */
      if (d->offset > 0 && total == d->offset && continues_part (d, now, &which))
        {
          d->expected_size = total;
          finish_download (task);
        }
      else
        not_a_continuation (task, which != NULL ? which : "416");
      return;
    }

  /* A 304 (to an If-None-Match or If-Modified-Since the application set)
   * says the destination is current: it stays as it is, whatever the
   * flags, never replaced by the empty body, and the download succeeds
   * with the status on the transfer. */
  if (status == 304)
    {
      g_clear_object (&d->body);
      download_return (task, NULL);
      return;
    }

  if (d->offset > 0 && (status == 206 || (status == 0 && !d->http)))
    {
      /* Appending anything but the exact continuation of the same version
       * of the resource would corrupt the file: the classic resume bug,
       * and servers that ignore If-Range (h2o 2.2) answer 206 for a
       * changed file. For FTP and file://, libcurl resumed where asked
       * (CURLOPT_RESUME_FROM_LARGE) or failed. */
      if (status == 206 && start != d->offset)
        {
          not_a_continuation (task, "Content-Range");
          return;
        }
      if (!continues_part (d, now, &which))
        {
          not_a_continuation (task, which);
          return;
        }
      if (d->segments != NULL && d->http)
        {
          run_segments (task);
          return;
        }
      append = TRUE;
    }
  else if (status == 206)
    {
      not_a_continuation (task, "an unasked-for 206");
      return;
    }

  d->expected_size = now->size;
  if (append)
    {
      d->out = open_part (d, d->offset, &error);
      if (d->out == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA))
        {
          /* Shortened or grown by someone else since this attempt began. */
          g_clear_error (&error);
          d->restarted = FALSE;
          not_a_continuation (task, "the .part changed");
          return;
        }
      /* A .part without validators (not made by this library) gets the
       * response's, now that it is known to be its continuation. */
      if (d->validators == NULL)
        {
          write_validators (d, now);
          d->validators = g_steal_pointer (&now);
        }
    }
  else
    {
      d->offset = 0;
      d->out = open_new_part (d, g_steal_pointer (&now), &error);
    }

  if (d->out == NULL)
    {
      /* Not transient: the disk, not the network. */
      g_clear_object (&d->body);
      download_return (task, error);
      return;
    }

  if (!append && d->http &&
      (d->segments = g_curl_segments_plan (d->transfer, d->part, d->expected_size,
                                           d->validators->etag, d->validators->last_modified)))
    {
      g_clear_object (&d->out);
      run_segments (task);
      return;
    }

  d->written = 0;
  g_curl_copy_async (d->body, d->out, copy_done_cb, task);
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

  if (download_return_if_cancelled (task))
    return;

  /* The previous attempt's transfer was cancelled (its stream dropped) and
   * has not emitted "finished" yet: it can run again after that. */
  if (transfer_is_busy (d->transfer))
    {
      g_signal_connect (d->transfer, "finished", G_CALLBACK (transfer_done_cb), task);
      return;
    }

  /* Continue the .part with RESUME, and always on a retry; never after a
   * .part was found to be of another version, or wrong, nor when the
   * transfer asked for decoding: a range counts encoded bytes. */
  d->offset = 0;
  d->http = g_curl_mirrors_is_http (&d->mirrors);
  if (d->part != NULL && !d->force_fresh &&
      ((d->flags & G_CURL_DOWNLOAD_RESUME) || d->attempt > 0) &&
      !asks_for_decoding (d->transfer))
    {
      g_autoptr(GFileInfo) info = g_file_query_info (d->part, G_FILE_ATTRIBUTE_STANDARD_SIZE,
                                                     G_FILE_QUERY_INFO_NONE, NULL, NULL);

      if (info != NULL)
        d->offset = g_file_info_get_size (info);
    }
  d->force_fresh = FALSE;
  d->written = 0;
  g_clear_pointer (&d->segments, g_curl_segments_unref);
  if (d->offset > 0)
    d->segments = g_curl_segments_resume (d->part, &d->offset);

  /* This download's own validators (the .part's since its first attempt)
   * win over what the file system kept, which may be nothing. */
  if (d->offset > 0 && d->validators == NULL)
    d->validators = read_validators (d);
  if (d->offset > 0 &&
      !g_curl_mirrors_may_resume (&d->mirrors, d->validators ? d->validators->etag : NULL))
    d->offset = 0;
  g_curl_mirrors_apply (&d->mirrors, d->transfer);

  set_resume_request (d->transfer, d->http, d->offset, d->validators);
  set_conditions (d);
  /* A retry never goes back to the connection the failure came on: a
   * stalled or broken HTTP/2 connection stays in libcurl's cache. */
  g_curl_transfer_set_fresh_connect (d->transfer, d->retrying);
  d->retrying = FALSE;
  g_curl_transfer_set_download_mode (d->transfer, TRUE);
  g_curl_multi_send_async_full (d->multi, d->transfer, FALSE, NULL, send_cb, task);
  if (!d->held)
    g_curl_multi_hold_transfer (d->multi, d->transfer);
  d->held = TRUE;
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
      /* A segmented download's own connections too. */
      if (d->segments != NULL)
        g_curl_segments_cancel (d->segments);
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
 * `Range` request (and `If-Range`, so that a changed resource starts over);
 * over FTP, and `file://` where allowed, libcurl resumes it itself. Two
 * versions of a file are never spliced together: the resource's
 * validators (`ETag`, `Last-Modified` and size; for FTP and `file://` the
 * size and the file's time) are kept with the `.part`, in an extended
 * attribute, or where the file system has none in
 * `<destination>.part.validators`, and the continuation is only appended
 * when the server answers 206 with a `Content-Range` that starts exactly at
 * the end of the `.part` and validators that match, whether or not the
 * server honoured `If-Range`. Anything else (a 200, a range that starts
 * elsewhere, another `ETag`) starts the file over from zero, in a new
 * `.part`; a 416 for a complete `.part` finishes it. The `Range` and
 * `If-Range` the download sends follow redirects to other origins (a
 * mirror or CDN link), unlike the headers the application set.
 *
 * Transient failures (a refused connection, a name that does not resolve,
 * the connection reset or closed mid-body, a stall, HTTP 408, 429 and 5xx)
 * are retried up to [property@GCurl.Multi:download-retries] times, each
 * retry resuming from the `.part`. The first waits about
 * [property@GCurl.Multi:retry-delay], each further one about twice as long
 * as the one before, with jitter (between half and all of it) so that
 * downloads that failed together do not come back together; at least as
 * long as the server's `Retry-After` (seconds or a date, up to five
 * minutes) asks. With [method@GCurl.Transfer.set_mirrors], such a failure
 * (and a 404 or 410) continues at once from the next URL, and a `.part`
 * continues on another server only on the same strong `ETag`; the retries
 * come after a round of every URL. Other failures end the download at
 * once. An HTTP status of 400 or more is
 * %G_CURL_ERROR_HTTP_RETURNED_ERROR, and no error page is ever saved. The file's modification time is the resource's
 * `Last-Modified` (for FTP and `file://`, the remote file's time) when the
 * server gives one. A 304 (to conditional headers the application set on
 * @transfer) succeeds and leaves @destination as it was, content and
 * time, with or without %G_CURL_DOWNLOAD_OVERWRITE. With
 * %G_CURL_DOWNLOAD_IF_MODIFIED the download asks for that itself, from
 * what was kept with an existing @destination (its `ETag` and
 * `Last-Modified`, in an extended attribute or in
 * `<destination>.validators`; else its modification time), and a new
 * version replaces it, atomically.
 *
 * Before the rename, the `.part` must be exactly as long as what was
 * received (and as the file, when its size is known): one that another
 * program shortened or changed is not given the name. If
 * [method@GCurl.Transfer.set_expected_checksum] was called, the file is
 * checked too. Either mismatch deletes the `.part` and starts once more
 * from zero; if that fails the same way, the download fails with
 * %G_IO_ERROR_INVALID_DATA and @destination is not created.
 *
 * On failure or cancellation the `.part` stays, for a later
 * %G_CURL_DOWNLOAD_RESUME, and @destination is untouched. Once the whole
 * body has arrived, cancelling no longer stops the download: the file is
 * completed (synced, checked and renamed).
 *
 * With [property@GCurl.Transfer:segments] above 1, a large file whose
 * server takes ranges is fetched over that many connections at once,
 * written in place, under the same guarantees (see
 * [method@GCurl.Transfer.set_segments]).
 *
 * @transfer emits [signal@GCurl.Transfer::finished] once per attempt; the
 * download's own outcome is the one given to @callback.
 * [property@GCurl.Transfer:destination] is @destination from this call
 * on.
 *
 * Since: 0.1
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
  g_return_if_fail (G_CURL_IS_MULTI (self));
  g_return_if_fail (G_CURL_IS_TRANSFER (transfer));
  g_return_if_fail (G_IS_FILE (destination));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  g_curl_download_start (self, transfer, destination, flags, NULL, NULL,
                         cancellable, callback, user_data);
}

/* download_async, or with @destination %NULL and @choose, the download
 * that names its file at the first final response's headers (see
 * gcurl-download-directory.c). Finished by g_curl_multi_download_finish(). */
void
g_curl_download_start (GCurlMulti              *self,
                       GCurlTransfer           *transfer,
                       GFile                   *destination,
                       GCurlDownloadFlags       flags,
                       GCurlDownloadChooseFunc  choose,
                       gpointer                 choose_data,
                       GCancellable            *cancellable,
                       GAsyncReadyCallback      callback,
                       gpointer                 user_data)
{
  GTask *task;
  Download *d;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, g_curl_multi_download_async);
  g_task_set_check_cancellable (task, FALSE);

  if (g_task_return_error_if_cancelled (task))
    {
      g_object_unref (task);
      return;
    }

  if (destination != NULL &&
      !(flags & (G_CURL_DOWNLOAD_OVERWRITE | G_CURL_DOWNLOAD_IF_MODIFIED)) &&
      g_file_query_exists (destination, NULL))
    {
      g_autofree char *name = g_file_get_parse_name (destination);

      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_EXISTS,
                               _("%s exists already"), name);
      g_object_unref (task);
      return;
    }

  d = g_new0 (Download, 1);
  d->multi = g_object_ref (self);
  d->transfer = g_object_ref (transfer);
  if (destination != NULL)
    {
      set_destination (d, destination);
      g_curl_transfer_set_destination (transfer, destination);
    }
  d->choose = choose;
  d->choose_data = choose_data;
  g_curl_mirrors_init (&d->mirrors, transfer);
  d->fresh_left = GCURL_FRESH_ATTEMPTS + g_curl_mirrors_get_n_mirrors (&d->mirrors);
  d->flags = flags;
  g_curl_retry_init (&d->retry, g_curl_multi_get_download_retries (self),
                     g_curl_multi_get_retry_delay (self));
  g_task_set_task_data (task, d, (GDestroyNotify) download_free);

  d->cancel_source = g_curl_watch_cancellable (g_curl_multi_get_context (self), cancellable, cancelled_cb, task);

  g_curl_transfer_set_retry_func (transfer, will_retry, task);
  /* The task holds itself until it returns. */
  start_attempt (task);
}

/* For download_to_directory's RESUME: whether the .part of @destination
 * holds the beginning of the resource whose final response's headers
 * @transfer has, as far as its validators tell. Unlike a download to a
 * given file, a match must rest on an ETag or a Last-Modified both have:
 * the size alone cannot tell one file from another of the same name. */
gboolean
g_curl_download_part_continues (GCurlTransfer *transfer,
                                GFile         *destination)
{
  Download d = { 0, };
  g_autoptr(GCurlValidators) saved = NULL;
  g_autoptr(GCurlValidators) now = NULL;
  const char *which = NULL;
  gboolean continues = FALSE;

  d.transfer = transfer;
  set_destination (&d, destination);
  if (g_file_query_exists (d.part, NULL) && (saved = read_validators (&d)) != NULL)
    {
      now = response_validators (&d);
      continues = ((saved->etag != NULL && g_strcmp0 (saved->etag, now->etag) == 0) ||
                   (saved->last_modified != NULL &&
                    g_strcmp0 (saved->last_modified, now->last_modified) == 0)) &&
                  g_curl_validators_match (saved, now, &which);
    }

  g_clear_object (&d.destination);
  g_clear_object (&d.part);
  g_clear_object (&d.sidecar);
  return continues;
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
 * Since: 0.1
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

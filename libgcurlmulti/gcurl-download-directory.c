/* gcurl-download-directory.c: download_to_directory_async, the download
 * the server names
 *
 * A download_async (gcurl-download.c) started without a destination: at
 * the first final response's headers it asks choose_cb() for one, which
 * names the file (gcurl-filename.c) and takes the first of "name",
 * "name (1).ext", "name (2).ext"… that is free: no file (nor symbolic
 * link) of that name, and its "<name>.part" created here with
 * G_FILE_CREATE_NONE (O_EXCL), which holds the name against other
 * downloads, in this process or another. With G_CURL_DOWNLOAD_RESUME, a
 * candidate whose .part exists and whose validators (an ETag or
 * Last-Modified, see g_curl_download_part_continues()) match the response
 * is taken instead: the download asks again, for the rest of it. A .part
 * another download of this process is writing is never taken.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <glib/gi18n-lib.h>

#include "gcurl-download-private.h"
#include "gcurl-filename-private.h"
#include "gcurl-multi.h"
#include "gcurl-transfer-private.h"

/* How many numbered names to try before giving up. */
#define GCURL_MAX_ALTERNATIVES 1000

typedef struct
{
  GFile              *directory;
  GCurlDownloadFlags  flags;
  GFile              *destination;  /* once chosen */
  char               *claimed;      /* URI of its .part, in claimed_parts */
} DirectoryDownload;

/* The .part files this process's downloads to folders are writing. */
G_LOCK_DEFINE_STATIC (claimed_parts);
static GHashTable *claimed_parts;

static gboolean
claim (const char *uri)
{
  gboolean added;

  G_LOCK (claimed_parts);
  if (claimed_parts == NULL)
    claimed_parts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  added = g_hash_table_add (claimed_parts, g_strdup (uri));
  G_UNLOCK (claimed_parts);

  return added;
}

static void
release (DirectoryDownload *dd)
{
  if (dd->claimed == NULL)
    return;

  G_LOCK (claimed_parts);
  g_hash_table_remove (claimed_parts, dd->claimed);
  G_UNLOCK (claimed_parts);
  g_clear_pointer (&dd->claimed, g_free);
}

static void
directory_download_free (DirectoryDownload *dd)
{
  release (dd);
  g_clear_object (&dd->destination);
  g_clear_object (&dd->directory);
  g_free (dd);
}

/* Whether anything is there, a dangling symbolic link included. */
static gboolean
exists (GFile *file)
{
  g_autoptr(GFileInfo) info = g_file_query_info (file, G_FILE_ATTRIBUTE_STANDARD_TYPE,
                                                 G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS,
                                                 NULL, NULL);

  return info != NULL;
}

/* Tries @name for the download: %TRUE if it is the download's now (its
 * .part made or, with *@resume, one to continue); %FALSE if it is taken,
 * or with @error set if the folder cannot be written. */
static gboolean
try_name (DirectoryDownload  *dd,
          GCurlTransfer      *transfer,
          const char         *name,
          gboolean           *resume,
          GError            **error)
{
  g_autoptr(GFile) destination = g_file_get_child (dd->directory, name);
  g_autofree char *part_name = g_strconcat (name, ".part", NULL);
  g_autoptr(GFile) part = g_file_get_child (dd->directory, part_name);
  g_autofree char *part_uri = g_file_get_uri (part);
  g_autoptr(GFileOutputStream) out = NULL;
  g_autoptr(GError) local_error = NULL;

  if (exists (destination) || !claim (part_uri))
    return FALSE;
  dd->claimed = g_steal_pointer (&part_uri);

  if ((dd->flags & G_CURL_DOWNLOAD_RESUME) &&
      g_curl_download_part_continues (transfer, destination))
    {
      *resume = TRUE;
      dd->destination = g_steal_pointer (&destination);
      return TRUE;
    }

  out = g_file_create (part, G_FILE_CREATE_NONE, NULL, &local_error);
  if (out != NULL)
    {
      g_output_stream_close (G_OUTPUT_STREAM (out), NULL, NULL);
      dd->destination = g_steal_pointer (&destination);
      return TRUE;
    }

  release (dd);
  if (!g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_EXISTS))
    g_propagate_error (error, g_steal_pointer (&local_error));
  return FALSE;
}

static GFile *
choose_cb (GCurlTransfer  *transfer,
           gboolean       *resume,
           gpointer        user_data,
           GError        **error)
{
  DirectoryDownload *dd = user_data;
  g_autofree char *name =
    g_curl_filename_choose (g_curl_transfer_get_response_header (transfer, "Content-Disposition"),
                            g_curl_transfer_get_effective_url (transfer));
  GError *local_error = NULL;
  g_autofree char *folder = NULL;

  *resume = FALSE;
  for (guint n = 0; n <= GCURL_MAX_ALTERNATIVES; n++)
    {
      g_autofree char *candidate = g_curl_filename_numbered (name, n);

      if (try_name (dd, transfer, candidate, resume, &local_error))
        return g_object_ref (dd->destination);
      if (local_error != NULL)
        {
          g_propagate_error (error, local_error);
          return NULL;
        }
    }

  folder = g_file_get_parse_name (dd->directory);
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
               _("%s has no free name left for %s"), folder, name);
  return NULL;
}

static void
download_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  GTask *task = user_data;
  DirectoryDownload *dd = g_task_get_task_data (task);
  GError *error = NULL;

  release (dd);
  if (g_curl_multi_download_finish (G_CURL_MULTI (source), result, &error))
    g_task_return_pointer (task, g_object_ref (dd->destination), g_object_unref);
  else
    g_task_return_error (task, error);
  g_object_unref (task);
}

/**
 * g_curl_multi_download_to_directory_async:
 * @self: a multi
 * @transfer: a transfer that is not running
 * @directory: the folder to save the file in
 * @flags: %G_CURL_DOWNLOAD_RESUME to continue a `.part` of an earlier
 *   download, or %G_CURL_DOWNLOAD_NONE
 * @cancellable: (nullable): a cancellable to stop the download
 * @callback: (scope async): called when the download has ended
 * @user_data: (closure): data for @callback
 *
 * Downloads what @transfer requests into @directory, under the name the
 * server gives: [method@GCurl.Multi.download_async], with everything it
 * promises (the `.part`, retries, validators, checksum), but with the
 * file named by the final response, after redirects.
 *
 * The name is the `filename*` of the response's `Content-Disposition`
 * (RFC 6266, UTF-8 or ISO-8859-1 as RFC 8187 encodes it) if there is one,
 * else its `filename`, for any disposition type (`attachment` or
 * `inline`); else the last segment of the path of the final URL
 * ([property@GCurl.Transfer:effective-url]), percent-decoded; else
 * `index.html`. A name from the network cannot leave @directory nor hide
 * in it: only its last component is kept (after the last `/` or `\`),
 * control characters (`NUL` too), bidirectional controls and the
 * characters Windows reserves (`<>:"|?*`) become `_`, leading dots and
 * spaces are dropped (`.bashrc` becomes `bashrc`; `.`, `..` and names of
 * dots alone fall back to the next source), and so are trailing ones;
 * invalid UTF-8 becomes U+FFFD. It is at most 239 bytes (255 less the
 * `.part.validators` the download may keep beside it), cut on a
 * character boundary before its extension.
 *
 * An existing file is never overwritten: when the name is taken (by a
 * file, a link, or the `.part` of another download) the download takes
 * `name (1).ext`, `name (2).ext`… whichever is free first, by creating
 * its `.part` exclusively, so that two downloads never get the same
 * name. %G_CURL_DOWNLOAD_OVERWRITE and %G_CURL_DOWNLOAD_IF_MODIFIED are
 * ignored. Should another program create the file's name while it
 * downloads, the download fails with %G_IO_ERROR_EXISTS, its `.part`
 * kept.
 *
 * With %G_CURL_DOWNLOAD_RESUME, a download stopped in an earlier run is
 * continued: the same request into the same folder finds the name again
 * from the response's headers, and a `.part` of that name (or of one of
 * its numbered forms) whose validators match the response (the same
 * `ETag` or `Last-Modified`, and size) is continued with a `Range`
 * request, as download_async would; the first response is then dropped
 * after its headers, and @transfer emits
 * [signal@GCurl.Transfer::finished] for it, cancelled. A server that
 * sends neither `ETag` nor `Last-Modified` gives nothing to recognise a
 * `.part` by: the download starts a new file under a free name.
 *
 * [property@GCurl.Transfer:destination] says the name as soon as it is
 * chosen, just after [signal@GCurl.Transfer::got-headers]. An HTTP
 * status of 400 or more fails with %G_CURL_ERROR_HTTP_RETURNED_ERROR
 * and creates no file. If @directory is not a folder, the download fails
 * at once with %G_IO_ERROR_NOT_FOUND (or %G_IO_ERROR_NOT_DIRECTORY), and
 * nothing is sent. On failure or cancellation after the name was chosen,
 * its `.part` stays, as with download_async.
 *
 * Since: 0.1
 */
void
g_curl_multi_download_to_directory_async (GCurlMulti          *self,
                                          GCurlTransfer       *transfer,
                                          GFile               *directory,
                                          GCurlDownloadFlags   flags,
                                          GCancellable        *cancellable,
                                          GAsyncReadyCallback  callback,
                                          gpointer             user_data)
{
  g_autoptr(GFileInfo) info = NULL;
  g_autoptr(GError) error = NULL;
  DirectoryDownload *dd;
  GTask *task;

  g_return_if_fail (G_CURL_IS_MULTI (self));
  g_return_if_fail (G_CURL_IS_TRANSFER (transfer));
  g_return_if_fail (G_IS_FILE (directory));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, g_curl_multi_download_to_directory_async);
  g_task_set_check_cancellable (task, FALSE);

  info = g_file_query_info (directory, G_FILE_ATTRIBUTE_STANDARD_TYPE,
                            G_FILE_QUERY_INFO_NONE, NULL, &error);
  if (info == NULL || g_file_info_get_file_type (info) != G_FILE_TYPE_DIRECTORY)
    {
      g_autofree char *name = g_file_get_parse_name (directory);

      if (info != NULL)
        g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_DIRECTORY,
                                 _("Cannot download into %s: it is not a folder"), name);
      else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
        g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                                 _("Cannot download into %s: the folder does not exist"), name);
      else
        g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }

  dd = g_new0 (DirectoryDownload, 1);
  dd->directory = g_object_ref (directory);
  dd->flags = flags & ~(G_CURL_DOWNLOAD_OVERWRITE | G_CURL_DOWNLOAD_IF_MODIFIED);
  g_task_set_task_data (task, dd, (GDestroyNotify) directory_download_free);

  /* The task holds itself until the download returns. */
  g_curl_download_start (self, transfer, NULL, dd->flags, choose_cb, dd,
                         cancellable, download_cb, task);
}

/**
 * g_curl_multi_download_to_directory_finish:
 * @self: a multi
 * @result: the result given to the callback
 * @error: return location for an error
 *
 * Finishes [method@GCurl.Multi.download_to_directory_async].
 *
 * Returns: (transfer full): the complete file, inside the folder, or
 *   %NULL with @error set
 *
 * Since: 0.1
 */
GFile *
g_curl_multi_download_to_directory_finish (GCurlMulti    *self,
                                           GAsyncResult  *result,
                                           GError       **error)
{
  g_return_val_if_fail (G_CURL_IS_MULTI (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_async_result_is_tagged (result,
                                                  g_curl_multi_download_to_directory_async),
                        NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

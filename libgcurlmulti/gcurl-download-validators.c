/* gcurl-download-validators.c: what identifies the version of a download,
 * and the validators a saved file keeps in a side file
 *
 * GCurlValidators are kept as a key file (group GCURL_VALIDATORS_GROUP),
 * and compared: download_async continues a .part only on validators that
 * match (gcurl-download.c).
 *
 * download_async (gcurl-download.c) keeps the validators of a .part (ETag,
 * Last-Modified, size, file time) in an extended attribute, which the
 * rename to the destination carries along, or, where the file system has
 * none, in "<file>.part.validators". For a download with
 * G_CURL_DOWNLOAD_IF_MODIFIED that side file follows the .part here: once
 * the .part is "<file>", it becomes "<file>.validators", so that the next
 * revalidation can still ask with the ETag. A new version saved with an
 * extended attribute, or without the flag, removes the side file of the
 * one before, which would describe another file.
 *
 * A side file is not part of its file: another program can replace or
 * edit the file and leave the side file as it was, and a crash between
 * the two renames leaves the old one beside the new file. So it is used
 * only while it still describes the file: the size it records, if any, is
 * the file's, and so is the time (the file time, else the Last-Modified),
 * which the download gave the file as its modification time. Otherwise
 * the download falls back on the file's modification time, as it does
 * without validators.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "gcurl-date.h"
#include "gcurl-download-validators-private.h"
#include "gcurl-headers-private.h"
#include "gcurl-multi.h"

void
g_curl_validators_free (GCurlValidators *v)
{
  if (v == NULL)
    return;
  g_free (v->etag);
  g_free (v->last_modified);
  g_free (v);
}

char *
g_curl_validators_to_data (const GCurlValidators *v)
{
  g_autoptr(GKeyFile) key_file = g_key_file_new ();

  if (v->etag != NULL)
    g_key_file_set_string (key_file, GCURL_VALIDATORS_GROUP, "etag", v->etag);
  if (v->last_modified != NULL)
    g_key_file_set_string (key_file, GCURL_VALIDATORS_GROUP, "last-modified", v->last_modified);
  g_key_file_set_int64 (key_file, GCURL_VALIDATORS_GROUP, "size", v->size);
  g_key_file_set_int64 (key_file, GCURL_VALIDATORS_GROUP, "filetime", v->filetime);

  return g_key_file_to_data (key_file, NULL, NULL);
}

GCurlValidators *
g_curl_validators_from_data (const char *data)
{
  g_autoptr(GKeyFile) key_file = g_key_file_new ();
  g_autoptr(GError) error = NULL;
  GCurlValidators *v;

  if (!g_key_file_load_from_data (key_file, data, -1, G_KEY_FILE_NONE, NULL) ||
      !g_key_file_has_group (key_file, GCURL_VALIDATORS_GROUP))
    return NULL;

  v = g_new0 (GCurlValidators, 1);
  v->etag = g_key_file_get_string (key_file, GCURL_VALIDATORS_GROUP, "etag", NULL);
  v->last_modified = g_key_file_get_string (key_file, GCURL_VALIDATORS_GROUP,
                                            "last-modified", NULL);
  /* A control character is never sent back in a header: a record with
   * one was not written by this library, and vouches for nothing. */
  v->damaged = !g_curl_header_validator_sanitize (&v->etag);
  v->damaged |= !g_curl_header_validator_sanitize (&v->last_modified);
  v->size = g_key_file_get_int64 (key_file, GCURL_VALIDATORS_GROUP, "size", &error);
  if (error != NULL)
    v->size = -1;
  g_clear_error (&error);
  v->filetime = g_key_file_get_int64 (key_file, GCURL_VALIDATORS_GROUP, "filetime", &error);
  if (error != NULL)
    v->filetime = -1;

  return v;
}

/* GIO gives an extended attribute's value with the bytes that are not
 * printable ASCII, and backslashes, escaped as "\xNN" (and sets it from
 * that form too): the key file's newlines come back that way. */
char *
g_curl_validators_unescape_xattr (const char *value)
{
  GString *raw = g_string_sized_new (strlen (value));
  const char *p;

  for (p = value; *p != '\0'; p++)
    {
      if (p[0] == '\\' && p[1] == 'x' && g_ascii_isxdigit (p[2]) && g_ascii_isxdigit (p[3]))
        {
          g_string_append_c (raw, (char) (g_ascii_xdigit_value (p[2]) * 16 +
                                          g_ascii_xdigit_value (p[3])));
          p += 3;
        }
      else
        g_string_append_c (raw, *p);
    }

  return g_string_free (raw, FALSE);
}

gboolean
g_curl_validators_match (const GCurlValidators *saved,
                  const GCurlValidators *now,
                  const char      **which)
{
  if (saved == NULL)
    return TRUE;

  if (saved->damaged)
    *which = "damaged validators";
  else if (saved->etag != NULL && now->etag != NULL && g_strcmp0 (saved->etag, now->etag) != 0)
    *which = "ETag";
  else if (saved->last_modified != NULL && now->last_modified != NULL &&
           g_strcmp0 (saved->last_modified, now->last_modified) != 0)
    *which = "Last-Modified";
  else if (saved->size >= 0 && now->size >= 0 && saved->size != now->size)
    *which = "size";
  else if (saved->filetime >= 0 && now->filetime >= 0 && saved->filetime != now->filetime)
    *which = "file time";
  else
    return TRUE;

  return FALSE;
}

/* "<destination>.validators", beside it. */
static GFile *
kept_validators_file (GFile *destination)
{
  g_autofree char *basename = g_file_get_basename (destination);
  g_autofree char *name = g_strconcat (basename, GCURL_VALIDATORS_SUFFIX, NULL);
  g_autoptr(GFile) parent = g_file_get_parent (destination);

  return parent != NULL ? g_file_get_child (parent, name) : g_file_new_for_path (name);
}

/* The time a side file records for its file, in s since the epoch, or -1. */
static gint64
recorded_time (GKeyFile *key_file)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *last_modified = NULL;
  g_autoptr(GDateTime) date = NULL;
  gint64 filetime;

  filetime = g_key_file_get_int64 (key_file, GCURL_VALIDATORS_GROUP, "filetime", &error);
  if (error == NULL && filetime >= 0)
    return filetime;

  last_modified = g_key_file_get_string (key_file, GCURL_VALIDATORS_GROUP, "last-modified",
                                         NULL);
  if (last_modified == NULL ||
      (date = g_curl_date_time_new_from_http_string (last_modified)) == NULL)
    return -1;

  return g_date_time_to_unix (date);
}

/* Whether @key_file, a side file's, still describes the file @info is of
 * (its size and modification time). */
static gboolean
describes_file (GKeyFile  *key_file,
                GFileInfo *info)
{
  g_autoptr(GError) error = NULL;
  gint64 size;
  gint64 time;

  size = g_key_file_get_int64 (key_file, GCURL_VALIDATORS_GROUP, "size", &error);
  if (error == NULL && size >= 0 &&
      g_file_info_has_attribute (info, G_FILE_ATTRIBUTE_STANDARD_SIZE) &&
      size != g_file_info_get_size (info))
    return FALSE;

  time = recorded_time (key_file);
  if (time >= 0 && g_file_info_has_attribute (info, G_FILE_ATTRIBUTE_TIME_MODIFIED) &&
      (guint64) time != g_file_info_get_attribute_uint64 (info, G_FILE_ATTRIBUTE_TIME_MODIFIED))
    return FALSE;

  return TRUE;
}

/* The contents of @destination's side file (a key file of validators), if
 * it has one that still describes it: @info is the destination's, with its
 * size and modification time. %NULL otherwise. */
char *
g_curl_download_read_kept_validators (GFile     *destination,
                                      GFileInfo *info)
{
  g_autoptr(GFile) side_file = kept_validators_file (destination);
  g_autoptr(GKeyFile) key_file = g_key_file_new ();
  g_autofree char *data = NULL;
  gsize length = 0;

  if (!g_file_load_contents (side_file, NULL, &data, &length, NULL, NULL) ||
      !g_key_file_load_from_data (key_file, data, length, G_KEY_FILE_NONE, NULL) ||
      !g_key_file_has_group (key_file, GCURL_VALIDATORS_GROUP))
    return NULL;

  if (!describes_file (key_file, info))
    {
      g_debug ("%s does not describe %s any more: its validators are not used",
               g_file_peek_path (side_file), g_file_peek_path (destination));
      return NULL;
    }

  return g_steal_pointer (&data);
}

/* Once the .part is @destination, saved by a download with @flags: with
 * G_CURL_DOWNLOAD_IF_MODIFIED, the .part's side file @part_side_file, if
 * it has one, becomes @destination's, and if it has none (its validators
 * went along as an extended attribute, or nowhere) a side file of the
 * version before is removed. Without it nothing will ask with them (only
 * an application that revalidates gets a file beside its own): the
 * .part's side file goes, and so does the destination's if the download
 * may have replaced the version it describes (G_CURL_DOWNLOAD_OVERWRITE).
 * Otherwise the destination did not exist, and a side file of its name is
 * not this download's to touch. */
void
g_curl_download_keep_validators (GFile              *part_side_file,
                                 GFile              *destination,
                                 GCurlDownloadFlags  flags)
{
  g_autoptr(GFile) side_file = kept_validators_file (destination);
  g_autoptr(GError) error = NULL;

  if (!(flags & G_CURL_DOWNLOAD_IF_MODIFIED))
    {
      g_file_delete (part_side_file, NULL, NULL);
      if (flags & G_CURL_DOWNLOAD_OVERWRITE)
        g_file_delete (side_file, NULL, NULL);
      return;
    }

  if (g_file_move (part_side_file, side_file,
                   G_FILE_COPY_OVERWRITE | G_FILE_COPY_NO_FALLBACK_FOR_MOVE,
                   NULL, NULL, NULL, &error))
    return;

  if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    {
      g_debug ("Cannot keep the validators of %s: %s", g_file_peek_path (destination),
               error->message);
      g_file_delete (part_side_file, NULL, NULL);
    }
  g_file_delete (side_file, NULL, NULL);
}

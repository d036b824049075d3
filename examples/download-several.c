/* download-several.c: download several files at once, with progress
 *
 * Usage: download-several [-d DIR] URL…
 *
 * Downloads the URLs concurrently into DIR (default: the current directory),
 * each to the last segment of its path ("index.html" if none), replacing
 * existing files. Prints progress lines, then per file "NAME: SIZE bytes,
 * SHA-256 HEX" or "NAME: error: WHY" (an HTTP status >= 400 is an error, and
 * saves nothing). Exits with 1 if a download failed, 2 on a usage error.
 * The same program is in download-several.py and download-several.js.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <locale.h>
#include <string.h>
#include <gcurlmulti.h>

static guint n_running;
static int exit_status = 0;

static void
on_progress (GCurlTransfer *transfer, gint64 downloaded, gint64 size,
             gint64 uploaded, gint64 upload_size, const char *name)
{
  if (size > 0)
    g_print ("%s: %3.0f%% of %" G_GINT64_FORMAT " bytes\n", name, 100.0 * downloaded / size, size);
  else
    g_print ("%s: %" G_GINT64_FORMAT " bytes\n", name, downloaded);
}

static void
on_downloaded (GObject *multi, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GFile) file = user_data;
  g_autofree char *name = g_file_get_basename (file);
  g_autoptr(GBytes) contents = NULL;
  g_autoptr(GError) error = NULL;

  if (g_curl_multi_download_finish (G_CURL_MULTI (multi), result, &error) &&
      (contents = g_file_load_bytes (file, NULL, NULL, &error)) != NULL)
    {
      g_autofree char *sha256 = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, contents);

      g_print ("%s: %" G_GSIZE_FORMAT " bytes, SHA-256 %s\n",
               name, g_bytes_get_size (contents), sha256);
    }
  else
    {
      g_print ("%s: error: %s\n", name, error->message);
      exit_status = 1;
    }
  n_running--;
}

int
main (int argc, char *argv[])
{
  g_autofree char *dir = NULL;
  g_auto(GStrv) urls = NULL;
  const GOptionEntry entries[] = {
    { "dir", 'd', 0, G_OPTION_ARG_FILENAME, &dir, "Save the files in DIR", "DIR" },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, &urls, NULL, "URL…" },
    { NULL }
  };
  g_autoptr(GOptionContext) options = g_option_context_new (NULL);
  g_autoptr(GCurlMulti) multi = g_curl_multi_new ();

  setlocale (LC_ALL, "");
  g_option_context_add_main_entries (options, entries, NULL);
  if (!g_option_context_parse (options, &argc, &argv, NULL) || urls == NULL)
    {
      g_printerr ("Usage: %s [-d DIR] URL…\n", g_get_prgname ());
      return 2;
    }

  for (guint i = 0; urls[i] != NULL; i++, n_running++)
    {
      g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (urls[i]);
      g_autoptr(GUri) uri = g_uri_parse (urls[i], G_URI_FLAGS_NONE, NULL);
      const char *slash = uri != NULL ? strrchr (g_uri_get_path (uri), '/') : NULL;
      char *name = g_strdup (slash != NULL && slash[1] != '\0' ? slash + 1 : "index.html");
      GFile *file = g_file_new_build_filename (dir != NULL ? dir : ".", name, NULL);

      g_signal_connect_data (transfer, "progress", G_CALLBACK (on_progress), name,
                             (GClosureNotify) G_CALLBACK (g_free), 0);
      g_curl_multi_download_async (multi, transfer, file, G_CURL_DOWNLOAD_OVERWRITE,
                                   NULL, on_downloaded, file);
    }

  while (n_running > 0)
    g_main_context_iteration (NULL, TRUE);
  return exit_status;
}

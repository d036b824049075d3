/* download-several.c: download several files at once, with progress
 *
 * Usage: download-several [-d DIR] URL…
 *
 * Downloads the URLs concurrently into DIR (default: the current directory),
 * each under the name the server gives: its Content-Disposition, else the
 * last segment of the URL, else "index.html". A file already there is never
 * replaced: the download takes "name (1).ext" instead. Prints the progress
 * of each file of known size ("NAME:  42% of SIZE bytes") and of all those
 * still running ("N running:  42% at SPEED bytes/s"), then per file "NAME:
 * SIZE bytes, SHA-256 HEX", or "URL: error: WHY" (an HTTP status >= 400 is
 * an error, and saves nothing). Exits with 1 if a download failed, 2 on a
 * usage error. The same program is in download-several.py and download-several.js.
 *
 * Its length is checked by tests/examples/check-example-length.py, which
 * counts the lines that are neither blank nor only a comment, except those
 * between the ARGS markers: they parse the arguments.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <locale.h>
#include <gcurlmulti.h>

static guint n_running;
static int exit_status = 0;

/* The destination is known from the response's headers on. */
static void
on_progress (GCurlTransfer *transfer, gint64 downloaded, gint64 size,
             gint64 uploaded, gint64 upload_size, gpointer user_data)
{
  GFile *destination = g_curl_transfer_get_destination (transfer);
  g_autofree char *name = destination != NULL ? g_file_get_basename (destination) : NULL;

  if (name != NULL && size > 0)
    g_print ("%s: %3.0f%% of %" G_GINT64_FORMAT " bytes\n", name, 100.0 * downloaded / size, size);
}

/* The sums over the downloads still running: one that ends leaves them. */
static void
on_total_progress (GCurlMulti *multi, GParamSpec *pspec, gpointer user_data)
{
  double fraction;
  gint64 speed;

  g_object_get (multi, "fraction", &fraction, "download-speed", &speed, NULL);
  g_print ("%u running: %3.0f%% at %" G_GINT64_FORMAT " bytes/s\n",
           g_curl_multi_get_n_transfers (multi), 100 * fraction, speed);
}

static void
on_downloaded (GObject *multi, GAsyncResult *result, gpointer url)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GFile) file = g_curl_multi_download_to_directory_finish (G_CURL_MULTI (multi),
                                                                     result, &error);
  g_autoptr(GBytes) contents = file != NULL ? g_file_load_bytes (file, NULL, NULL, &error) : NULL;

  if (contents != NULL)
    {
      g_autofree char *name = g_file_get_basename (file);
      g_autofree char *sha256 = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, contents);

      g_print ("%s: %" G_GSIZE_FORMAT " bytes, SHA-256 %s\n",
               name, g_bytes_get_size (contents), sha256);
    }
  else
    {
      g_print ("%s: error: %s\n", (const char *) url, error->message);
      exit_status = 1;
    }
  n_running--;
}

int
main (int argc, char *argv[])
{
  /* ARGS */
  g_autofree char *dir = NULL;
  g_auto(GStrv) urls = NULL;
  const GOptionEntry entries[] = {
    { "dir", 'd', 0, G_OPTION_ARG_FILENAME, &dir, "Save the files in DIR", "DIR" },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, &urls, NULL, "URL…" },
    { NULL }
  };
  g_autoptr(GOptionContext) options = g_option_context_new (NULL);
  g_autoptr(GFile) directory = NULL;
  /* ARGS */
  g_autoptr(GCurlMulti) multi = g_curl_multi_new ();

  /* ARGS */
  setlocale (LC_ALL, "");
  g_option_context_add_main_entries (options, entries, NULL);
  if (!g_option_context_parse (options, &argc, &argv, NULL) || urls == NULL)
    {
      g_printerr ("Usage: %s [-d DIR] URL…\n", g_get_prgname ());
      return 2;
    }
  directory = g_file_new_for_commandline_arg (dir != NULL ? dir : ".");
  /* ARGS */

  g_signal_connect (multi, "notify::fraction", G_CALLBACK (on_total_progress), NULL);
  for (guint i = 0; urls[i] != NULL; i++, n_running++)
    {
      g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (urls[i]);

      g_signal_connect (transfer, "progress", G_CALLBACK (on_progress), NULL);
      g_curl_multi_download_to_directory_async (multi, transfer, directory, G_CURL_DOWNLOAD_NONE,
                                                NULL, on_downloaded, urls[i]);
    }

  while (n_running > 0)
    g_main_context_iteration (NULL, TRUE);
  return exit_status;
}

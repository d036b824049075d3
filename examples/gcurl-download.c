/* gcurl-download.c: download URLs to files, resumably, with one GCurlMulti
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Usage:
 *   gcurl-download [-d DIR] [--no-resume] URL…
 *       downloads every URL at once into DIR (default: the current
 *       directory), each to the last segment of its path ("index.html" when
 *       there is none, "NAME.1", "NAME.2"… when several URLs end alike).
 *       The data goes to NAME.part, renamed to NAME once complete. Ctrl-C
 *       cancels everything and leaves the .part files: the next run
 *       continues them with Range requests (unless --no-resume). While it
 *       runs it shows one progress line per file; at the end, the size and
 *       SHA-256 of every saved file, or why it failed.
 *   gcurl-download
 *       with no URL, works offline: serves generated files from a small
 *       HTTP server on 127.0.0.1 inside this process, downloads them into a
 *       new temporary directory and checks every byte, then shows a resume:
 *       one download cancels itself after about 1 MiB and a second run
 *       fetches only the rest. The directory is removed at the end (-d and
 *       --no-resume apply to URLs only).
 *
 * Exits with 0 only if every download succeeded (and, with no URL, every
 * check passed), with 130 after Ctrl-C.
 *
 * Only the public API is used: this is how an application would use the
 * library. The built-in server is example-server.c, shared with gcurl-get.
 */

#include <errno.h>
#include <locale.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib/gstdio.h>
#include <gcurlmulti.h>

#include "example-server.h"

/* The least time between two "progress" signals of one transfer, each of
 * which redraws the lines on a terminal. */
#define PROGRESS_INTERVAL_MS 100

/* When stdout is not a terminal: the lines at most once per this long. */
#define LOG_INTERVAL_US G_USEC_PER_SEC

/* The columns of the progress lines, in characters: the file name, and a
 * size ("999.9 MiB"; a longer one widens its line). */
#define NAME_WIDTH 16
#define SIZE_WIDTH 9

/* When the terminal does not say how wide it is. */
#define DEFAULT_TERMINAL_WIDTH 80

#define HASH_CHUNK_SIZE (64 * 1024)
#define EXIT_INTERRUPTED 130      /* 128 + SIGINT, as shells report it */

#define MIB (1024 * 1024)

/* With no URL: the generated files downloaded at once… */
static const guint64 self_test_sizes[] = { 1024, 4 * MIB, 16 * MIB };

/* …and, alongside them, the one that is cut and resumed. Its speed is
 * limited so that the cut comes early even on loopback. */
#define CUT_FILE_SIZE (8 * MIB)
#define CUT_AFTER_BYTES (1 * MIB)
#define CUT_FILE_SPEED (4 * MIB)  /* bytes per second */

typedef struct _App App;

typedef struct
{
  App           *app;
  char          *name;             /* in the directory; also what the lines show */
  GFile         *destination;
  GCurlTransfer *transfer;
  GCancellable  *cancellable;      /* the app's, or its own (the self-test's cut) */
  gulong         cancel_link;      /* its own is cancelled with the app's */
  gint64         cut_after;        /* self-test: cancel itself after this many bytes */
  gint64         cut_at;           /* …and how far it had got */
  char          *expected_sha256;  /* self-test: what the server generated */
  gint64         resumed_at;       /* where this run's 206 response starts, or -1 */
  gboolean       finished;
  GError        *error;            /* how it finished */
} Download;

struct _App
{
  GCurlMulti         *multi;
  GCurlDownloadFlags  flags;
  GCancellable       *cancellable;  /* Ctrl-C cancels every download with it */
  guint               sigint_id;
  gboolean            interrupted;
  gboolean            tty;          /* stdout is a terminal: redraw in place */

  /* While run_downloads() runs: */
  GMainLoop          *loop;
  GPtrArray          *downloads;    /* (element-type Download) (transfer none) */
  guint               n_running;
  guint               lines_drawn;  /* how far up the redraw starts */
  gint64              last_log;     /* not a terminal: when the lines were printed */
};

/* ------------------------------------------------------------------------ */
/* The progress lines                                                        */
/* ------------------------------------------------------------------------ */

static char *
format_size (gint64 bytes)
{
  return g_format_size_full (MAX (bytes, 0), G_FORMAT_SIZE_IEC_UNITS);
}

/* @text in a column of @width characters (g_format_size() puts a no-break
 * space before the unit: more bytes than characters). */
static void
append_column (GString    *line,
               const char *text,
               glong       width,
               gboolean    align_right)
{
  glong padding = MAX (width - g_utf8_strlen (text, -1), 0);

  if (!align_right)
    g_string_append (line, text);
  for (glong i = 0; i < padding; i++)
    g_string_append_c (line, ' ');
  if (align_right)
    g_string_append (line, text);
}

/* @name elided or padded to NAME_WIDTH characters. */
static void
append_name (GString    *line,
             const char *name)
{
  g_autofree char *display = g_filename_display_name (name);

  if (g_utf8_strlen (display, -1) > NAME_WIDTH)
    {
      const char *cut = g_utf8_offset_to_pointer (display, NAME_WIDTH - 1);

      g_string_append_len (line, display, cut - display);
      g_string_append (line, "…");
      return;
    }

  append_column (line, display, NAME_WIDTH, FALSE);
}

/* "16777216          42%    6.7 MiB / 16.0 MiB    120.3 MiB/s" */
static char *
format_line (Download *download)
{
  GCurlTransfer *transfer = download->transfer;
  gint64 size = g_curl_transfer_get_download_size (transfer);
  g_autofree char *downloaded = format_size (g_curl_transfer_get_downloaded_bytes (transfer));
  g_autofree char *total = size >= 0 ? format_size (size) : g_strdup ("?");
  GString *line = g_string_new (NULL);

  append_name (line, download->name);

  /* "fraction" is 0 while the size is unknown: say so instead. */
  if (size >= 0)
    g_string_append_printf (line, " %3d%% ", (int) (g_curl_transfer_get_fraction (transfer) * 100));
  else
    g_string_append (line, "    ? ");
  append_column (line, downloaded, SIZE_WIDTH, TRUE);
  g_string_append (line, " / ");
  append_column (line, total, SIZE_WIDTH, FALSE);
  g_string_append_c (line, ' ');

  if (!download->finished)
    {
      g_autofree char *speed = format_size (g_curl_transfer_get_download_speed (transfer));
      g_autofree char *per_second = g_strconcat (speed, "/s", NULL);

      append_column (line, per_second, SIZE_WIDTH + 2, TRUE);
    }
  else if (download->error == NULL)
    g_string_append (line, "done");
  else if (g_error_matches (download->error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_string_append (line, "cancelled");
  else
    g_string_append (line, "failed");

  /* A resumed download counts within the whole file, from here. */
  if (download->resumed_at > 0)
    {
      g_autofree char *offset = format_size (download->resumed_at);

      g_string_append_printf (line, " (resumed at %s)", offset);
    }

  return g_string_free (line, FALSE);
}

static guint
terminal_width (void)
{
  struct winsize size;

  if (ioctl (STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0)
    return size.ws_col;

  return DEFAULT_TERMINAL_WIDTH;
}

/* On a terminal: moves up over the lines drawn before and draws them again.
 * A line must never wrap, or the cursor would not go back far enough. */
static void
redraw_lines (App *app)
{
  guint width = terminal_width ();

  if (app->lines_drawn > 0)
    g_print ("\033[%uA", app->lines_drawn);

  for (guint i = 0; i < app->downloads->len; i++)
    {
      g_autofree char *line = format_line (g_ptr_array_index (app->downloads, i));

      if ((guint) g_utf8_strlen (line, -1) >= width)
        *g_utf8_offset_to_pointer (line, width - 1) = '\0';
      g_print ("\r\033[2K%s\n", line);
    }

  app->lines_drawn = app->downloads->len;
  fflush (stdout);
}

static void
show_progress (App *app)
{
  gint64 now;

  if (app->tty)
    {
      redraw_lines (app);
      return;
    }

  /* In a log, a set of lines per second at most. */
  now = g_get_monotonic_time ();
  if (now - app->last_log < LOG_INTERVAL_US)
    return;
  app->last_log = now;

  for (guint i = 0; i < app->downloads->len; i++)
    {
      g_autofree char *line = format_line (g_ptr_array_index (app->downloads, i));

      g_print ("%s\n", line);
    }
}

/* ------------------------------------------------------------------------ */
/* The downloads                                                             */
/* ------------------------------------------------------------------------ */

/* Emitted once per run with the final response's headers: a 206 continues
 * the .part from where its Content-Range starts. */
static void
on_got_headers (GCurlTransfer *transfer,
                gpointer       user_data)
{
  Download *download = user_data;
  const char *range = g_curl_transfer_get_response_header (transfer, "Content-Range");

  download->resumed_at = -1;
  if (g_curl_transfer_get_status_code (transfer) == 206 &&
      range != NULL && g_str_has_prefix (range, "bytes "))
    download->resumed_at = g_ascii_strtoll (range + strlen ("bytes "), NULL, 10);
}

/* Emitted at most once per "progress-interval" while data arrives, and
 * once more with the final figures. */
static void
on_progress (GCurlTransfer *transfer    G_GNUC_UNUSED,
             gint64         downloaded,
             gint64         size        G_GNUC_UNUSED,
             gint64         uploaded    G_GNUC_UNUSED,
             gint64         upload_size G_GNUC_UNUSED,
             gpointer       user_data)
{
  Download *download = user_data;

  /* The self-test's cut: as a user would press a "Stop" button. */
  if (download->cut_after > 0 && downloaded >= download->cut_after &&
      !g_cancellable_is_cancelled (download->cancellable))
    {
      download->cut_at = downloaded;
      g_cancellable_cancel (download->cancellable);
    }

  show_progress (download->app);
}

static void
cancel_too (GCancellable *cancellable G_GNUC_UNUSED,
            gpointer      user_data)
{
  g_cancellable_cancel (user_data);
}

static Download *
download_new (App        *app,
              const char *url,
              GFile      *directory,
              const char *name)
{
  Download *download = g_new0 (Download, 1);

  download->app = app;
  download->name = g_strdup (name);
  download->destination = g_file_get_child (directory, name);
  download->transfer = g_curl_transfer_new (url);
  download->cancellable = g_object_ref (app->cancellable);
  download->resumed_at = -1;

  g_signal_connect (download->transfer, "got-headers", G_CALLBACK (on_got_headers), download);
  g_signal_connect (download->transfer, "progress", G_CALLBACK (on_progress), download);

  return download;
}

/* Gives @download a cancellable of its own, so that it can cancel itself
 * alone; Ctrl-C still cancels it, through the app's. */
static void
download_cut_after (Download *download,
                    gint64    bytes)
{
  App *app = download->app;

  g_object_unref (download->cancellable);
  download->cancellable = g_cancellable_new ();
  download->cancel_link = g_cancellable_connect (app->cancellable, G_CALLBACK (cancel_too),
                                                 download->cancellable, NULL);
  download->cut_after = bytes;
}

static void
download_free (gpointer data)
{
  Download *download = data;

  /* The library may hold the transfer a little longer than we do. */
  g_signal_handlers_disconnect_by_data (download->transfer, download);
  g_object_unref (download->transfer);
  g_cancellable_disconnect (download->app->cancellable, download->cancel_link);
  g_object_unref (download->cancellable);
  g_object_unref (download->destination);
  g_clear_error (&download->error);
  g_free (download->expected_sha256);
  g_free (download->name);
  g_free (download);
}

static void
on_download_done (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  Download *download = user_data;
  App *app = download->app;

  g_curl_multi_download_finish (G_CURL_MULTI (source), result, &download->error);
  download->finished = TRUE;
  show_progress (app);

  if (--app->n_running == 0)
    g_main_loop_quit (app->loop);
}

/* Runs all of @downloads at once, until the last has ended. */
static void
run_downloads (App       *app,
               GPtrArray *downloads)
{
  app->downloads = downloads;
  app->n_running = downloads->len;
  app->lines_drawn = 0;
  app->last_log = g_get_monotonic_time ();
  app->loop = g_main_loop_new (NULL, FALSE);

  for (guint i = 0; i < downloads->len; i++)
    {
      Download *download = g_ptr_array_index (downloads, i);

      g_curl_multi_download_async (app->multi, download->transfer, download->destination,
                                   app->flags, download->cancellable,
                                   on_download_done, download);
    }

  if (app->tty)
    redraw_lines (app);
  if (app->n_running > 0)
    g_main_loop_run (app->loop);
  if (app->tty)
    redraw_lines (app);   /* the final figures */

  g_clear_pointer (&app->loop, g_main_loop_unref);
  app->downloads = NULL;
}

/* ------------------------------------------------------------------------ */
/* The results                                                               */
/* ------------------------------------------------------------------------ */

/* Reads @file through, as a check of what is really on disk. */
static char *
file_sha256 (GFile    *file,
             goffset  *size,
             GError  **error)
{
  g_autoptr(GFileInputStream) input = g_file_read (file, NULL, error);
  g_autoptr(GChecksum) checksum = NULL;
  g_autofree guint8 *buffer = NULL;
  gssize n;

  if (input == NULL)
    return NULL;

  checksum = g_checksum_new (G_CHECKSUM_SHA256);
  buffer = g_malloc (HASH_CHUNK_SIZE);
  *size = 0;
  while ((n = g_input_stream_read (G_INPUT_STREAM (input), buffer, HASH_CHUNK_SIZE,
                                   NULL, error)) > 0)
    {
      g_checksum_update (checksum, buffer, n);
      *size += n;
    }
  if (n < 0)
    return NULL;

  return g_strdup (g_checksum_get_string (checksum));
}

/* The size of the .part that a cancelled or failed download left, or -1. */
static goffset
part_size (Download *download)
{
  g_autofree char *path = g_strconcat (g_file_peek_path (download->destination), ".part", NULL);
  GStatBuf buf;

  if (g_stat (path, &buf) != 0)
    return -1;

  return buf.st_size;
}

static void
print_error (const char   *name,
             const GError *error)
{
  g_print ("%s: failed: %s %d: %s\n",
           name, g_quark_to_string (error->domain), error->code, error->message);
}

/* Prints how @download ended; returns whether it saved the right file. */
static gboolean
report_download (Download *download)
{
  g_autofree char *name = g_filename_display_name (download->name);
  g_autoptr(GError) error = NULL;
  g_autofree char *sha256 = NULL;
  g_autofree char *size_text = NULL;
  goffset size = 0;

  if (g_error_matches (download->error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      goffset kept = part_size (download);
      g_autofree char *kept_text = format_size (kept);

      g_print ("%s: cancelled (%s %d)", name,
               g_quark_to_string (download->error->domain), download->error->code);
      if (kept > 0)
        g_print (", %s kept in %s.part", kept_text, name);
      g_print ("\n");
      return FALSE;
    }
  if (download->error != NULL)
    {
      print_error (name, download->error);
      return FALSE;
    }

  sha256 = file_sha256 (download->destination, &size, &error);
  if (sha256 == NULL)
    {
      print_error (name, error);
      return FALSE;
    }

  size_text = format_size (size);
  g_print ("%s: OK, %s, SHA-256 %s", name, size_text, sha256);
  if (download->expected_sha256 != NULL)
    {
      gboolean match = (g_strcmp0 (sha256, download->expected_sha256) == 0);

      g_print ("%s", match ? ", as generated" : ", MISMATCH: not what the server generated");
      if (!match)
        {
          g_print ("\n");
          return FALSE;
        }
    }
  g_print ("\n");

  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* With URLs                                                                 */
/* ------------------------------------------------------------------------ */

/* The last segment of the URL's path, decoded, if that makes a plain file
 * name; else "index.html". */
static char *
file_name_for_url (const char *url)
{
  g_autoptr(GUri) uri = g_uri_parse (url, G_URI_FLAGS_ENCODED_PATH, NULL);
  g_autofree char *name = NULL;
  const char *path;
  const char *slash;

  if (uri == NULL)
    return g_strdup ("index.html");

  path = g_uri_get_path (uri);
  slash = strrchr (path, '/');
  /* NULL if it would hold a "/" or a NUL. */
  name = g_uri_unescape_string (slash != NULL ? slash + 1 : path, "/");

  if (name == NULL || name[0] == '\0' || g_str_equal (name, ".") || g_str_equal (name, ".."))
    return g_strdup ("index.html");

  return g_steal_pointer (&name);
}

/* "NAME", then "NAME.1", "NAME.2"…: the same in every run with the same
 * URLs, so that each run continues the same .part files. */
static char *
unique_name (GHashTable *used,
             const char *name)
{
  char *unique = g_strdup (name);

  for (guint n = 1; g_hash_table_contains (used, unique); n++)
    {
      g_free (unique);
      unique = g_strdup_printf ("%s.%u", name, n);
    }
  g_hash_table_add (used, g_strdup (unique));

  return unique;
}

static int
download_urls (App         *app,
               const char  *directory_path,
               char       **urls)
{
  g_autoptr(GFile) directory = g_file_new_for_path (directory_path);
  g_autoptr(GPtrArray) downloads = g_ptr_array_new_with_free_func (download_free);
  g_autoptr(GHashTable) used = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree char *shown = g_file_get_parse_name (directory);
  gboolean all_ok = TRUE;
  gboolean any_cancelled = FALSE;

  if (g_mkdir_with_parents (g_file_peek_path (directory), 0777) != 0)
    {
      int errsv = errno;

      g_printerr ("Cannot create %s: %s\n", shown, g_strerror (errsv));
      return 1;
    }

  for (guint i = 0; urls[i] != NULL; i++)
    {
      g_autofree char *name = file_name_for_url (urls[i]);
      g_autofree char *unique = unique_name (used, name);

      g_ptr_array_add (downloads, download_new (app, urls[i], directory, unique));
    }

  g_print ("Downloading %u file%s into %s\n",
           downloads->len, downloads->len == 1 ? "" : "s", shown);
  run_downloads (app, downloads);

  for (guint i = 0; i < downloads->len; i++)
    {
      Download *download = g_ptr_array_index (downloads, i);

      if (!report_download (download))
        all_ok = FALSE;
      if (g_error_matches (download->error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        any_cancelled = TRUE;
    }

  if (app->interrupted && any_cancelled)
    g_print ("Interrupted: the .part files stay in %s; run again to resume.\n", shown);

  if (app->interrupted)
    return EXIT_INTERRUPTED;
  return all_ok ? 0 : 1;
}

/* ------------------------------------------------------------------------ */
/* Without URLs: the self-test                                               */
/* ------------------------------------------------------------------------ */

static Download *
self_test_download (App           *app,
                    ExampleServer *server,
                    GFile         *directory,
                    guint64        size)
{
  g_autofree char *url = example_server_get_file_url (server, size);
  g_autofree char *name = g_strdup_printf ("%" G_GUINT64_FORMAT, size);
  Download *download = download_new (app, url, directory, name);

  download->expected_sha256 = example_server_expected_sha256 (size);

  /* The library checks it too, before it renames the .part. */
  g_curl_transfer_set_expected_checksum (download->transfer, G_CHECKSUM_SHA256,
                                         download->expected_sha256);

  /* Any libcurl option is still at hand through the easy handle: never
   * send these requests to a proxy from the environment. */
  curl_easy_setopt (g_curl_transfer_get_handle (download->transfer),
                    CURLOPT_NOPROXY, "127.0.0.1");

  return download;
}

/* The cut download must have stopped half-way, its .part kept. */
static gboolean
check_cut (Download *cut,
           goffset  *kept)
{
  g_autofree char *cut_text = format_size (cut->cut_at);
  g_autofree char *kept_text = NULL;

  if (!g_error_matches (cut->error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || cut->cut_at == 0)
    {
      g_autofree char *limit = format_size (CUT_AFTER_BYTES);

      g_print ("%s: should have been cancelled after %s, but was not\n", cut->name, limit);
      if (cut->error != NULL)
        print_error (cut->name, cut->error);
      return FALSE;
    }

  *kept = part_size (cut);
  kept_text = format_size (*kept);
  g_print ("%s: cancelled on purpose after %s, %s kept in %s.part\n",
           cut->name, cut_text, kept_text, cut->name);

  return *kept > 0 && *kept < CUT_FILE_SIZE;
}

/* The second run must have fetched only what the .part lacked. The
 * transfer's figures count within the whole file after a resume
 * ("downloaded-bytes" ends at the file's size): what crossed the network
 * is libcurl's own count, still at hand through the easy handle. */
static gboolean
check_resumed (Download *resumed,
               goffset   kept)
{
  gint64 downloaded = g_curl_transfer_get_downloaded_bytes (resumed->transfer);
  curl_off_t fetched = -1;
  g_autofree char *fetched_text = NULL;
  g_autofree char *kept_text = format_size (kept);
  gboolean ok;

  curl_easy_getinfo (g_curl_transfer_get_handle (resumed->transfer),
                     CURLINFO_SIZE_DOWNLOAD_T, &fetched);
  fetched_text = format_size (fetched);
  ok = (resumed->resumed_at == kept && fetched + kept == CUT_FILE_SIZE);

  g_print ("%s: %s the .part had %s, this run fetched %s (%" G_GINT64_FORMAT
           " bytes < %d; downloaded-bytes %" G_GINT64_FORMAT " counts the whole file)\n",
           resumed->name, ok ? "resumed:" : "NOT RESUMED:", kept_text, fetched_text,
           (gint64) fetched, CUT_FILE_SIZE, downloaded);

  return ok;
}

static gboolean
remove_directory (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;
  gboolean ok = TRUE;

  if (dir == NULL)
    return FALSE;

  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *file = g_build_filename (path, name, NULL);

      if (g_remove (file) != 0)
        ok = FALSE;
    }

  return g_rmdir (path) == 0 && ok;
}

static int
self_test (App *app)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GFile) directory = NULL;
  g_autoptr(GPtrArray) first = g_ptr_array_new_with_free_func (download_free);
  g_autoptr(GPtrArray) second = g_ptr_array_new_with_free_func (download_free);
  ExampleServer *server;
  Download *cut;
  goffset kept = 0;
  gboolean all_ok = TRUE;

  server = example_server_start (&error);
  if (server == NULL)
    {
      g_printerr ("Cannot start the local server: %s\n", error->message);
      return 1;
    }

  path = g_dir_make_tmp ("gcurl-download-example-XXXXXX", &error);
  if (path == NULL)
    {
      g_printerr ("Cannot make a temporary directory: %s\n", error->message);
      example_server_stop (server);
      return 1;
    }
  directory = g_file_new_for_path (path);

  /* Here the .part of the cut download must be continued. */
  app->flags = G_CURL_DOWNLOAD_RESUME | G_CURL_DOWNLOAD_OVERWRITE;

  g_print ("No URL given: downloading generated files from http://127.0.0.1:%u/ into %s\n",
           example_server_get_port (server), path);

  for (gsize i = 0; i < G_N_ELEMENTS (self_test_sizes); i++)
    g_ptr_array_add (first, self_test_download (app, server, directory, self_test_sizes[i]));
  cut = self_test_download (app, server, directory, CUT_FILE_SIZE);
  download_cut_after (cut, CUT_AFTER_BYTES);
  g_curl_transfer_set_max_download_speed (cut->transfer, CUT_FILE_SPEED);
  g_ptr_array_add (first, cut);

  run_downloads (app, first);

  for (guint i = 0; i + 1 < first->len; i++)
    {
      if (!report_download (g_ptr_array_index (first, i)))
        all_ok = FALSE;
    }

  if (app->interrupted)
    report_download (cut);
  else if (check_cut (cut, &kept))
    {
      Download *resumed = self_test_download (app, server, directory, CUT_FILE_SIZE);

      g_print ("Downloading %s again, with G_CURL_DOWNLOAD_RESUME:\n", resumed->name);
      g_ptr_array_add (second, resumed);
      run_downloads (app, second);

      if (!report_download (resumed) || !check_resumed (resumed, kept))
        all_ok = FALSE;
    }
  else
    all_ok = FALSE;

  example_server_stop (server);
  if (!remove_directory (path))
    {
      g_printerr ("Cannot remove %s\n", path);
      all_ok = FALSE;
    }

  if (app->interrupted)
    {
      g_print ("Interrupted; the temporary directory is removed.\n");
      return EXIT_INTERRUPTED;
    }

  g_print ("%s\n", all_ok ? "All checks passed; the temporary directory is removed."
                          : "Some checks FAILED.");
  return all_ok ? 0 : 1;
}

/* ------------------------------------------------------------------------ */

static gboolean
on_sigint (gpointer user_data)
{
  App *app = user_data;

  app->interrupted = TRUE;
  g_cancellable_cancel (app->cancellable);

  /* A second Ctrl-C kills the program, as usual. */
  app->sigint_id = 0;
  return G_SOURCE_REMOVE;
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *directory = NULL;
  gboolean no_resume = FALSE;
  const GOptionEntry entries[] = {
    { "directory", 'd', G_OPTION_FLAG_NONE, G_OPTION_ARG_FILENAME, &directory,
      "Save the files in DIR (default: the current directory)", "DIR" },
    { "no-resume", 0, G_OPTION_FLAG_NONE, G_OPTION_ARG_NONE, &no_resume,
      "Start over instead of continuing .part files", NULL },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr(GOptionContext) options = NULL;
  g_autoptr(GError) error = NULL;
  App app = { NULL, };
  const char *term = g_getenv ("TERM");
  int status;

  setlocale (LC_ALL, "");

  options = g_option_context_new ("[URL…]");
  g_option_context_set_summary (options,
                                "Downloads every URL at once into a file named after it; "
                                "run it again to resume.\nWith no URL, downloads generated "
                                "files from a built-in local server, checks them and shows "
                                "a resume.");
  g_option_context_add_main_entries (options, entries, NULL);
  if (!g_option_context_parse (options, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }

  /* The multi runs its transfers on the thread-default main context: here
   * the global default one, which run_downloads() runs. */
  app.multi = g_curl_multi_new ();
  g_object_set (app.multi, "progress-interval", PROGRESS_INTERVAL_MS, NULL);
  app.flags = G_CURL_DOWNLOAD_OVERWRITE | (no_resume ? 0 : G_CURL_DOWNLOAD_RESUME);
  app.cancellable = g_cancellable_new ();
  app.tty = isatty (STDOUT_FILENO) && g_strcmp0 (term, "dumb") != 0;
  app.sigint_id = g_unix_signal_add (SIGINT, on_sigint, &app);

  if (argc > 1)
    status = download_urls (&app, directory != NULL ? directory : ".", argv + 1);
  else
    status = self_test (&app);

  if (app.sigint_id != 0)
    g_source_remove (app.sigint_id);
  g_object_unref (app.cancellable);
  g_object_unref (app.multi);

  return status;
}

/* gcurl-get.c: download URLs concurrently with one GCurlMulti
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Usage:
 *   gcurl-get URL…   downloads every URL at once on one GMainLoop, prints
 *                    their progress, then for each one its HTTP status, size
 *                    and SHA-256 (or why it failed)
 *   gcurl-get        with no URL, serves a few generated files from a small
 *                    HTTP server on 127.0.0.1 inside this process, downloads
 *                    them and checks that every byte arrived
 *
 * Exits with 0 only if every transfer succeeded with an HTTP status below 400
 * (and, with no URL, every checksum matched).
 *
 * Only the public API is used: this is how an application would use the
 * library. The built-in server is example-server.c, shared with
 * gcurl-download.
 */

#include <locale.h>

#include <gcurlmulti.h>

#include "example-server.h"

/* At most one "progress" line per transfer in this many milliseconds. */
#define PROGRESS_INTERVAL_MS 200

/* With no URL: the generated files downloaded from the built-in server. */
static const guint64 self_test_sizes[] = { 1024, 1024 * 1024, 8 * 1024 * 1024 };

/* ------------------------------------------------------------------------ */
/* The client: one GCurlMulti, one GCurlTransfer per URL                    */
/* ------------------------------------------------------------------------ */

typedef struct
{
  GCurlTransfer *transfer;
  guint          number;        /* 1-based, for the printed lines */
  char          *expected_sha256;  /* with no URL given: what must arrive */
} Download;

typedef struct
{
  GMainLoop *loop;
  guint      n_running;         /* transfers not finished yet */
} Client;

static void
download_free (Download *download)
{
  g_object_unref (download->transfer);
  g_free (download->expected_sha256);
  g_free (download);
}

/* Emitted at most once per "progress-interval" while the transfer moves,
 * and once more with the final figures just before "finished". */
static void
on_progress (GCurlTransfer *transfer,
             gint64         downloaded,
             gint64         download_size,
             gint64         uploaded    G_GNUC_UNUSED,
             gint64         upload_size G_GNUC_UNUSED,
             gpointer       user_data)
{
  Download *download = user_data;

  if (download_size < 0)
    g_print ("[%u] %" G_GINT64_FORMAT " bytes (size unknown)\n",
             download->number, downloaded);
  else
    g_print ("[%u] %" G_GINT64_FORMAT " / %" G_GINT64_FORMAT " bytes (%3.0f%%)\n",
             download->number, downloaded, download_size,
             100.0 * g_curl_transfer_get_fraction (transfer));
}

/* Emitted exactly once per transfer, from the main loop, after its last
 * "progress": quit when the last transfer is done. */
static void
on_finished (GCurlTransfer *transfer,
             gpointer       user_data)
{
  Client *client = user_data;

  g_print ("[%s] %s\n",
           g_curl_transfer_get_state (transfer) == G_CURL_TRANSFER_STATE_SUCCEEDED ?
           "done" : "failed",
           g_curl_transfer_get_url (transfer));

  if (--client->n_running == 0)
    g_main_loop_quit (client->loop);
}

/* Prints the outcome of @download; returns whether it counts as a success. */
static gboolean
report (Download *download)
{
  GCurlTransfer *transfer = download->transfer;
  const GError *error = g_curl_transfer_get_error (transfer);
  g_autoptr(GBytes) body = NULL;
  g_autofree char *sha256 = NULL;

  g_print ("[%u] %s\n", download->number, g_curl_transfer_get_url (transfer));

  /* A status of 400 or more is an error too (fail-on-http-error): its
   * message names the status, the reason phrase and the URL. */
  if (g_curl_transfer_get_state (transfer) != G_CURL_TRANSFER_STATE_SUCCEEDED)
    {
      g_print ("    error: %s (%s, code %d)\n",
               error != NULL ? error->message : "unknown",
               error != NULL ? g_quark_to_string (error->domain) : "none",
               error != NULL ? error->code : 0);
      return FALSE;
    }

  body = g_curl_transfer_get_body (transfer);
  sha256 = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, body);
  g_print ("    HTTP %u, %" G_GSIZE_FORMAT " bytes, SHA-256 %s\n",
           g_curl_transfer_get_status_code (transfer), g_bytes_get_size (body), sha256);

  if (download->expected_sha256 != NULL)
    {
      gboolean match = (g_strcmp0 (sha256, download->expected_sha256) == 0);

      g_print ("    %s\n", match ? "checksum OK: the bytes the server generated"
                                 : "checksum MISMATCH: the body is corrupt");
      if (!match)
        return FALSE;
    }

  return TRUE;
}

static void
print_backend (GCurlMulti *multi)
{
  GEnumClass *klass = g_type_class_ref (G_CURL_TYPE_SOURCE_BACKEND);
  GEnumValue *value = g_enum_get_value (klass, g_curl_multi_get_backend (multi));

  g_print ("socket backend: %s (set GCURL_BACKEND=epoll or fds to choose)\n",
           value != NULL ? value->value_nick : "unknown");
  g_type_class_unref (klass);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) options = NULL;
  g_autoptr(GError) error = NULL;
  Client client = { NULL, 0 };
  g_autoptr(GCurlMulti) multi = NULL;
  g_autoptr(GPtrArray) downloads = NULL;
  ExampleServer *server = NULL;
  gboolean all_ok = TRUE;

  setlocale (LC_ALL, "");

  options = g_option_context_new ("[URL…]");
  g_option_context_set_summary (options,
                                "Downloads every URL at once and prints its status, "
                                "size and SHA-256.\nWith no URL, downloads generated "
                                "files from a built-in local server and checks them.");
  if (!g_option_context_parse (options, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }

  /* The multi runs its transfers on the thread-default main context: here
   * the global default one, which client.loop runs below. */
  multi = g_curl_multi_new ();
  g_object_set (multi,
                "progress-interval", PROGRESS_INTERVAL_MS,
                "fail-on-http-error", TRUE,  /* a 404 is a failure, not a page */
                NULL);
  print_backend (multi);

  downloads = g_ptr_array_new_with_free_func ((GDestroyNotify) download_free);

  if (argc > 1)
    {
      for (int i = 1; i < argc; i++)
        {
          Download *download = g_new0 (Download, 1);

          download->transfer = g_curl_transfer_new (argv[i]);
          g_ptr_array_add (downloads, download);
        }
    }
  else
    {
      server = example_server_start (&error);
      if (server == NULL)
        {
          g_printerr ("Cannot start the local server: %s\n", error->message);
          return 1;
        }

      g_print ("No URL given: downloading generated files from http://127.0.0.1:%u/\n",
               example_server_get_port (server));

      for (gsize i = 0; i < G_N_ELEMENTS (self_test_sizes); i++)
        {
          Download *download = g_new0 (Download, 1);
          g_autofree char *url = NULL;

          url = example_server_get_file_url (server, self_test_sizes[i]);
          download->transfer = g_curl_transfer_new (url);
          download->expected_sha256 = example_server_expected_sha256 (self_test_sizes[i]);

          /* Any libcurl option is still at hand through the easy handle:
           * never send these requests to a proxy from the environment. */
          curl_easy_setopt (g_curl_transfer_get_handle (download->transfer),
                            CURLOPT_NOPROXY, "127.0.0.1");

          g_ptr_array_add (downloads, download);
        }
    }

  /* Start them all: they run concurrently as soon as the loop runs. */
  client.loop = g_main_loop_new (NULL, FALSE);
  for (guint i = 0; i < downloads->len; i++)
    {
      Download *download = g_ptr_array_index (downloads, i);

      download->number = i + 1;
      g_signal_connect (download->transfer, "progress", G_CALLBACK (on_progress), download);
      g_signal_connect (download->transfer, "finished", G_CALLBACK (on_finished), &client);
      g_curl_multi_add_transfer (multi, download->transfer);
      client.n_running++;
    }

  g_main_loop_run (client.loop);
  g_main_loop_unref (client.loop);

  g_print ("\n");
  for (guint i = 0; i < downloads->len; i++)
    {
      if (!report (g_ptr_array_index (downloads, i)))
        all_ok = FALSE;
    }

  if (server != NULL)
    {
      example_server_stop (server);
      g_print ("\n%s\n", all_ok ? "All generated files arrived intact."
                                : "Some downloads failed.");
    }

  return all_ok ? 0 : 1;
}

/* getting-started.c: one transfer, its signals and a main loop */

#include <gcurlmulti.h>

static void
on_got_headers (GCurlTransfer *transfer,
                gpointer       user_data)
{
  const char *type;

  type = g_curl_transfer_get_response_header (transfer, "Content-Type");
  g_print ("HTTP %u, %s\n", g_curl_transfer_get_status_code (transfer),
           type != NULL ? type : "no Content-Type");
}

static void
on_progress (GCurlTransfer *transfer,
             gint64         downloaded,
             gint64         download_size,
             gint64         uploaded,
             gint64         upload_size,
             gpointer       user_data)
{
  if (download_size >= 0)
    g_print ("%" G_GINT64_FORMAT " of %" G_GINT64_FORMAT " bytes\n",
             downloaded, download_size);
  else
    g_print ("%" G_GINT64_FORMAT " bytes\n", downloaded);
}

static void
on_finished (GCurlTransfer *transfer,
             gpointer       user_data)
{
  GMainLoop *loop = user_data;
  const GError *error = g_curl_transfer_get_error (transfer);

  if (error != NULL)
    {
      g_printerr ("%s: %s\n", g_curl_transfer_get_url (transfer),
                  error->message);
    }
  else
    {
      g_autoptr(GBytes) body = g_curl_transfer_get_body (transfer);

      g_print ("%" G_GSIZE_FORMAT " bytes in memory\n",
               g_bytes_get_size (body));
    }

  g_main_loop_quit (loop);
}

int
main (int   argc,
      char *argv[])
{
  const char *url = argc > 1 ? argv[1] : "https://example.org/";
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(GCurlMulti) multi = g_curl_multi_new ();
  g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (url);

  g_curl_transfer_set_request_header (transfer, "Accept", "text/html");
  g_signal_connect (transfer, "got-headers", G_CALLBACK (on_got_headers), NULL);
  g_signal_connect (transfer, "progress", G_CALLBACK (on_progress), NULL);
  g_signal_connect (transfer, "finished", G_CALLBACK (on_finished), loop);

  g_curl_multi_add_transfer (multi, transfer);
  g_main_loop_run (loop);

  if (g_curl_transfer_get_state (transfer) != G_CURL_TRANSFER_STATE_SUCCEEDED)
    return 1;
  return 0;
}

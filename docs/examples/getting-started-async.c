/* getting-started-async.c: the same with g_curl_multi_send_and_read_async() */

#include <gcurlmulti.h>

typedef struct
{
  GMainLoop     *loop;
  GCurlTransfer *transfer;
  int            exit_status;
} App;

static void
on_read (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  App *app = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = NULL;

  body = g_curl_multi_send_and_read_finish (G_CURL_MULTI (source), result,
                                            &error);
  if (body == NULL)
    {
      /* G_CURL_ERROR with the CURLcode (a 404 is
       * G_CURL_ERROR_HTTP_RETURNED_ERROR), or G_IO_ERROR_CANCELLED */
      g_printerr ("failed: %s\n", error->message);
    }
  else
    {
      g_print ("HTTP %u, %" G_GSIZE_FORMAT " bytes\n",
               g_curl_transfer_get_status_code (app->transfer),
               g_bytes_get_size (body));
      app->exit_status = 0;
    }

  g_main_loop_quit (app->loop);
}

static gboolean
give_up (gpointer user_data)
{
  g_cancellable_cancel (user_data);
  return G_SOURCE_REMOVE;
}

int
main (int   argc,
      char *argv[])
{
  const char *url = argc > 1 ? argv[1] : "https://example.org/";
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(GCurlMulti) multi = g_curl_multi_new ();
  g_autoptr(GCurlTransfer) transfer = g_curl_transfer_new (url);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GSource) timeout = g_timeout_source_new_seconds (30);
  App app = { loop, transfer, 1 };

  /* A status of 400 or more fails, with the status, reason phrase and URL
   * in the message. */
  g_object_set (multi, "fail-on-http-error", TRUE, NULL);

  /* After 30 seconds, cancel: the callback then gets G_IO_ERROR_CANCELLED. */
  g_source_set_callback (timeout, give_up, cancellable, NULL);
  g_source_attach (timeout, NULL);

  g_curl_multi_send_and_read_async (multi, transfer, cancellable,
                                    on_read, &app);
  g_main_loop_run (loop);

  g_source_destroy (timeout);
  return app.exit_status;
}

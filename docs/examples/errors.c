/* errors.c: telling failures apart, in C */

#include <gcurlmulti.h>

typedef struct
{
  GMainLoop *loop;
  int        exit_status;
} App;

static const char *
describe (const GError *error)
{
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return "cancelled";
  if (g_error_matches (error, G_CURL_ERROR,
                       G_CURL_ERROR_COULDNT_RESOLVE_HOST) ||
      g_error_matches (error, G_CURL_ERROR, G_CURL_ERROR_COULDNT_CONNECT))
    return "the server cannot be reached";
  if (g_error_matches (error, G_CURL_ERROR, G_CURL_ERROR_OPERATION_TIMEDOUT))
    return "the server stopped sending";
  /* A status of 400 or more: with fail-on-http-error, and downloads. */
  if (g_error_matches (error, G_CURL_ERROR, G_CURL_ERROR_HTTP_RETURNED_ERROR))
    return "the server answered with an error status";
  /* The next two come from g_curl_multi_download_async() only. */
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_EXISTS))
    return "the file exists already";
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA))
    return "the file is not the expected one";
  /* Any other CURLcode: the code is the CURLcode. */
  if (error->domain == G_CURL_ERROR)
    return curl_easy_strerror ((CURLcode) error->code);
  return "not a libcurl error";
}

/* What failed, and whether the same request may work later (the rule
 * download_async retries by). */
static void
print_failure (const GError *error)
{
  g_print ("failed: %s (%s)%s\n", describe (error), error->message,
           g_curl_error_is_transient (error) ? "; worth trying again later"
                                             : "");
}

/* After g_curl_multi_add_transfer(): the transfer's error and status. */
static void
on_finished (GCurlTransfer *transfer,
             gpointer       user_data)
{
  App *app = user_data;
  const GError *error = g_curl_transfer_get_error (transfer);

  if (error != NULL)
    print_failure (error);
  else
    g_print ("HTTP %u\n", g_curl_transfer_get_status_code (transfer));

  app->exit_status = error == NULL ? 0 : 1;
  g_main_loop_quit (app->loop);
}

/* After g_curl_multi_download_async(): the download's error. */
static void
on_downloaded (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  App *app = user_data;
  g_autoptr(GError) error = NULL;

  if (g_curl_multi_download_finish (G_CURL_MULTI (source), result, &error))
    g_print ("saved\n");
  else
    print_failure (error);

  app->exit_status = error == NULL ? 0 : 1;
  g_main_loop_quit (app->loop);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(GCurlMulti) multi = g_curl_multi_new ();
  g_autoptr(GCurlTransfer) transfer = NULL;
  App app = { loop, 1 };

  if (argc < 2)
    {
      g_printerr ("usage: errors URL [FILE]\n");
      return 2;
    }

  /* A 404 fails the transfer too, not only a download: the error page
   * stays readable with g_curl_transfer_get_body(). */
  g_object_set (multi, "fail-on-http-error", TRUE, NULL);

  transfer = g_curl_transfer_new (argv[1]);
  if (argc > 2)
    {
      g_autoptr(GFile) file = g_file_new_for_commandline_arg (argv[2]);

      g_curl_multi_download_async (multi, transfer, file, G_CURL_DOWNLOAD_NONE,
                                   NULL, on_downloaded, &app);
    }
  else
    {
      g_signal_connect (transfer, "finished", G_CALLBACK (on_finished), &app);
      g_curl_multi_add_transfer (multi, transfer);
    }

  g_main_loop_run (loop);
  return app.exit_status;
}

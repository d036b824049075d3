/* downloads.c: save a file into a folder, resumably, from mirrors */

#include <gcurlmulti.h>

typedef struct
{
  GMainLoop *loop;
  int        exit_status;
} App;

/* Once the final response has named the file. */
static void
on_destination (GCurlTransfer *transfer,
                GParamSpec    *pspec,
                gpointer       user_data)
{
  GFile *destination = g_curl_transfer_get_destination (transfer);

  if (destination != NULL)
    g_print ("saving to %s\n", g_file_peek_path (destination));
}

/* Once per attempt: a failed one may be followed by another. */
static void
on_finished (GCurlTransfer *transfer,
             gpointer       user_data)
{
  const GError *error = g_curl_transfer_get_error (transfer);

  if (error != NULL)
    g_print ("attempt at %s failed: %s\n",
             g_curl_transfer_get_effective_url (transfer), error->message);
}

/* Once per download, with its outcome. */
static void
on_downloaded (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  App *app = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GFile) file = NULL;

  file = g_curl_multi_download_to_directory_finish (G_CURL_MULTI (source),
                                                    result, &error);
  if (file == NULL)
    g_print ("failed: %s\n", error->message);
  else
    g_print ("saved %s\n", g_file_peek_path (file));

  app->exit_status = file != NULL ? 0 : 1;
  g_main_loop_quit (app->loop);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GMainLoop) loop = NULL;
  g_autoptr(GCurlMulti) multi = NULL;
  g_autoptr(GCurlTransfer) transfer = NULL;
  g_autoptr(GFile) directory = NULL;
  App app = { NULL, 1 };

  if (argc < 3)
    {
      g_printerr ("usage: %s DIRECTORY URL [MIRROR…]\n", argv[0]);
      return 2;
    }

  loop = g_main_loop_new (NULL, FALSE);
  app.loop = loop;
  multi = g_curl_multi_new ();
  /* Up to two more rounds after transient failures, the first after
   * about half a second, the next twice as long. */
  g_object_set (multi, "download-retries", 2, "retry-delay", 500, NULL);

  transfer = g_curl_transfer_new (argv[2]);
  /* The other URLs of the same file, tried in order when one fails. */
  g_curl_transfer_set_mirrors (transfer, (const char * const *) argv + 3);
  g_signal_connect (transfer, "notify::destination",
                    G_CALLBACK (on_destination), NULL);
  g_signal_connect (transfer, "finished", G_CALLBACK (on_finished), NULL);

  /* Named by the server (Content-Disposition, else the URL); with RESUME,
   * the .part an earlier run left there is continued. */
  directory = g_file_new_for_commandline_arg (argv[1]);
  g_curl_multi_download_to_directory_async (multi, transfer, directory,
                                            G_CURL_DOWNLOAD_RESUME, NULL,
                                            on_downloaded, &app);
  g_main_loop_run (loop);

  return app.exit_status;
}

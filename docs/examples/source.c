/* source.c: the application's own CURLM and easy handles, on a GCurlSource */

#include <gcurlmulti.h>

typedef struct
{
  GMainLoop *loop;
  CURLM     *multi;
  guint      running;
  guint      failed;
} App;

static size_t
discard_body (char   *data,
              size_t  size,
              size_t  count,
              void   *user_data)
{
  return size * count;
}

static gboolean
on_done (CURLMsg  *message,
         gpointer  user_data)
{
  App *app = user_data;
  CURL *easy = message->easy_handle;
  const char *url = NULL;
  long status = 0;

  curl_easy_getinfo (easy, CURLINFO_EFFECTIVE_URL, &url);
  curl_easy_getinfo (easy, CURLINFO_RESPONSE_CODE, &status);
  if (message->data.result == CURLE_OK)
    {
      g_print ("%s: HTTP %ld\n", url, status);
    }
  else
    {
      g_printerr ("%s: %s\n", url, curl_easy_strerror (message->data.result));
      app->failed++;
    }

  /* The easy handle is the application's: it removes and frees it. */
  curl_multi_remove_handle (app->multi, easy);
  curl_easy_cleanup (easy);

  if (--app->running == 0)
    g_main_loop_quit (app->loop);

  return G_SOURCE_CONTINUE;
}

int
main (int   argc,
      char *argv[])
{
  App app = { NULL, NULL, 0, 0 };
  GSource *source;
  int i;

  curl_global_init (CURL_GLOBAL_DEFAULT);
  app.loop = g_main_loop_new (NULL, FALSE);
  app.multi = curl_multi_init ();

  /* Installs the socket and timer functions on the multi handle. */
  source = g_curl_source_new (app.multi);
  g_source_set_callback (source, G_SOURCE_FUNC (on_done), &app, NULL);
  g_source_attach (source, NULL);

  for (i = 1; i < argc; i++)
    {
      CURL *easy = curl_easy_init ();

      curl_easy_setopt (easy, CURLOPT_URL, argv[i]);
      curl_easy_setopt (easy, CURLOPT_PROTOCOLS_STR, "http,https");
      curl_easy_setopt (easy, CURLOPT_WRITEFUNCTION, discard_body);
      /* Added: libcurl sets its timer to 0, and the source starts it. */
      curl_multi_add_handle (app.multi, easy);
      app.running++;
    }

  if (app.running > 0)
    g_main_loop_run (app.loop);

  /* The source first (it takes its functions off the multi), the multi last. */
  g_source_destroy (source);
  g_source_unref (source);
  curl_multi_cleanup (app.multi);
  g_main_loop_unref (app.loop);
  curl_global_cleanup ();

  return app.failed == 0 ? 0 : 1;
}

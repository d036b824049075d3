/* threads.c: one thread per URL, each with its own main context and multi */

#include <gcurlmulti.h>

typedef struct
{
  const char *url;
  GMainLoop  *loop;
  gboolean    ok;
} Job;

static void
on_read (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  Job *job = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = NULL;

  /* Called in the job's thread: its context was the thread-default one
   * when g_curl_multi_send_and_read_async() was called. */
  body = g_curl_multi_send_and_read_finish (G_CURL_MULTI (source), result,
                                            &error);
  if (body != NULL)
    g_print ("%s: %" G_GSIZE_FORMAT " bytes\n",
             job->url, g_bytes_get_size (body));
  else
    g_printerr ("%s: %s\n", job->url, error->message);

  job->ok = body != NULL;
  g_main_loop_quit (job->loop);
}

static gpointer
run_job (gpointer data)
{
  Job *job = data;
  GMainContext *context = g_main_context_new ();
  GCurlMulti *multi;
  GCurlTransfer *transfer;

  /* From here on, this thread's thread-default context is its own. */
  g_main_context_push_thread_default (context);

  multi = g_curl_multi_new ();      /* belongs to context */
  transfer = g_curl_transfer_new (job->url);
  job->loop = g_main_loop_new (context, FALSE);

  g_curl_multi_send_and_read_async (multi, transfer, NULL, on_read, job);
  g_main_loop_run (job->loop);

  /* Everything is dropped in the thread that used it. */
  g_object_unref (transfer);
  g_object_unref (multi);
  g_main_loop_unref (job->loop);
  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);

  return NULL;
}

int
main (int   argc,
      char *argv[])
{
  g_autofree Job *jobs = g_new0 (Job, MAX (argc - 1, 1));
  g_autofree GThread **threads = g_new0 (GThread *, MAX (argc - 1, 1));
  int failed = 0;
  int i;

  for (i = 0; i < argc - 1; i++)
    {
      jobs[i].url = argv[i + 1];
      threads[i] = g_thread_new ("fetch", run_job, &jobs[i]);
    }

  for (i = 0; i < argc - 1; i++)
    {
      g_thread_join (threads[i]);
      if (!jobs[i].ok)
        failed++;
    }

  return failed == 0 ? 0 : 1;
}

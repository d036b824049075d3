/* gcurl-engine.c: the CURLM and the runs on it
 *
 * See gcurl-engine-private.h. The queues hold links embedded in the runs,
 * so nothing is allocated per run or per event; a run with events to
 * report is in exactly one of dirty, held and finishing, and remembers
 * which (GList links alone cannot tell).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <glib/gi18n-lib.h>

#include "gcurl-engine-private.h"
#include "gcurl-error.h"
#include "gcurl-source-private.h"
#include "gcurl-util-private.h"

struct _GCurlEngine
{
  GMainContext *context;        /* (owned) */
  GObject      *owner;          /* (unowned): refed by each run, and while
                                 * a flush or the watchdog runs */
  CURLM        *handle;         /* (owned) */
  GSource      *source;         /* (owned): drives handle */

  GQueue        running;        /* runs added and not finished: each holds a
                                 * reference to its object */
  GQueue        dirty;          /* recorded events to report */
  GQueue        held;           /* progress held back by the interval */
  GQueue        finishing;      /* "finished" to emit */
  GQueue        rate_waiting;   /* paused by their speed limit */
  gint64        interval;       /* µs between progress reports of a run */
  gboolean      flushing;

  GSource      *watchdog;       /* (owned): stall checks, ready when one is due */
  gint64        watchdog_due;   /* its ready time, -1 for none */

  GFunc         count_func;     /* (nullable): the number of runs changed */
  gpointer      count_data;
  GCurlEngineEndedFunc ended_func;  /* (nullable): a run's "finished" was emitted */

  gint64        max_speed;      /* bytes/s shared by the runs, 0: none */
  gboolean      limited;        /* connection limits: libcurl may queue runs */
  guint64       rate_waits;     /* test hook: runs held back by a limit */
};

static void
queue_move (GCurlRun *run,
            GQueue   *to)
{
  if (run->queue == to)
    return;
  if (run->queue != NULL)
    g_queue_unlink (run->queue, &run->event_link);
  if (to != NULL)
    g_queue_push_tail_link (to, &run->event_link);
  run->queue = to;
}

static GCurlRun *
queue_pop (GQueue *queue)
{
  GList *link = g_queue_peek_head_link (queue);
  GCurlRun *run;

  if (link == NULL)
    return NULL;

  run = link->data;
  queue_move (run, NULL);
  return run;
}

static void
rate_queue_remove (GCurlEngine *self,
                   GCurlRun    *run)
{
  if (!run->rate_waiting)
    return;

  g_queue_unlink (&self->rate_waiting, &run->rate_link);
  run->rate_waiting = FALSE;
}

static void
count_changed (GCurlEngine *self)
{
  if (self->count_func != NULL)
    self->count_func (self->owner, self->count_data);
}

static void
remove_handle (GCurlEngine *self,
               GCurlRun    *run)
{
  CURLMcode mcode = curl_multi_remove_handle (self->handle, run->easy);

  run->in_curl = FALSE;
  if (mcode != CURLM_OK)
    g_warning ("curl_multi_remove_handle() failed for %s: %s",
               run->funcs->describe (run), curl_multi_strerror (mcode));
}

/* Completions: libcurl is done with a handle (a redirect to follow, or the
 * end of the run), with @result. */
static void
run_completed (GCurlEngine *self,
               GCurlRun    *run,
               CURLcode     result)
{
  GCurlRunDoneAction action;
  CURLMcode mcode;

  remove_handle (self, run);
  GCURL_RUN_DEBUG (run, "%p %s: libcurl done: %s", run->object, run->funcs->describe (run),
                   curl_easy_strerror (result));

  action = run->funcs->done (run, result);
  /* Out of libcurl, still running: application code decides what comes
   * next, from the flush (never from here). */
  if (action == G_CURL_RUN_HOLD)
    {
      queue_move (run, &self->dirty);
      return;
    }

  if (action == G_CURL_RUN_RESTART)
    {
      mcode = curl_multi_add_handle (self->handle, run->easy);
      run->in_curl = mcode == CURLM_OK;
      if (mcode == CURLM_OK)
        return;

      run->funcs->fail (run, g_error_new (G_CURL_ERROR, G_CURL_ERROR_FAILED_INIT,
                                          _("Could not follow the redirect of %s: %s"),
                                          run->funcs->describe (run),
                                          curl_multi_strerror (mcode)));
    }

  /* A completed run's remaining events are reported with "finished". */
  run->completed = TRUE;
  queue_move (run, &self->finishing);
  rate_queue_remove (self, run);
}

static gboolean
on_message (CURLMsg  *message,
            gpointer  user_data)
{
  GCurlEngine *self = user_data;
  GCurlRun *run = NULL;

  curl_easy_getinfo (message->easy_handle, CURLINFO_PRIVATE, &run);
  if (run != NULL && run->engine == self && !run->completed)
    run_completed (self, run, message->data.result);

  return G_SOURCE_CONTINUE;
}

/* The connection limits grew: libcurl 7.88 looks at its queue again only
 * when a transfer leaves it, so the runs still @waiting for a connection
 * (none of their requests sent) go through it again, now. */
void
g_curl_engine_requeue (GCurlEngine *self,
                       gboolean   (*waiting) (GCurlRun *run))
{
  GList *l, *next;

  for (l = self->running.head; l != NULL; l = next)
    {
      GCurlRun *run = l->data;
      CURLMcode mcode;

      next = l->next;
      if (!run->in_curl || run->completed || !waiting (run))
        continue;
      GCURL_RUN_DEBUG (run, "%p %s: queued again", run->object, run->funcs->describe (run));
      remove_handle (self, run);
      mcode = curl_multi_add_handle (self->handle, run->easy);
      run->in_curl = mcode == CURLM_OK;
      if (!run->in_curl)
        g_curl_engine_end_run (run, g_error_new (G_CURL_ERROR, G_CURL_ERROR_FAILED_INIT,
                                                 _("Could not start the transfer of %s: %s"),
                                                 run->funcs->describe (run),
                                                 curl_multi_strerror (mcode)));
    }
  g_curl_source_wake (self->source, 0);
}

/* The run is over as if libcurl had completed it with @result: its
 * transfer ended it in libcurl's stead (a body it wants no more of, which
 * curl_easy_pause() reported as a write error). Not from inside libcurl. */
void
g_curl_engine_complete_run (GCurlRun *run,
                            CURLcode  result)
{
  if (run->engine == NULL || run->completed)
    return;

  run_completed (run->engine, run, result);
  g_curl_source_wake (run->engine->source, 0);
}

/* Resumes the runs whose speed limit allows more data now. */
static void
resume_rate_limited (GCurlEngine *self,
                     gint64       now)
{
  GQueue due = G_QUEUE_INIT;
  gint64 next = -1;
  GList *l, *next_link;
  GCurlRun *run;

  for (l = self->rate_waiting.head; l != NULL; l = next_link)
    {
      run = l->data;
      next_link = l->next;
      if (run->rate_resume_at <= now)
        {
          rate_queue_remove (self, run);
          g_object_ref (run->object);
          g_queue_push_tail (&due, run);
        }
      else if (next < 0 || run->rate_resume_at < next)
        next = run->rate_resume_at;
    }

  /* Resuming runs the write callback, which may queue them again. */
  while ((run = g_queue_pop_head (&due)) != NULL)
    {
      GObject *object = run->object;

      run->funcs->rate_resume (run);
      g_object_unref (object);
    }

  if (next >= 0)
    g_curl_source_wake (self->source, next);
}

/* Makes the watchdog look at the runs at @due (monotonic µs), unless it
 * will sooner. Deadlines only move later as data arrives, so a look
 * scheduled for the earliest one known is never late; when it finds
 * nothing due, it sleeps until the next. No run that can stall, no
 * wakeup. */
static void
schedule_watchdog (GCurlEngine *self,
                   gint64       due)
{
  if (due < 0 || (self->watchdog_due >= 0 && self->watchdog_due <= due))
    return;

  self->watchdog_due = due;
  g_source_set_ready_time (self->watchdog, due);
}

static gboolean
watchdog_cb (gpointer user_data)
{
  GCurlEngine *self = user_data;
  gint64 now = g_get_monotonic_time ();
  gint64 next_due = -1;
  gboolean nudge = FALSE;
  GList *l, *next;

  self->watchdog_due = -1;
  g_source_set_ready_time (self->watchdog, -1);

  for (l = self->running.head; l != NULL; l = next)
    {
      GCurlRun *run = l->data;
      GError *error;

      next = l->next;
      error = run->funcs->watch (run, now, &nudge, &next_due);
      if (error != NULL)
        {
          GCURL_RUN_DEBUG (run, "%p %s: stalled", run->object, run->funcs->describe (run));
          /* Whatever stalled may be the connection, not the stream:
           * libcurl 7.88 keeps an HTTP/2 connection whose stream was
           * removed, and the next request would stall on it too. The next
           * run of the handle lifts it. */
          curl_easy_setopt (run->easy, CURLOPT_FORBID_REUSE, 1L);
          run->forbid_reuse = TRUE;
          g_curl_engine_end_run (run, error);
        }
    }

  /* A run without data for a while: make sure libcurl has nothing of it
   * left in its buffers before waiting any longer. */
  if (nudge)
    g_curl_source_nudge (self->source);

  schedule_watchdog (self, next_due);
  GCURL_DEBUG ("watchdog: %u runs, nudge %d, next look in %" G_GINT64_FORMAT " ms",
               self->running.length, nudge, next_due >= 0 ? (next_due - now) / 1000 : -1);

  return G_SOURCE_CONTINUE;
}

static gboolean
watchdog_dispatch (GSource     *source,
                   GSourceFunc  callback,
                   gpointer     user_data)
{
  return callback (user_data);
}

static GSourceFuncs watchdog_funcs = {
  NULL, NULL, watchdog_dispatch, NULL, NULL, NULL,
};

/* The engine lets go of the run and its owner before "finished", so that
 * a handler may start it again; its reference to the run's object goes
 * last. */
static void
finish_run (GCurlEngine *self,
            GCurlRun    *run)
{
  GObject *object = run->object;

  g_assert (run->engine == self);
  g_assert (run->queue == NULL);

  g_queue_unlink (&self->running, &run->running_link);
  /* Ended while its speed limit held it back. */
  rate_queue_remove (self, run);
  run->engine = NULL;
  count_changed (self);

  g_clear_object (&run->keepalive);
  GCURL_RUN_DEBUG (run, "%p %s: finished", run->object, run->funcs->describe (run));
  run->funcs->finish (run);
  if (self->ended_func != NULL && run->engine != self)
    self->ended_func (self->owner, object);
  g_object_unref (object);
}

/* After every dispatch of the source, once libcurl has returned: the one
 * place where the runs' objects report what happened, and so where
 * application code runs (signal handlers). */
static void
flush_cb (gpointer user_data)
{
  GCurlEngine *self = user_data;
  gint64 next_due = -1;
  gboolean nudging, nudge_again = FALSE;
  GCurlRun *run;

  /* A handler that spins a nested main loop must not flush again. */
  if (self->flushing)
    return;

  nudging = g_curl_source_is_nudging (self->source);

  /* A handler may drop the last reference to the owner, which frees the
   * engine. */
  g_object_ref (self->owner);
  self->flushing = TRUE;

  if (self->rate_waiting.length > 0)
    resume_rate_limited (self, g_get_monotonic_time ());

  /* Held progress may be due now. */
  while ((run = queue_pop (&self->held)) != NULL)
    queue_move (run, &self->dirty);

  while (self->dirty.length > 0 || self->finishing.length > 0)
    {
      gint64 now = g_get_monotonic_time ();

      while ((run = queue_pop (&self->dirty)) != NULL)
        {
          gint64 due = -1;

          /* Right after libcurl returned: the watchdog learns when the run
           * last received something (and whether libcurl let out more of
           * what it sat on after a nudge: it may have more). */
          schedule_watchdog (self, run->funcs->watch_due (run, now, nudging, &nudge_again));

          /* Held back by the interval, unless a handler queued it again. */
          if (!run->funcs->flush (run, now, self->interval, &due) && run->queue == NULL &&
              run->engine == self)
            {
              queue_move (run, &self->held);
              if (next_due < 0 || due < next_due)
                next_due = due;
            }
        }

      while ((run = queue_pop (&self->finishing)) != NULL)
        {
          finish_run (self, run);
          /* Handlers may have queued more: go round again. */
          if (self->dirty.length > 0)
            break;
        }
    }

  if (next_due >= 0)
    g_curl_source_wake (self->source, next_due);
  if (nudge_again)
    {
      GCURL_DEBUG ("a nudge brought data: nudging again");
      g_curl_source_nudge (self->source);
    }

  self->flushing = FALSE;
  g_object_unref (self->owner);
}

/* An engine on @context, with a source of @backend named @name, for
 * @owner (the multi), which each running run keeps alive. */
GCurlEngine *
g_curl_engine_new (GMainContext       *context,
                   GCurlSourceBackend  backend,
                   GObject            *owner,
                   const char         *name)
{
  GCurlEngine *self = g_new0 (GCurlEngine, 1);

  self->context = g_main_context_ref (context);
  self->owner = owner;
  g_queue_init (&self->running);
  g_queue_init (&self->dirty);
  g_queue_init (&self->held);
  g_queue_init (&self->finishing);
  g_queue_init (&self->rate_waiting);

  self->handle = curl_multi_init ();
  self->source = g_curl_source_new_with_backend (self->handle, backend);
  g_source_set_static_name (self->source, name);
  g_source_set_callback (self->source, G_SOURCE_FUNC (on_message), self, NULL);
  g_curl_source_set_flush_func (self->source, flush_cb, self);
  g_source_attach (self->source, self->context);

  self->watchdog = g_source_new (&watchdog_funcs, sizeof (GSource));
  self->watchdog_due = -1;
  g_source_set_static_name (self->watchdog, "GCurl stall watchdog");
  g_source_set_callback (self->watchdog, watchdog_cb, self, NULL);
  g_source_attach (self->watchdog, self->context);

  return self;
}

/* Ends every run without a "finished" (the owner is being disposed:
 * g_object_run_dispose()). */
void
g_curl_engine_end_all (GCurlEngine *self)
{
  GList *link;

  while ((link = g_queue_peek_head_link (&self->running)) != NULL)
    {
      GCurlRun *run = link->data;
      GObject *object = run->object;

      g_queue_unlink (&self->running, link);
      queue_move (run, NULL);
      rate_queue_remove (self, run);
      curl_multi_remove_handle (self->handle, run->easy);
      run->engine = NULL;
      run->completed = TRUE;
      /* Each running run holds a reference to the owner, so this is not
       * the last one. */
      g_clear_object (&run->keepalive);
      g_object_unref (object);
    }
  count_changed (self);
}

/* The objects of the runs that have not ended, each with a reference of
 * the array's, in the order they started: what a caller may end one by
 * one, whatever ending one does to the others. */
GPtrArray *
g_curl_engine_ref_running (GCurlEngine *self)
{
  GPtrArray *objects = g_ptr_array_new_with_free_func (g_object_unref);
  GList *link;

  for (link = self->running.head; link != NULL; link = link->next)
    {
      GCurlRun *run = link->data;

      if (!run->completed)
        g_ptr_array_add (objects, g_object_ref (run->object));
    }

  return objects;
}

void
g_curl_engine_free (GCurlEngine *self)
{
  g_curl_engine_end_all (self);
  g_curl_clear_source (&self->watchdog);

  /* libcurl closes its cached connections here, through the close-socket
   * callback and the socket callback: the source must still be alive. */
  g_clear_pointer (&self->handle, curl_multi_cleanup);

  g_curl_source_detach_multi (self->source);
  g_source_destroy (self->source);
  g_clear_pointer (&self->source, g_source_unref);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_free (self);
}

CURLM *
g_curl_engine_get_handle (GCurlEngine *self)
{
  return self->handle;
}

GSource *
g_curl_engine_get_source (GCurlEngine *self)
{
  return self->source;
}

GMainContext *
g_curl_engine_get_context (GCurlEngine *self)
{
  return self->context;
}

void
g_curl_engine_set_progress_interval (GCurlEngine *self,
                                     guint        ms)
{
  self->interval = (gint64) ms * 1000;
}

/* Calls @func (owner, @user_data) whenever the number of runs changes. */
void
g_curl_engine_set_count_func (GCurlEngine *self,
                              GFunc        func,
                              gpointer     user_data)
{
  self->count_func = func;
  self->count_data = user_data;
}

/* Calls @func (owner, object) once the "finished" of a run of object's
 * has been emitted, unless a handler started a new run of it in this
 * engine. Not for the runs g_curl_engine_end_all() ends. */
void
g_curl_engine_set_ended_func (GCurlEngine          *self,
                              GCurlEngineEndedFunc  func)
{
  self->ended_func = func;
}

/* The speed limit the runs share, 0 for none: each gets an equal part
 * (see g_curl_engine_get_speed_share()). */
void
g_curl_engine_set_max_download_speed (GCurlEngine *self,
                                      gint64       bytes_per_second)
{
  self->max_speed = MAX (bytes_per_second, 0);
}

/* @run's part of its engine's speed limit, 0 for none: the limit divided
 * by the number of runs, so that a change of either changes it, from the
 * next chunk on. Runs that wait for a connection count too: the parts
 * never add up to more than the limit. */
gint64
g_curl_engine_get_speed_share (GCurlRun *run)
{
  GCurlEngine *self = run->engine;

  if (self == NULL || self->max_speed == 0 || self->running.length == 0)
    return 0;

  return MAX (self->max_speed / self->running.length, 1);
}

/* Whether the CURLM has connection limits, under which libcurl keeps
 * runs waiting for a connection slot: their transfers start QUEUED. */
void
g_curl_engine_set_limited (GCurlEngine *self,
                           gboolean     limited)
{
  self->limited = limited;
}

gboolean
g_curl_engine_is_limited (GCurlEngine *self)
{
  return self != NULL && self->limited;
}

/* Test hook: how many times a run was held back by a speed limit. */
guint64
g_curl_engine_get_rate_waits (GCurlEngine *self)
{
  return self->rate_waits;
}

guint
g_curl_engine_get_n_runs (GCurlEngine *self)
{
  return self->running.length;
}

gint64
g_curl_engine_get_watchdog_due (GCurlEngine *self)
{
  return self->watchdog_due;
}

/* Prepares @run, embedded in @object, for the runs of @easy. */
void
g_curl_run_init (GCurlRun            *run,
                 const GCurlRunFuncs *funcs,
                 GObject             *object,
                 CURL                *easy)
{
  run->funcs = funcs;
  run->object = object;
  run->easy = easy;
  run->running_link.data = run;
  run->event_link.data = run;
  run->rate_link.data = run;
  curl_easy_setopt (easy, CURLOPT_PRIVATE, run);
}

/* A run of @run's object begins: the engine holds it, and it holds the
 * engine's owner, until its "finished". Not yet in libcurl: see
 * g_curl_engine_submit(). */
void
g_curl_engine_start_run (GCurlEngine *self,
                         GCurlRun    *run)
{
  g_assert (run->engine == NULL);

  g_object_ref (run->object);
  run->engine = self;
  run->keepalive = g_object_ref (self->owner);
  run->completed = FALSE;
  run->debug = !g_log_writer_default_would_drop (G_LOG_LEVEL_DEBUG, G_LOG_DOMAIN);
  if (run->forbid_reuse)
    {
      curl_easy_setopt (run->easy, CURLOPT_FORBID_REUSE, 0L);
      run->forbid_reuse = FALSE;
    }
  g_queue_push_tail_link (&self->running, &run->running_link);
  count_changed (self);
}

/* Hands the run's handle to libcurl. */
void
g_curl_engine_submit (GCurlRun *run)
{
  GCurlEngine *self = run->engine;
  CURLMcode mcode;

  /* Started, and not ended since (the proxy chooser checks that before it
   * submits a run that waited for its answer). */
  g_assert (self != NULL);
  g_assert (!run->completed);

  /* The source opens and closes the handle's sockets, so that no watch
   * can outlive its socket. */
  if (run->sockets_source != self->source)
    {
      g_curl_source_own_sockets (self->source, run->easy);
      run->sockets_source = self->source;
    }

  GCURL_RUN_DEBUG (run, "%p %s: submitted", run->object, run->funcs->describe (run));
  mcode = curl_multi_add_handle (self->handle, run->easy);
  run->in_curl = mcode == CURLM_OK;
  if (mcode != CURLM_OK)
    g_curl_engine_end_run (run,
                           g_error_new (G_CURL_ERROR, G_CURL_ERROR_FAILED_INIT,
                                        _("Could not start the transfer of %s: %s"),
                                        run->funcs->describe (run), curl_multi_strerror (mcode)));
}

/* Ends a running run now (cancel, stall, failure to start) with @error,
 * or replaces the outcome of one libcurl has just completed; its
 * "finished" is emitted by the next flush, never from the caller. */
void
g_curl_engine_end_run (GCurlRun *run,
                       GError   *error)
{
  GCurlEngine *self = run->engine;

  g_assert (self != NULL);

  GCURL_RUN_DEBUG (run, "%p %s: ended: %s", run->object, run->funcs->describe (run),
                   error->message);
  if (!run->completed)
    {
      remove_handle (self, run);
      run->completed = TRUE;
      queue_move (run, &self->finishing);
      rate_queue_remove (self, run);
    }

  run->funcs->fail (run, error);
  g_curl_source_wake (self->source, 0);
}

/* Called from libcurl's callbacks: the run has events to report. */
/* A run held by its done() (G_CURL_RUN_HOLD) is over after all: its
 * "finished" comes from the next flush. */
void
g_curl_engine_finish_held (GCurlRun *run)
{
  GCurlEngine *self = run->engine;

  g_assert (self != NULL);
  g_assert (!run->completed);

  GCURL_RUN_DEBUG (run, "%p %s: finished after a hold", run->object, run->funcs->describe (run));
  run->completed = TRUE;
  queue_move (run, &self->finishing);
  rate_queue_remove (self, run);
  g_curl_source_wake (self->source, 0);
}

void
g_curl_engine_mark_dirty (GCurlRun *run)
{
  if (run->engine != NULL && run->queue == NULL)
    queue_move (run, &run->engine->dirty);
}

/* Called from the write callback: the run held its data back for its
 * speed limit until run->rate_resume_at; the flush resumes it then. */
void
g_curl_engine_wait_for_rate (GCurlRun *run)
{
  GCurlEngine *self = run->engine;

  if (self == NULL)
    return;

  self->rate_waits++;
  if (!run->rate_waiting)
    {
      run->rate_waiting = TRUE;
      g_queue_push_tail_link (&self->rate_waiting, &run->rate_link);
    }
  g_curl_source_wake (self->source, run->rate_resume_at);
}

/* Dispatches the source soon, so that its flush runs (a resumed transfer
 * must have its watchdog deadline learnt, an unpaused one its data). */
void
g_curl_engine_wake (GCurlRun *run)
{
  if (run->engine != NULL)
    g_curl_source_wake (run->engine->source, 0);
}

/* gcurl-engine-private.h: the CURLM and the runs on it
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <curl/curl.h>
#include <gio/gio.h>

#include "gcurl-source.h"

G_BEGIN_DECLS

/* The engine sits below the transfers: it owns a CURLM, the GCurlSource
 * that drives it, the queues of runs with events to report, the flush that
 * reports them once libcurl has returned, and the stall watchdog. It knows
 * a transfer only as the GCurlRun record embedded in it, and calls up only
 * through that record's functions (as systemd's CurlGlue knows CurlSlot). */

typedef struct _GCurlEngine GCurlEngine;
typedef struct _GCurlRun    GCurlRun;

/* What to do with a run libcurl has finished with. */
typedef enum
{
  G_CURL_RUN_FINISHED,   /* queue "finished" */
  G_CURL_RUN_RESTART,    /* add the handle again: a redirect */
  G_CURL_RUN_HOLD,       /* out of libcurl, still running, until its flush
                          * decides (a certificate to accept, a challenge to
                          * answer): g_curl_engine_submit(),
                          * g_curl_engine_end_run() or
                          * g_curl_engine_finish_held() then */
} GCurlRunDoneAction;

/* How the engine calls up, always from its main context and never from
 * inside libcurl (but done, called right after libcurl returned the
 * handle). */
typedef struct
{
  /* libcurl is done with the handle (it is out of the CURLM). */
  GCurlRunDoneAction (*done)        (GCurlRun  *run,
                                     CURLcode   result);
  /* Report what libcurl's callbacks recorded; FALSE when a progress
   * report is held back by @interval (µs), *@next_due saying until when.
   * May run application code. */
  gboolean           (*flush)       (GCurlRun  *run,
                                     gint64     now,
                                     gint64     interval,
                                     gint64    *next_due);
  /* The run is over: emit "finished". The engine has let go of the run
   * (it may start again from a handler); it holds @run->object until
   * this returns. */
  void               (*finish)      (GCurlRun  *run);
  /* The run ends with @error (a cancel, a stall, a failure to start). */
  void               (*fail)        (GCurlRun  *run,
                                     GError    *error);
  /* When the watchdog must look at the run next, -1 never (see
   * g_curl_transfer_watch_due()). */
  gint64             (*watch_due)   (GCurlRun  *run,
                                     gint64     now,
                                     gboolean   nudging,
                                     gboolean  *nudge_again);
  /* The watchdog's look: the error the run stalled with, or %NULL. */
  GError            *(*watch)       (GCurlRun  *run,
                                     gint64     now,
                                     gboolean  *nudge,
                                     gint64    *next_due);
  /* The speed limit allows more data now. */
  void               (*rate_resume) (GCurlRun  *run);
  /* The run's URL as messages show it (no password). */
  const char        *(*describe)    (GCurlRun  *run);
} GCurlRunFuncs;

/* Embedded in a transfer. The engine owns the fields below funcs while
 * the run is in it. */
struct _GCurlRun
{
  const GCurlRunFuncs *funcs;
  GObject             *object;        /* the transfer; refed while running */
  CURL                *easy;

  GCurlEngine         *engine;        /* (nullable): while running */
  GObject             *keepalive;     /* (nullable) (owned): the engine's
                                       * owner, while running (DESIGN rule 3) */
  GList                running_link;  /* in running */
  GList                event_link;    /* in dirty, held or finishing */
  GQueue              *queue;         /* which one, or NULL */
  GList                rate_link;     /* in rate_waiting */
  gboolean             rate_waiting;
  gint64               rate_resume_at;   /* µs (monotonic) */
  gboolean             completed;     /* libcurl is done, "finished" queued */
  gboolean             forbid_reuse;  /* CURLOPT_FORBID_REUSE set (a stall) */
  gboolean             debug;         /* debug messages on, asked at its start */
  gboolean             in_curl;       /* its handle is in the CURLM */
  GSource             *sockets_source;   /* whose socket callbacks the
                                          * handle has */
};

/* A debug message about @run. Whether they are on is asked once per run,
 * when it starts: g_log_writer_default_would_drop() reads G_MESSAGES_DEBUG
 * from the environment every time, and a run changes phase several
 * times. Off, a message costs one test. */
#define GCURL_RUN_DEBUG(run, ...) \
  G_STMT_START { \
    if (G_UNLIKELY ((run)->debug)) \
      g_debug (__VA_ARGS__); \
  } G_STMT_END

typedef void (*GCurlEngineEndedFunc) (GObject *owner,
                                      GObject *object);

GCurlEngine *g_curl_engine_new               (GMainContext       *context,
                                              GCurlSourceBackend  backend,
                                              GObject            *owner,
                                              const char         *name);
void         g_curl_engine_free              (GCurlEngine        *engine);
CURLM       *g_curl_engine_get_handle        (GCurlEngine        *engine);
GSource     *g_curl_engine_get_source        (GCurlEngine        *engine);
GMainContext *g_curl_engine_get_context      (GCurlEngine        *engine);
void         g_curl_engine_set_progress_interval (GCurlEngine    *engine,
                                                  guint           ms);
void         g_curl_engine_set_count_func    (GCurlEngine        *engine,
                                              GFunc               func,
                                              gpointer            user_data);
void         g_curl_engine_set_ended_func    (GCurlEngine        *engine,
                                              GCurlEngineEndedFunc func);
void         g_curl_engine_set_max_download_speed (GCurlEngine   *engine,
                                                   gint64         bytes_per_second);
gint64       g_curl_engine_get_speed_share   (GCurlRun           *run);
guint64      g_curl_engine_get_rate_waits    (GCurlEngine        *engine);
void         g_curl_engine_set_limited       (GCurlEngine        *engine,
                                              gboolean            limited);
gboolean     g_curl_engine_is_limited        (GCurlEngine        *engine);
guint        g_curl_engine_get_n_runs        (GCurlEngine        *engine);
gint64       g_curl_engine_get_watchdog_due  (GCurlEngine        *engine);

void         g_curl_run_init                 (GCurlRun           *run,
                                              const GCurlRunFuncs *funcs,
                                              GObject            *object,
                                              CURL               *easy);
void         g_curl_engine_start_run         (GCurlEngine        *engine,
                                              GCurlRun           *run);
void         g_curl_engine_submit            (GCurlRun           *run);
void         g_curl_engine_end_run           (GCurlRun           *run,
                                              GError             *error);
void         g_curl_engine_finish_held       (GCurlRun           *run);
void         g_curl_engine_mark_dirty        (GCurlRun           *run);
void         g_curl_engine_requeue           (GCurlEngine        *engine,
                                              gboolean          (*waiting) (GCurlRun *run));
void         g_curl_engine_complete_run      (GCurlRun           *run,
                                              CURLcode            result);
void         g_curl_engine_wait_for_rate     (GCurlRun           *run);
void         g_curl_engine_wake              (GCurlRun           *run);
void         g_curl_engine_end_all           (GCurlEngine        *engine);
GPtrArray   *g_curl_engine_ref_running       (GCurlEngine        *engine);

G_END_DECLS

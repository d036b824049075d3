/* test-engine.c: the engine alone, driven by a fake run record
 *
 * gcurl-engine.c knows a transfer only through the GCurlRun embedded in it
 * and calls up only through its GCurlRunFuncs. These tests give it runs of
 * their own instead of GCurlTransfers, as systemd's test-curl-util.c tests
 * its CurlGlue alone: a FakeRun is a trivial GObject that embeds the
 * GCurlRun, with a raw easy handle whose write callback is the test's, and
 * every call the engine makes is logged ("A:due A:flush A:done:0
 * A:finish"), so that each test can match the exact sequence the engine's
 * contract promises (gcurl-engine-private.h). Each test has an engine of
 * its own on a main context of its own, and its owner is a plain GObject.
 *
 * The log's words: due (watch_due), flush, done:CURLCODE, finish,
 * fail:DOMAIN:CODE, watch, rate-resume, and two of the test's own:
 * rate-wait (its write callback waited for the speed limit) and finalized
 * (the FakeRun was freed).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include <glib/gstdio.h>

#include "gcurl-engine-private.h"
#include "gcurl-error.h"
#include "test-util.h"

static TestServer *server;

/* The calls of the current test, in order, each "NAME:WHAT". */
static GString *events;

/* The log's words for the errors the tests end runs with. */
static char *ev_cancelled;      /* G_IO_ERROR_CANCELLED */
static char *ev_denied;         /* G_IO_ERROR_PERMISSION_DENIED */
static char *ev_timedout;       /* G_CURL_ERROR_OPERATION_TIMEDOUT */
static char *ev_failed_init;    /* G_CURL_ERROR_FAILED_INIT */

/* Bound of any one wait: generous, only a broken engine reaches it. */
static guint
wait_ms (void)
{
  return test_running_on_valgrind () ? 40000 : 10000;
}

static char *
fail_event (GQuark domain,
            int    code)
{
  return g_strdup_printf ("fail:%s:%d", g_quark_to_string (domain), code);
}

static GError *
cancelled_error (void)
{
  return g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, "cancelled by the test");
}

/* The fixture */

typedef struct
{
  GMainContext *context;
  GObject      *owner;       /* the engine's owner (a GCurlMulti's place) */
  GCurlEngine  *engine;
  GArray       *counts;      /* the engine's n_runs at each count func call */
  guint         fds_before;
} Fixture;

static void
count_cb (gpointer owner,
          gpointer user_data)
{
  Fixture *f = user_data;
  guint n = g_curl_engine_get_n_runs (f->engine);

  g_assert_true (owner == f->owner);
  g_array_append_val (f->counts, n);
}

static GCurlEngine *
engine_new (Fixture *f)
{
  GCurlEngine *engine = g_curl_engine_new (f->context, G_CURL_SOURCE_BACKEND_DEFAULT, f->owner,
                                           "test engine");
  const char *backend = g_getenv ("GCURL_BACKEND");
  GCurlSourceBackend got = g_curl_source_get_backend (g_curl_engine_get_source (engine));

  /* The variant of the test that runs is the one its name says. */
  if (g_strcmp0 (backend, "fds") == 0)
    g_assert_cmpint (got, ==, G_CURL_SOURCE_BACKEND_FDS);
  else if (g_strcmp0 (backend, "epoll") == 0)
    g_assert_cmpint (got, ==, G_CURL_SOURCE_BACKEND_EPOLL);
  g_assert_true (g_curl_engine_get_context (engine) == f->context);
  g_assert_cmpint (g_curl_engine_get_watchdog_due (engine), ==, -1);
  g_curl_engine_set_count_func (engine, count_cb, f);

  return engine;
}

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  events = g_string_new (NULL);
  f->fds_before = test_count_open_fds (server);
  f->context = g_main_context_new ();
  g_main_context_push_thread_default (f->context);
  f->owner = g_object_new (G_TYPE_OBJECT, NULL);
  f->counts = g_array_new (FALSE, FALSE, sizeof (guint));
  f->engine = engine_new (f);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  if (f->engine != NULL)
    {
      g_assert_cmpuint (g_curl_engine_get_n_runs (f->engine), ==, 0);
      g_curl_engine_free (f->engine);
      f->engine = NULL;
    }
  /* Every run let go of the owner. */
  if (f->owner != NULL)
    {
      g_assert_cmpuint (f->owner->ref_count, ==, 1);
      g_object_unref (f->owner);
    }
  while (g_main_context_iteration (f->context, FALSE))
    ;
  g_main_context_pop_thread_default (f->context);
  g_main_context_unref (f->context);
  g_array_unref (f->counts);
  /* The engine's connections, sockets and epoll fd went with it. */
  test_assert_fds_back_to (server, f->fds_before);
  g_string_free (events, TRUE);
  events = NULL;
}

/* Waiting on the fixture's context */

typedef struct
{
  GSource  *source;
  gboolean  expired;
} Deadline;

static gboolean
deadline_cb (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

static void
deadline_start (Deadline     *d,
                GMainContext *context,
                guint         ms)
{
  d->expired = FALSE;
  d->source = g_timeout_source_new (ms);
  g_source_set_callback (d->source, deadline_cb, &d->expired, NULL);
  g_source_attach (d->source, context);
}

static void
deadline_stop (Deadline *d)
{
  g_source_destroy (d->source);
  g_clear_pointer (&d->source, g_source_unref);
}

/* Iterates the fixture's context until @cond holds; fails the test if
 * that takes longer than wait_ms(). */
#define WAIT_UNTIL(f, cond) \
  G_STMT_START { \
    Deadline wait_deadline_; \
    deadline_start (&wait_deadline_, (f)->context, wait_ms ()); \
    while (!(cond) && !wait_deadline_.expired) \
      g_main_context_iteration ((f)->context, TRUE); \
    deadline_stop (&wait_deadline_); \
    if (!(cond)) \
      g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, \
                           "timed out waiting for " #cond); \
  } G_STMT_END

/* Iterates the fixture's context for @ms. */
static void
run_for (Fixture *f,
         guint    ms)
{
  Deadline d;

  deadline_start (&d, f->context, ms);
  while (!d.expired)
    g_main_context_iteration (f->context, TRUE);
  deadline_stop (&d);
}

/* The fake run */

#define FAKE_TYPE_RUN (fake_run_get_type ())
G_DECLARE_FINAL_TYPE (FakeRun, fake_run, FAKE, RUN, GObject)

typedef void (*FakeHook) (FakeRun *self);

struct _FakeRun
{
  GObject   parent_instance;
  GCurlRun  run;
  Fixture  *fixture;
  char     *name;
  char     *url;             /* (nullable): never submitted */
  CURL     *easy;
  GString  *body;

  /* What the engine called, and with what. */
  guint     n_done, n_flush, n_finish, n_fail, n_watch_due, n_watch, n_rate_resume, n_describe;
  CURLcode  result;          /* of the last done */
  GError   *error;           /* (owned) (nullable): of the last fail */
  gint64    flush_interval;  /* of the last flush */
  gint64    last_due;        /* what the watch_due before this flush said */
  guint     refs_in_finish;  /* the object's ref_count in the last finish */
  guint     watch_n_runs;    /* the engine's n_runs at the last watch */
  gint64    rate_resumed_at;

  /* What the test's libcurl callbacks did. */
  guint     n_writes;
  guint     n_marks;         /* g_curl_engine_mark_dirty() calls */

  /* How it answers. */
  guint     marks_per_write;     /* mark_dirty calls per write and header */
  guint     restarts;            /* done says RESTART this many times */
  char     *restart_url;         /* (nullable): the URL after a restart */
  guint     held_flushes;        /* flush says "held" this many times */
  gint64    held_for;            /* …until now + this */
  gint64    due_in;              /* watch_due: now + this, -1 never */
  GError   *watch_error;         /* (owned) (nullable): what watch stalls with */
  guint     watch_ok;            /* watch says nothing this many times first */
  gint64    watch_again_in;      /* …and wants to look again at now + this */
  guint     rate_limited_writes; /* writes held by the speed limit */
  gint64    rate_delay;          /* …for this long */
  gboolean  paused;              /* the write callback said PAUSE */

  /* Test code run from within the calls (after they logged). */
  FakeHook  on_done, on_flush, on_finish, on_watch, on_write;
  gpointer  hook_data;
};

G_DEFINE_TYPE (FakeRun, fake_run, G_TYPE_OBJECT)

#define NO_DUE G_MININT64

static void
fake_event (FakeRun    *self,
            const char *format,
            ...) G_GNUC_PRINTF (2, 3);

static void
fake_event (FakeRun    *self,
            const char *format,
            ...)
{
  va_list args;

  g_assert_nonnull (events);
  if (events->len > 0)
    g_string_append_c (events, ' ');
  g_string_append_printf (events, "%s:", self->name);
  va_start (args, format);
  g_string_append_vprintf (events, format, args);
  va_end (args);
}

/* The record the engine calls with: the one embedded in the FakeRun that
 * is its object. */
static FakeRun *
from_run (GCurlRun *run)
{
  FakeRun *self = (FakeRun *) ((char *) run - G_STRUCT_OFFSET (FakeRun, run));

  g_assert_true (run->object == G_OBJECT (self));
  return self;
}

static GCurlRunDoneAction
fake_done (GCurlRun *run,
           CURLcode  result)
{
  FakeRun *self = from_run (run);

  self->n_done++;
  self->result = result;
  fake_event (self, "done:%d", result);
  /* Running until done returns. */
  g_assert_true (run->engine == self->fixture->engine);
  g_assert_false (run->completed);

  if (self->on_done != NULL)
    self->on_done (self);

  if (self->restarts > 0)
    {
      self->restarts--;
      if (self->restart_url != NULL)
        curl_easy_setopt (self->easy, CURLOPT_URL, self->restart_url);
      /* Like a redirect, whose body is of no interest. */
      g_string_truncate (self->body, 0);
      return G_CURL_RUN_RESTART;
    }

  return G_CURL_RUN_FINISHED;
}

static gboolean
fake_flush (GCurlRun *run,
            gint64    now,
            gint64    interval,
            gint64   *next_due)
{
  FakeRun *self = from_run (run);
  gint64 watchdog_due = g_curl_engine_get_watchdog_due (self->fixture->engine);

  self->n_flush++;
  self->flush_interval = interval;
  fake_event (self, "flush");

  /* Right after it asked watch_due, and the watchdog will look by then. */
  g_assert_cmpint (self->last_due, !=, NO_DUE);
  if (self->last_due >= 0)
    {
      g_assert_cmpint (watchdog_due, >=, 0);
      g_assert_cmpint (watchdog_due, <=, self->last_due);
    }
  self->last_due = NO_DUE;
  g_assert_true (run->engine == self->fixture->engine);
  g_assert_null (run->queue);

  if (self->on_flush != NULL)
    self->on_flush (self);

  if (self->held_flushes > 0)
    {
      self->held_flushes--;
      *next_due = now + self->held_for;
      return FALSE;
    }

  return TRUE;
}

static void
fake_finish (GCurlRun *run)
{
  FakeRun *self = from_run (run);

  self->n_finish++;
  self->refs_in_finish = G_OBJECT (self)->ref_count;
  fake_event (self, "finish");
  /* The engine has let go of the run (and of its owner for it). */
  g_assert_null (run->engine);
  g_assert_null (run->keepalive);
  g_assert_null (run->queue);
  g_assert_false (run->rate_waiting);
  g_assert_true (run->completed);

  if (self->on_finish != NULL)
    self->on_finish (self);
}

static void
fake_fail (GCurlRun *run,
           GError   *error)
{
  FakeRun *self = from_run (run);

  g_assert_nonnull (error);
  self->n_fail++;
  fake_event (self, "fail:%s:%d", g_quark_to_string (error->domain), error->code);
  g_clear_error (&self->error);
  self->error = error;
}

static gint64
fake_watch_due (GCurlRun *run,
                gint64    now,
                gboolean  nudging,
                gboolean *nudge_again)
{
  FakeRun *self = from_run (run);

  self->n_watch_due++;
  fake_event (self, "due");
  self->last_due = self->due_in >= 0 ? now + self->due_in : -1;

  return self->last_due;
}

static GError *
fake_watch (GCurlRun *run,
            gint64    now,
            gboolean *nudge,
            gint64   *next_due)
{
  FakeRun *self = from_run (run);

  self->n_watch++;
  self->watch_n_runs = g_curl_engine_get_n_runs (run->engine);
  fake_event (self, "watch");
  g_assert_true (run->engine == self->fixture->engine);

  if (self->on_watch != NULL)
    self->on_watch (self);

  if (self->watch_error != NULL && self->n_watch > self->watch_ok)
    return g_error_copy (self->watch_error);

  if (self->watch_again_in >= 0 && (*next_due < 0 || now + self->watch_again_in < *next_due))
    *next_due = now + self->watch_again_in;

  return NULL;
}

static void
fake_rate_resume (GCurlRun *run)
{
  FakeRun *self = from_run (run);

  self->n_rate_resume++;
  self->rate_resumed_at = g_get_monotonic_time ();
  fake_event (self, "rate-resume");
  g_assert_true (run->engine == self->fixture->engine);
  g_assert_false (run->rate_waiting);

  /* As gcurl-easy.c does: libcurl gives the held chunk again, now. */
  if (self->paused)
    {
      self->paused = FALSE;
      g_assert_cmpint (curl_easy_pause (self->easy, CURLPAUSE_CONT), ==, CURLE_OK);
      g_curl_engine_wake (run);
    }
}

static const char *
fake_describe (GCurlRun *run)
{
  FakeRun *self = from_run (run);

  self->n_describe++;
  return self->url != NULL ? self->url : self->name;
}

static const GCurlRunFuncs fake_funcs = {
  fake_done,
  fake_flush,
  fake_finish,
  fake_fail,
  fake_watch_due,
  fake_watch,
  fake_rate_resume,
  fake_describe,
};

static void
fake_mark_dirty (FakeRun *self)
{
  guint i;

  for (i = 0; i < self->marks_per_write; i++)
    {
      self->n_marks++;
      g_curl_engine_mark_dirty (&self->run);
    }
}

/* The test's own write callback: the body, and the events it makes. */
static size_t
fake_write_cb (char   *data,
               size_t  size,
               size_t  nmemb,
               void   *user_data)
{
  FakeRun *self = user_data;
  size_t len = size * nmemb;

  if (self->rate_limited_writes > 0)
    {
      self->rate_limited_writes--;
      self->run.rate_resume_at = g_get_monotonic_time () + self->rate_delay;
      self->paused = TRUE;
      fake_event (self, "rate-wait");
      g_curl_engine_wait_for_rate (&self->run);
      return CURL_WRITEFUNC_PAUSE;
    }

  self->n_writes++;
  g_string_append_len (self->body, data, len);
  fake_mark_dirty (self);
  if (self->on_write != NULL)
    self->on_write (self);

  return len;
}

static size_t
fake_header_cb (char   *data,
                size_t  size,
                size_t  nmemb,
                void   *user_data)
{
  fake_mark_dirty (user_data);
  return size * nmemb;
}

static void
fake_run_finalize (GObject *object)
{
  FakeRun *self = FAKE_RUN (object);

  /* The engine holds the object while it runs. */
  g_assert_null (self->run.engine);
  g_assert_null (self->run.keepalive);
  if (events != NULL)
    fake_event (self, "finalized");

  curl_easy_cleanup (self->easy);
  g_string_free (self->body, TRUE);
  g_clear_error (&self->error);
  g_clear_error (&self->watch_error);
  g_free (self->name);
  g_free (self->url);
  g_free (self->restart_url);

  G_OBJECT_CLASS (fake_run_parent_class)->finalize (object);
}

static void
fake_run_class_init (FakeRunClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = fake_run_finalize;
}

static void
fake_run_init (FakeRun *self)
{
}

static void
fake_set_url (FakeRun    *self,
              const char *url)
{
  g_free (self->url);
  self->url = g_strdup (url);
  curl_easy_setopt (self->easy, CURLOPT_URL, url);
}

/* A run named @name (its word in the log) of @url, or of none if it is
 * never submitted. */
static FakeRun *
fake_run_new (Fixture    *f,
              const char *name,
              const char *url)
{
  FakeRun *self = g_object_new (FAKE_TYPE_RUN, NULL);

  self->fixture = f;
  self->name = g_strdup (name);
  self->body = g_string_new (NULL);
  self->marks_per_write = 1;
  self->due_in = -1;
  self->watch_again_in = -1;
  self->last_due = NO_DUE;
  self->easy = curl_easy_init ();
  curl_easy_setopt (self->easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (self->easy, CURLOPT_WRITEFUNCTION, fake_write_cb);
  curl_easy_setopt (self->easy, CURLOPT_WRITEDATA, self);
  curl_easy_setopt (self->easy, CURLOPT_HEADERFUNCTION, fake_header_cb);
  curl_easy_setopt (self->easy, CURLOPT_HEADERDATA, self);
  if (url != NULL)
    fake_set_url (self, url);
  g_curl_run_init (&self->run, &fake_funcs, G_OBJECT (self), self->easy);

  return self;
}

static void
fake_start (FakeRun *self)
{
  g_curl_engine_start_run (self->fixture->engine, &self->run);
}

/* Started and handed to libcurl. */
static void
fake_go (FakeRun *self)
{
  fake_start (self);
  g_curl_engine_submit (&self->run);
}

/* Makes @self wait for its speed limit until @in µs from now. */
static void
fake_wait_for_rate (FakeRun *self,
                    gint64   in)
{
  self->run.rate_resume_at = g_get_monotonic_time () + in;
  g_curl_engine_wait_for_rate (&self->run);
}

/* The log */

/* The calls to @name, in order, without the name. */
static char *
events_of (const char *name)
{
  g_auto(GStrv) all = g_strsplit (events->str, " ", -1);
  g_autofree char *prefix = g_strconcat (name, ":", NULL);
  GString *mine = g_string_new (NULL);
  guint i;

  for (i = 0; all[i] != NULL; i++)
    if (g_str_has_prefix (all[i], prefix))
      {
        if (mine->len > 0)
          g_string_append_c (mine, ' ');
        g_string_append (mine, all[i] + strlen (prefix));
      }

  return g_string_free (mine, FALSE);
}

/* Asserts that the calls to @name match the regular expression @pattern. */
#define assert_events(name, pattern) \
  assert_events_impl (__FILE__, __LINE__, G_STRFUNC, name, pattern)

static void
assert_events_impl (const char *file,
                    int         line,
                    const char *func,
                    const char *name,
                    const char *pattern)
{
  g_autofree char *mine = events_of (name);

  if (!g_regex_match_simple (pattern, mine, 0, 0))
    {
      g_autofree char *message = g_strdup_printf ("the calls to %s were “%s”, not /%s/",
                                                  name, mine, pattern);

      g_assertion_message (G_LOG_DOMAIN, file, line, func, message);
    }
}

#define assert_events_printf(name, ...) \
  G_STMT_START { \
    g_autofree char *pattern_ = g_strdup_printf (__VA_ARGS__); \
    assert_events (name, pattern_); \
  } G_STMT_END

static void
assert_counts (Fixture     *f,
               const guint *expected,
               guint        n)
{
  guint i;

  g_assert_cmpuint (f->counts->len, ==, n);
  for (i = 0; i < n; i++)
    g_assert_cmpuint (g_array_index (f->counts, guint, i), ==, expected[i]);
}

static void
assert_let_go (Fixture *f,
               FakeRun *run)
{
  g_assert_null (run->run.engine);
  g_assert_null (run->run.keepalive);
  g_assert_null (run->run.queue);
  g_assert_false (run->run.rate_waiting);
  g_assert_cmpuint (G_OBJECT (run)->ref_count, ==, 1);
}

/* 1. One run */

/* A run: (due flush)*, done CURLE_OK once, finish once; body whole; object, owner, count let go. */
static void
test_run_complete (Fixture       *f,
                   gconstpointer  data)
{
  g_autofree char *url = test_server_url (server, "/bytes/%d", 300000);
  g_autoptr(FakeRun) a = fake_run_new (f, "A", url);
  const guint counts[] = { 1, 0 };

  fake_start (a);
  g_assert_cmpuint (g_curl_engine_get_n_runs (f->engine), ==, 1);
  g_assert_true (a->run.engine == f->engine);
  g_assert_true (a->run.keepalive == f->owner);
  g_assert_cmpuint (G_OBJECT (a)->ref_count, ==, 2);
  g_assert_cmpuint (f->owner->ref_count, ==, 2);
  g_curl_engine_submit (&a->run);
  /* Nothing is reported from within submit. */
  g_assert_cmpstr (events->str, ==, "");

  WAIT_UNTIL (f, a->n_finish == 1);
  assert_events ("A", "^(due flush )*done:0 finish$");
  g_assert_cmpint (a->result, ==, CURLE_OK);
  g_assert_cmpuint (a->n_fail, ==, 0);
  g_assert_null (a->error);
  test_assert_pattern_string (a->body, 300000);
  /* The engine held the object until finish returned. */
  g_assert_cmpuint (a->refs_in_finish, ==, 2);
  g_assert_cmpuint (g_curl_engine_get_n_runs (f->engine), ==, 0);
  assert_let_go (f, a);
  g_assert_cmpuint (f->owner->ref_count, ==, 1);
  assert_counts (f, counts, G_N_ELEMENTS (counts));

  /* Nothing comes after finish. */
  run_for (f, 50);
  assert_events ("A", "^(due flush )*done:0 finish$");
}

/* A refused connection is libcurl's result for done (CURLE_COULDNT_CONNECT), not a fail. */
static void
test_run_refused (Fixture       *f,
                  gconstpointer  data)
{
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u/",
                                          test_server_get_refused_port ());
  g_autoptr(FakeRun) a = fake_run_new (f, "A", url);

  fake_go (a);
  WAIT_UNTIL (f, a->n_finish == 1);
  assert_events_printf ("A", "^(due flush )*done:%d finish$", CURLE_COULDNT_CONNECT);
  assert_let_go (f, a);
}

/* A file:// run, with no socket to watch, completes the same way with the whole file. */
static void
test_run_file (Fixture       *f,
               gconstpointer  data)
{
  g_autofree char *path = NULL;
  g_autofree char *url = NULL;
  g_autoptr(FakeRun) a = NULL;
  guint8 content[5000];
  int fd;

  test_pattern_fill (0, content, sizeof content);
  fd = g_file_open_tmp ("test-engine-XXXXXX", &path, NULL);
  g_assert_cmpint (fd, >=, 0);
  g_assert_true (g_file_set_contents (path, (const char *) content, sizeof content, NULL));
  g_close (fd, NULL);
  url = g_filename_to_uri (path, NULL, NULL);
  a = fake_run_new (f, "A", url);

  fake_go (a);
  WAIT_UNTIL (f, a->n_finish == 1);
  assert_events ("A", "^(due flush )*done:0 finish$");
  test_assert_pattern_string (a->body, sizeof content);
  assert_let_go (f, a);
  g_unlink (path);
}

/* 2. Restart */

/* done answering RESTART re-adds the handle: done once per run, finish once, count unchanged. */
static void
test_run_restart (Fixture       *f,
                  gconstpointer  data)
{
  g_autofree char *url = test_server_url (server, "/bytes/%d", 100);
  g_autoptr(FakeRun) a = fake_run_new (f, "A", url);
  guint before_100 = test_server_get_path_count (server, "/bytes/100");
  guint before_2000 = test_server_get_path_count (server, "/bytes/2000");
  const guint counts[] = { 1, 0 };

  a->restarts = 2;
  a->restart_url = test_server_url (server, "/bytes/%d", 2000);
  fake_go (a);
  WAIT_UNTIL (f, a->n_finish == 1);

  assert_events ("A", "^(due flush )*done:0 (due flush )*done:0 (due flush )*done:0 finish$");
  g_assert_cmpuint (a->n_done, ==, 3);
  g_assert_cmpuint (a->n_fail, ==, 0);
  test_assert_pattern_string (a->body, 2000);
  g_assert_cmpuint (test_server_get_path_count (server, "/bytes/100") - before_100, ==, 1);
  g_assert_cmpuint (test_server_get_path_count (server, "/bytes/2000") - before_2000, ==, 2);
  assert_counts (f, counts, G_N_ELEMENTS (counts));
  assert_let_go (f, a);

  run_for (f, 50);
  g_assert_cmpuint (a->n_done, ==, 3);
  g_assert_cmpuint (a->n_finish, ==, 1);
}

/* done hook: puts the handle into another CURLM (hook_data), so re-adding it fails. */
static void
restart_elsewhere_cb (FakeRun *self)
{
  g_assert_cmpint (curl_multi_add_handle (self->hook_data, self->easy), ==, CURLM_OK);
}

/* A RESTART the CURLM refuses fails the run (FAILED_INIT, with its URL), finishes it once. */
static void
test_run_restart_fails (Fixture       *f,
                        gconstpointer  data)
{
  g_autofree char *url = test_server_url (server, "/bytes/%d", 100);
  g_autoptr(FakeRun) a = fake_run_new (f, "A", url);
  CURLM *other = curl_multi_init ();

  a->restarts = 1;
  a->on_done = restart_elsewhere_cb;
  a->hook_data = other;
  fake_go (a);
  WAIT_UNTIL (f, a->n_finish == 1);

  assert_events_printf ("A", "^(due flush )*done:0 %s finish$", ev_failed_init);
  g_assert_error (a->error, G_CURL_ERROR, G_CURL_ERROR_FAILED_INIT);
  g_assert_nonnull (strstr (a->error->message, url));
  g_assert_cmpuint (a->n_describe, >=, 1);
  assert_let_go (f, a);

  g_assert_cmpint (curl_multi_remove_handle (other, a->easy), ==, CURLM_OK);
  curl_multi_cleanup (other);
}

/* write hook: starts and submits the run in hook_data from inside libcurl. */
static void
submit_other_cb (FakeRun *self)
{
  FakeRun *b = self->hook_data;

  if (b->run.engine != NULL)
    return;

  fake_start (b);
  g_curl_engine_submit (&b->run);
  g_assert_cmpuint (b->n_fail, ==, 1);
  g_assert_cmpuint (b->n_finish, ==, 0);
}

/* A submit libcurl refuses fails the run at once (FAILED_INIT); finish comes from the flush. */
static void
test_submit_fails (Fixture       *f,
                   gconstpointer  data)
{
  g_autofree char *url_a = test_server_url (server, "/bytes/%d", 1000);
  g_autofree char *url_b = test_server_url (server, "/bytes/%d", 100);
  g_autoptr(FakeRun) a = fake_run_new (f, "A", url_a);
  g_autoptr(FakeRun) b = fake_run_new (f, "B", url_b);

  a->on_write = submit_other_cb;
  a->hook_data = b;
  fake_go (a);
  WAIT_UNTIL (f, a->n_finish == 1 && b->n_finish == 1);

  assert_events ("A", "^(due flush )*done:0 finish$");
  assert_events_printf ("B", "^%s finish$", ev_failed_init);
  g_assert_error (b->error, G_CURL_ERROR, G_CURL_ERROR_FAILED_INIT);
  g_assert_nonnull (strstr (b->error->message, url_b));
  assert_let_go (f, a);
  assert_let_go (f, b);
}

/* 3. Ending a run */

/* Ending a run not submitted: fail at once with each error given, finish once later, no done. */
static void
test_end_waiting (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(FakeRun) a = fake_run_new (f, "A", NULL);
  g_autoptr(FakeRun) b = fake_run_new (f, "B", NULL);
  const guint counts[] = { 1, 2, 1, 0 };

  fake_start (a);
  fake_start (b);
  g_curl_engine_end_run (&a->run, cancelled_error ());
  g_assert_cmpuint (a->n_fail, ==, 1);
  g_assert_error (a->error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpuint (a->n_finish, ==, 0);
  g_assert_true (a->run.completed);

  /* A second end before the finish replaces the outcome. */
  g_curl_engine_end_run (&b->run, cancelled_error ());
  g_curl_engine_end_run (&b->run, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                                                       "denied by the test"));
  g_assert_cmpuint (b->n_fail, ==, 2);
  g_assert_cmpuint (b->n_finish, ==, 0);
  g_assert_cmpuint (g_curl_engine_get_n_runs (f->engine), ==, 2);

  WAIT_UNTIL (f, a->n_finish == 1 && b->n_finish == 1);
  assert_events_printf ("A", "^%s finish$", ev_cancelled);
  assert_events_printf ("B", "^%s %s finish$", ev_cancelled, ev_denied);
  g_assert_error (b->error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);
  assert_let_go (f, a);
  assert_let_go (f, b);
  assert_counts (f, counts, G_N_ELEMENTS (counts));

  run_for (f, 50);
  assert_events_printf ("A", "^%s finish$", ev_cancelled);
  assert_events_printf ("B", "^%s %s finish$", ev_cancelled, ev_denied);
}

/* flush hook: ends the run at its first flush and notes its writes then. */
static void
end_self_cb (FakeRun *self)
{
  guint *writes_at_end = self->hook_data;

  if (self->n_flush == 1)
    {
      g_curl_engine_end_run (&self->run, cancelled_error ());
      *writes_at_end = self->n_writes;
    }
}

/* Ended from its own flush: fail, one finish, not held, no done or data after; it runs again. */
static void
test_end_from_flush (Fixture       *f,
                     gconstpointer  data)
{
  g_autofree char *url = test_server_url (server, "/slow/%d?rate=%d", 3000, 20000);
  g_autoptr(FakeRun) a = fake_run_new (f, "A", url);
  guint writes_at_end = 0;

  a->on_flush = end_self_cb;
  a->hook_data = &writes_at_end;
  a->held_flushes = 1;
  a->held_for = 10 * G_TIME_SPAN_MILLISECOND;
  fake_go (a);
  WAIT_UNTIL (f, a->n_finish == 1);

  assert_events_printf ("A", "^due flush %s finish$", ev_cancelled);
  g_assert_error (a->error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpuint (g_curl_engine_get_n_runs (f->engine), ==, 0);
  assert_let_go (f, a);

  /* The handle is out of libcurl: no done comes, nor any more of the
   * body (which takes 150 ms), and the handle can run again. */
  run_for (f, 300);
  assert_events_printf ("A", "^due flush %s finish$", ev_cancelled);
  g_assert_cmpuint (a->n_writes, ==, writes_at_end);

  a->on_flush = NULL;
  g_string_truncate (a->body, 0);
  fake_go (a);
  WAIT_UNTIL (f, a->n_finish == 2);
  assert_events_printf ("A", "^due flush %s finish (due flush )+done:0 finish$", ev_cancelled);
  test_assert_pattern_string (a->body, 3000);
}

/* done hook: marks the waiting run in hook_data dirty: it flushes in this dispatch. */
static void
mark_waiting_dirty_cb (FakeRun *self)
{
  FakeRun *w = self->hook_data;

  g_curl_engine_mark_dirty (&w->run);
}

/* flush hook: ends the run in hook_data, completed by libcurl and not finished. */
static void
end_completed_cb (FakeRun *self)
{
  FakeRun *b = self->hook_data;

  g_assert_cmpuint (b->n_done, ==, 1);
  g_assert_true (b->run.completed);
  g_assert_nonnull (b->run.engine);
  g_assert_cmpuint (b->n_finish, ==, 0);
  g_curl_engine_end_run (&b->run, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                                                       "denied by the test"));
  g_assert_cmpuint (b->n_finish, ==, 0);
}

/* A run ended after its done, before its finish: fail (outcome replaced), one finish, one done. */
static void
test_end_after_done (Fixture       *f,
                     gconstpointer  data)
{
  g_autofree char *url = test_server_url (server, "/bytes/%d", 100);
  g_autoptr(FakeRun) b = fake_run_new (f, "B", url);
  g_autoptr(FakeRun) w = fake_run_new (f, "W", NULL);

  /* B's done makes W dirty: W's flush, in the same dispatch, comes
   * between B's done and B's finish. */
  fake_start (w);
  w->on_flush = end_completed_cb;
  w->hook_data = b;
  b->on_done = mark_waiting_dirty_cb;
  b->hook_data = w;
  fake_go (b);
  WAIT_UNTIL (f, b->n_finish == 1);

  assert_events_printf ("B", "^(due flush )*done:0 %s finish$", ev_denied);
  assert_events ("W", "^due flush$");
  g_assert_error (b->error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);
  assert_let_go (f, b);

  g_curl_engine_end_run (&w->run, cancelled_error ());
  WAIT_UNTIL (f, w->n_finish == 1);
  assert_events_printf ("W", "^due flush %s finish$", ev_cancelled);
  run_for (f, 50);
  g_assert_cmpuint (b->n_done, ==, 1);
  g_assert_cmpuint (b->n_finish, ==, 1);
}

/* done hook: ends the run itself. */
static void
end_in_done_cb (FakeRun *self)
{
  g_curl_engine_end_run (&self->run, cancelled_error ());
  g_assert_cmpuint (self->n_finish, ==, 0);
}

/* A run ended from its own done: fail after done, finish once. */
static void
test_end_from_done (Fixture       *f,
                    gconstpointer  data)
{
  g_autofree char *url = test_server_url (server, "/bytes/%d", 100);
  g_autoptr(FakeRun) a = fake_run_new (f, "A", url);

  a->on_done = end_in_done_cb;
  fake_go (a);
  WAIT_UNTIL (f, a->n_finish == 1);

  assert_events_printf ("A", "^(due flush )*done:0 %s finish$", ev_cancelled);
  assert_let_go (f, a);
  run_for (f, 50);
  g_assert_cmpuint (a->n_finish, ==, 1);
}

/* 4. Re-entrancy */

/* flush hook: starts and submits the run in hook_data at the first flush. */
static void
start_other_cb (FakeRun *self)
{
  FakeRun *b = self->hook_data;

  if (self->n_flush == 1)
    fake_go (b);
}

/* A run started and submitted from another run's flush: both complete once, count follows. */
static void
test_reentry_start_from_flush (Fixture       *f,
                               gconstpointer  data)
{
  g_autofree char *url_a = test_server_url (server, "/slow/%d?rate=%d", 2000, 20000);
  g_autofree char *url_b = test_server_url (server, "/bytes/%d", 5000);
  g_autoptr(FakeRun) a = fake_run_new (f, "A", url_a);
  g_autoptr(FakeRun) b = fake_run_new (f, "B", url_b);
  const guint counts[] = { 1, 2, 1, 0 };

  a->on_flush = start_other_cb;
  a->hook_data = b;
  fake_go (a);
  WAIT_UNTIL (f, a->n_finish == 1 && b->n_finish == 1);

  assert_events ("A", "^(due flush )+done:0 finish$");
  assert_events ("B", "^(due flush )*done:0 finish$");
  test_assert_pattern_string (a->body, 2000);
  test_assert_pattern_string (b->body, 5000);
  assert_counts (f, counts, G_N_ELEMENTS (counts));
  assert_let_go (f, a);
  assert_let_go (f, b);
}

/* The runs free_others_cb() lets go of. */
typedef struct
{
  FakeRun *b;    /* (owned) (nullable) */
  FakeRun *c;    /* (owned) (nullable) */
} Others;

/* flush hook: ends B and drops the test's last references to B and C. */
static void
free_others_cb (FakeRun *self)
{
  Others *others = self->hook_data;

  if (others->b == NULL)
    return;

  g_curl_engine_end_run (&others->b->run, cancelled_error ());
  g_clear_object (&others->b);
  g_clear_object (&others->c);
}

/* Runs whose last reference goes in a flush (one ended, one not) finish before being freed. */
static void
test_reentry_free_from_flush (Fixture       *f,
                              gconstpointer  data)
{
  g_autofree char *url_a = test_server_url (server, "/slow/%d?rate=%d", 4000, 20000);
  g_autofree char *url_b = test_server_raw_url (server, "/stall/%d/%d", 10000, 1000);
  g_autofree char *url_c = test_server_url (server, "/slow/%d?rate=%d", 2000, 20000);
  g_autoptr(FakeRun) a = fake_run_new (f, "A", url_a);
  Others others;

  others.b = fake_run_new (f, "B", url_b);
  others.c = fake_run_new (f, "C", url_c);
  a->on_flush = free_others_cb;
  a->hook_data = &others;
  fake_go (others.b);
  fake_go (others.c);
  fake_go (a);
  WAIT_UNTIL (f, a->n_finish == 1 && strstr (events->str, "B:finalized") != NULL &&
              strstr (events->str, "C:finalized") != NULL);

  g_assert_null (others.b);
  g_assert_null (others.c);
  assert_events ("A", "^(due flush )+done:0 finish$");
  assert_events_printf ("B", "^(due flush )*%s finish finalized$", ev_cancelled);
  assert_events ("C", "^(due flush )*done:0 finish finalized$");
  test_assert_pattern_string (a->body, 4000);
  assert_let_go (f, a);
}

/* finish hook: ends the still running run in hook_data. */
static void
end_other_cb (FakeRun *self)
{
  FakeRun *b = self->hook_data;

  /* This run is out of the count already, the other is still in it. */
  g_assert_cmpuint (g_curl_engine_get_n_runs (self->fixture->engine), ==, 1);
  g_curl_engine_end_run (&b->run, cancelled_error ());
  g_assert_cmpuint (b->n_finish, ==, 0);
}

/* A running run ended from another run's finish fails and finishes once. */
static void
test_reentry_end_other_from_finish (Fixture       *f,
                                    gconstpointer  data)
{
  g_autofree char *url_a = test_server_url (server, "/bytes/%d", 100);
  g_autofree char *url_b = test_server_raw_url (server, "/stall/%d/%d", 10000, 1000);
  g_autoptr(FakeRun) a = fake_run_new (f, "A", url_a);
  g_autoptr(FakeRun) b = fake_run_new (f, "B", url_b);
  const guint counts[] = { 1, 2, 1, 0 };

  a->on_finish = end_other_cb;
  a->hook_data = b;
  fake_go (b);
  fake_go (a);
  WAIT_UNTIL (f, a->n_finish == 1 && b->n_finish == 1);

  assert_events ("A", "^(due flush )*done:0 finish$");
  assert_events_printf ("B", "^(due flush )*%s finish$", ev_cancelled);
  g_assert_nonnull (strstr (events->str, "A:finish B:fail"));
  assert_counts (f, counts, G_N_ELEMENTS (counts));
  assert_let_go (f, a);
  assert_let_go (f, b);

  run_for (f, 50);
  g_assert_cmpuint (b->n_done, ==, 0);
  g_assert_cmpuint (b->n_finish, ==, 1);
}

/* finish hook: at the first finish, starts this run again and the one in hook_data. */
static void
start_again_cb (FakeRun *self)
{
  FakeRun *b = self->hook_data;

  if (self->n_finish != 1)
    return;

  g_assert_cmpuint (g_curl_engine_get_n_runs (self->fixture->engine), ==, 0);
  fake_go (self);
  fake_go (b);
  g_assert_cmpuint (g_curl_engine_get_n_runs (self->fixture->engine), ==, 2);
}

/* From its finish a run starts again (the engine let go of it), and another: all complete. */
static void
test_reentry_start_from_finish (Fixture       *f,
                                gconstpointer  data)
{
  g_autofree char *url_a = test_server_url (server, "/bytes/%d", 1000);
  g_autofree char *url_b = test_server_url (server, "/bytes/%d", 200);
  g_autoptr(FakeRun) a = fake_run_new (f, "A", url_a);
  g_autoptr(FakeRun) b = fake_run_new (f, "B", url_b);
  const guint counts[] = { 1, 0, 1, 2, 1, 0 };

  a->on_finish = start_again_cb;
  a->hook_data = b;
  fake_go (a);
  WAIT_UNTIL (f, a->n_finish == 2 && b->n_finish == 1);

  assert_events ("A", "^(due flush )*done:0 finish (due flush )*done:0 finish$");
  assert_events ("B", "^(due flush )*done:0 finish$");
  /* Both runs of A wrote into the same body. */
  g_assert_cmpuint (a->body->len, ==, 2000);
  test_assert_pattern_string (b->body, 200);
  assert_counts (f, counts, G_N_ELEMENTS (counts));
  assert_let_go (f, a);
  assert_let_go (f, b);
}

/* Weak notify of the owner: the engine goes with it, as a multi's does. */
static void
owner_gone_cb (gpointer  data,
               GObject  *where_the_object_was)
{
  Fixture *f = data;

  g_curl_engine_free (f->engine);
  f->engine = NULL;
  f->owner = NULL;
}

/* The owner's last reference going in a finish frees the engine after that flush, safely. */
static void
test_reentry_owner_gone (Fixture       *f,
                         gconstpointer  data)
{
  g_autofree char *url = test_server_url (server, "/bytes/%d", 1000);
  g_autoptr(FakeRun) a = fake_run_new (f, "A", url);
  const guint counts[] = { 1, 0, 0 };

  g_object_weak_ref (f->owner, owner_gone_cb, f);
  fake_go (a);
  /* Only the run holds the owner now. */
  g_object_unref (f->owner);
  g_assert_nonnull (f->owner);

  WAIT_UNTIL (f, f->owner == NULL);
  assert_events ("A", "^(due flush )*done:0 finish$");
  /* The last one from g_curl_engine_free(). */
  assert_counts (f, counts, G_N_ELEMENTS (counts));
  assert_let_go (f, a);
  run_for (f, 50);
  assert_events ("A", "^(due flush )*done:0 finish$");
}

/* 5. Dirty runs */

/* Many mark_dirty calls before a dispatch make one flush; after the finish they make none. */
static void
test_dirty_coalesce (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(FakeRun) a = fake_run_new (f, "A", NULL);
  guint i;

  fake_start (a);
  for (i = 0; i < 5; i++)
    g_curl_engine_mark_dirty (&a->run);
  g_curl_engine_wake (&a->run);
  WAIT_UNTIL (f, a->n_flush == 1);
  run_for (f, 50);
  assert_events ("A", "^due flush$");

  for (i = 0; i < 3; i++)
    g_curl_engine_mark_dirty (&a->run);
  g_curl_engine_wake (&a->run);
  WAIT_UNTIL (f, a->n_flush == 2);
  run_for (f, 50);
  assert_events ("A", "^due flush due flush$");

  /* Dirty and ended: finish reports the rest, no flush. */
  g_curl_engine_mark_dirty (&a->run);
  g_curl_engine_end_run (&a->run, cancelled_error ());
  WAIT_UNTIL (f, a->n_finish == 1);
  assert_events_printf ("A", "^due flush due flush %s finish$", ev_cancelled);

  g_curl_engine_mark_dirty (&a->run);
  g_curl_engine_wake (&a->run);
  run_for (f, 50);
  assert_events_printf ("A", "^due flush due flush %s finish$", ev_cancelled);
  assert_let_go (f, a);
}

/* A live run: one flush per dispatch that marked it dirty, none in any other dispatch. */
static void
test_dirty_one_flush_per_dispatch (Fixture       *f,
                                   gconstpointer  data)
{
  g_autofree char *url = test_server_url (server, "/slow/%d?rate=%d", 8000, 40000);
  g_autoptr(FakeRun) a = fake_run_new (f, "A", url);
  guint dirty_dispatches = 0;
  Deadline d;

  a->marks_per_write = 3;
  fake_go (a);

  deadline_start (&d, f->context, wait_ms ());
  while (a->n_finish == 0 && !d.expired)
    {
      guint marks = a->n_marks;
      guint flushes = a->n_flush;
      guint done = a->n_done;

      g_main_context_iteration (f->context, TRUE);
      if (a->n_marks > marks && a->n_done == done)
        {
          g_assert_cmpuint (a->n_flush - flushes, ==, 1);
          dirty_dispatches++;
        }
      else
        g_assert_cmpuint (a->n_flush - flushes, ==, 0);
    }
  deadline_stop (&d);

  g_assert_cmpuint (a->n_finish, ==, 1);
  assert_events ("A", "^(due flush )+done:0 finish$");
  g_assert_cmpuint (dirty_dispatches, >=, 1);
  g_assert_cmpuint (a->n_flush, ==, dirty_dispatches);
  test_assert_pattern_string (a->body, 8000);
  assert_let_go (f, a);
}

/* A flush held back (given the engine's interval) is flushed again when due, then no more. */
static void
test_flush_held (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(FakeRun) a = fake_run_new (f, "A", NULL);

  g_curl_engine_set_progress_interval (f->engine, 40);
  a->held_flushes = 1;
  a->held_for = 20 * G_TIME_SPAN_MILLISECOND;
  fake_start (a);
  g_curl_engine_mark_dirty (&a->run);
  g_curl_engine_wake (&a->run);
  WAIT_UNTIL (f, a->n_flush == 2);
  g_assert_cmpint (a->flush_interval, ==, 40 * G_TIME_SPAN_MILLISECOND);
  run_for (f, 80);
  assert_events ("A", "^due flush due flush$");

  g_curl_engine_end_run (&a->run, cancelled_error ());
  WAIT_UNTIL (f, a->n_finish == 1);
  assert_events_printf ("A", "^due flush due flush %s finish$", ev_cancelled);
}

/* 6. The count */

/* The count func gets the owner and reads 1, 2, 3 as runs start, then one less per finish. */
static void
test_count (Fixture       *f,
            gconstpointer  data)
{
  g_autofree char *url_a = test_server_url (server, "/bytes/%d", 100);
  g_autofree char *url_b = test_server_url (server, "/bytes/%d", 200);
  g_autoptr(FakeRun) a = fake_run_new (f, "A", url_a);
  g_autoptr(FakeRun) b = fake_run_new (f, "B", url_b);
  g_autoptr(FakeRun) w = fake_run_new (f, "W", NULL);
  const guint started[] = { 1, 2, 3 };
  const guint counts[] = { 1, 2, 3, 2, 1, 0 };

  fake_go (a);
  fake_go (b);
  fake_start (w);
  assert_counts (f, started, G_N_ELEMENTS (started));
  g_curl_engine_end_run (&w->run, cancelled_error ());
  assert_counts (f, started, G_N_ELEMENTS (started));
  g_assert_cmpuint (g_curl_engine_get_n_runs (f->engine), ==, 3);

  WAIT_UNTIL (f, a->n_finish == 1 && b->n_finish == 1 && w->n_finish == 1);
  assert_counts (f, counts, G_N_ELEMENTS (counts));
  run_for (f, 50);
  assert_counts (f, counts, G_N_ELEMENTS (counts));
}

/* 7. The watchdog */

/* A watch error fails a stalled run with that error, forbids reuse; its next run lifts it. */
static void
test_watchdog_stall (Fixture       *f,
                     gconstpointer  data)
{
  g_autofree char *url = test_server_raw_url (server, "/stall/%d/%d", 10000, 1000);
  g_autofree char *url2 = test_server_url (server, "/bytes/%d", 100);
  g_autoptr(FakeRun) a = fake_run_new (f, "A", url);

  a->due_in = 30 * G_TIME_SPAN_MILLISECOND;
  a->watch_error = g_error_new_literal (G_CURL_ERROR, G_CURL_ERROR_OPERATION_TIMEDOUT,
                                        "stalled, says the test");
  fake_go (a);
  WAIT_UNTIL (f, a->n_finish == 1);

  assert_events_printf ("A", "^(due flush )+watch %s finish$", ev_timedout);
  g_assert_error (a->error, G_CURL_ERROR, G_CURL_ERROR_OPERATION_TIMEDOUT);
  g_assert_cmpstr (a->error->message, ==, "stalled, says the test");
  g_assert_cmpuint (a->watch_n_runs, ==, 1);
  g_assert_true (a->run.forbid_reuse);
  g_assert_cmpuint (a->n_done, ==, 0);
  /* Nothing left to look at. */
  g_assert_cmpint (g_curl_engine_get_watchdog_due (f->engine), ==, -1);
  assert_let_go (f, a);

  a->due_in = -1;
  fake_set_url (a, url2);
  g_string_truncate (a->body, 0);
  fake_start (a);
  g_assert_false (a->run.forbid_reuse);
  g_curl_engine_submit (&a->run);
  WAIT_UNTIL (f, a->n_finish == 2);
  assert_events_printf ("A", "^(due flush )+watch %s finish (due flush )*done:0 finish$",
                        ev_timedout);
  test_assert_pattern_string (a->body, 100);
}

/* watch hook: before the stalling look, the run is still running and has not failed. */
static void
still_running_cb (FakeRun *self)
{
  if (self->n_watch <= self->watch_ok)
    {
      g_assert_cmpuint (self->watch_n_runs, ==, 1);
      g_assert_cmpuint (self->n_fail, ==, 0);
      g_assert_cmpuint (self->n_finish, ==, 0);
    }
}

/* A watch returning NULL and a next due keeps the run running; it is asked again, no data. */
static void
test_watchdog_look_again (Fixture       *f,
                          gconstpointer  data)
{
  g_autofree char *url = test_server_raw_url (server, "/stall/%d/%d", 10000, 1000);
  g_autoptr(FakeRun) a = fake_run_new (f, "A", url);

  a->due_in = 20 * G_TIME_SPAN_MILLISECOND;
  a->watch_ok = 2;
  a->watch_again_in = 20 * G_TIME_SPAN_MILLISECOND;
  a->watch_error = g_error_new_literal (G_CURL_ERROR, G_CURL_ERROR_OPERATION_TIMEDOUT,
                                        "stalled, says the test");
  a->on_watch = still_running_cb;
  fake_go (a);
  WAIT_UNTIL (f, a->n_finish == 1);

  assert_events_printf ("A", "^due flush (due flush |watch )*%s finish$", ev_timedout);
  g_assert_cmpuint (a->n_watch, ==, 3);
  g_assert_cmpuint (a->n_fail, ==, 1);
  g_assert_cmpuint (a->n_done, ==, 0);
  g_assert_true (a->run.forbid_reuse);
  assert_let_go (f, a);
  run_for (f, 60);
  g_assert_cmpuint (a->n_watch, ==, 3);
}

/* A run whose watch finds nothing is looked at while running, completes, is not looked at after. */
static void
test_watchdog_quiet (Fixture       *f,
                     gconstpointer  data)
{
  g_autofree char *url = test_server_url (server, "/slow/%d?rate=%d", 4000, 20000);
  g_autoptr(FakeRun) a = fake_run_new (f, "A", url);
  guint looks;

  a->due_in = 0;
  a->watch_again_in = 10 * G_TIME_SPAN_MILLISECOND;
  fake_go (a);
  WAIT_UNTIL (f, a->n_finish == 1);

  assert_events ("A", "^due flush (due flush |watch )*done:0 finish$");
  g_assert_cmpuint (a->n_watch, >=, 1);
  g_assert_cmpuint (a->n_fail, ==, 0);
  g_assert_false (a->run.forbid_reuse);
  test_assert_pattern_string (a->body, 4000);
  looks = a->n_watch;
  run_for (f, 60);
  g_assert_cmpuint (a->n_watch, ==, looks);
  g_assert_cmpint (g_curl_engine_get_watchdog_due (f->engine), ==, -1);
}

/* flush hook: the watchdog has nothing scheduled. */
static void
no_watchdog_cb (FakeRun *self)
{
  g_assert_cmpint (g_curl_engine_get_watchdog_due (self->fixture->engine), ==, -1);
}

/* A run whose watch_due says -1 is never looked at; the watchdog stays unscheduled. */
static void
test_watchdog_never (Fixture       *f,
                     gconstpointer  data)
{
  g_autofree char *url = test_server_url (server, "/slow/%d?rate=%d", 2000, 20000);
  g_autoptr(FakeRun) a = fake_run_new (f, "A", url);

  a->watch_error = g_error_new_literal (G_CURL_ERROR, G_CURL_ERROR_OPERATION_TIMEDOUT,
                                        "must not be asked");
  a->on_flush = no_watchdog_cb;
  fake_go (a);
  WAIT_UNTIL (f, a->n_finish == 1);

  assert_events ("A", "^(due flush )+done:0 finish$");
  g_assert_cmpuint (a->n_watch_due, >=, 1);
  g_assert_cmpuint (a->n_watch, ==, 0);
  g_assert_cmpint (g_curl_engine_get_watchdog_due (f->engine), ==, -1);
  test_assert_pattern_string (a->body, 2000);
}

/* 8. Ending every run */

/* Runs in every state an engine can hold them in: waiting (not
 * submitted), running in libcurl (mid-body on a stalled response), marked
 * dirty and not flushed, waiting for its speed limit, and ended with its
 * finish yet to come. */
typedef struct
{
  FakeRun *waiting, *running, *dirty, *rate, *ended;
} InFlight;

static void
in_flight_start (Fixture  *f,
                 InFlight *in)
{
  g_autofree char *url = test_server_raw_url (server, "/stall/%d/%d", 10000, 1000);

  in->waiting = fake_run_new (f, "W", NULL);
  in->running = fake_run_new (f, "S", url);
  in->dirty = fake_run_new (f, "D", NULL);
  in->rate = fake_run_new (f, "R", NULL);
  in->ended = fake_run_new (f, "E", NULL);

  fake_start (in->waiting);
  fake_go (in->running);
  WAIT_UNTIL (f, in->running->n_writes >= 1 && in->running->n_flush >= 1);

  fake_start (in->dirty);
  g_curl_engine_mark_dirty (&in->dirty->run);
  fake_start (in->rate);
  fake_wait_for_rate (in->rate, 10 * G_TIME_SPAN_SECOND);
  g_assert_true (in->rate->run.rate_waiting);
  fake_start (in->ended);
  g_curl_engine_end_run (&in->ended->run, cancelled_error ());
  g_assert_cmpuint (g_curl_engine_get_n_runs (f->engine), ==, 5);
  g_assert_cmpuint (f->owner->ref_count, ==, 6);
}

/* Each run was let go of without a call: no done, no fail, no finish (the
 * ended one had its fail before), its handle out of libcurl. */
static void
in_flight_assert_let_go (Fixture  *f,
                         InFlight *in)
{
  FakeRun *runs[] = { in->waiting, in->running, in->dirty, in->rate, in->ended };
  guint i;

  assert_events ("W", "^$");
  assert_events ("S", "^due flush( due flush)*$");
  assert_events ("D", "^$");
  assert_events ("R", "^$");
  assert_events_printf ("E", "^%s$", ev_cancelled);
  for (i = 0; i < G_N_ELEMENTS (runs); i++)
    {
      assert_let_go (f, runs[i]);
      g_assert_true (runs[i]->run.completed);
      g_assert_cmpuint (runs[i]->n_finish, ==, 0);
      g_assert_cmpuint (runs[i]->n_done, ==, 0);
    }
  g_assert_cmpuint (f->owner->ref_count, ==, 1);
}

static void
in_flight_clear (InFlight *in)
{
  g_clear_object (&in->waiting);
  g_clear_object (&in->running);
  g_clear_object (&in->dirty);
  g_clear_object (&in->rate);
  g_clear_object (&in->ended);
}

/* g_curl_engine_free() lets go of runs in every state without a call; handles run again. */
static void
test_free_in_flight (Fixture       *f,
                     gconstpointer  data)
{
  g_autofree char *url = test_server_url (server, "/bytes/%d", 100);
  InFlight in = { 0, };
  guint n_counts;

  in_flight_start (f, &in);
  n_counts = f->counts->len;
  g_curl_engine_free (f->engine);
  f->engine = NULL;

  g_assert_cmpuint (f->counts->len, ==, n_counts + 1);
  g_assert_cmpuint (g_array_index (f->counts, guint, n_counts), ==, 0);
  in_flight_assert_let_go (f, &in);
  run_for (f, 100);
  in_flight_assert_let_go (f, &in);

  /* The handles are free to run again. */
  f->engine = engine_new (f);
  fake_set_url (in.running, url);
  g_string_truncate (in.running->body, 0);
  fake_go (in.running);
  fake_set_url (in.waiting, url);
  fake_go (in.waiting);
  WAIT_UNTIL (f, in.running->n_finish == 1 && in.waiting->n_finish == 1);
  assert_events ("S", "^(due flush )+(due flush )*done:0 finish$");
  assert_events ("W", "^(due flush )*done:0 finish$");
  test_assert_pattern_string (in.running->body, 100);
  in_flight_clear (&in);
}

/* g_curl_engine_end_all() does the same, and the engine still runs new and restarted runs. */
static void
test_end_all (Fixture       *f,
              gconstpointer  data)
{
  g_autofree char *url = test_server_url (server, "/bytes/%d", 100);
  g_autoptr(FakeRun) n = fake_run_new (f, "N", url);
  InFlight in = { 0, };
  guint n_counts;

  in_flight_start (f, &in);
  n_counts = f->counts->len;
  g_curl_engine_end_all (f->engine);

  g_assert_cmpuint (g_curl_engine_get_n_runs (f->engine), ==, 0);
  g_assert_cmpuint (f->counts->len, ==, n_counts + 1);
  g_assert_cmpuint (g_array_index (f->counts, guint, n_counts), ==, 0);
  in_flight_assert_let_go (f, &in);
  run_for (f, 100);
  in_flight_assert_let_go (f, &in);

  fake_go (n);
  fake_set_url (in.dirty, url);
  fake_go (in.dirty);
  fake_set_url (in.running, url);
  g_string_truncate (in.running->body, 0);
  fake_go (in.running);
  WAIT_UNTIL (f, n->n_finish == 1 && in.dirty->n_finish == 1 && in.running->n_finish == 1);
  assert_events ("N", "^(due flush )*done:0 finish$");
  assert_events ("D", "^(due flush )*done:0 finish$");
  assert_events ("S", "^(due flush )+(due flush )*done:0 finish$");
  test_assert_pattern_string (n->body, 100);
  test_assert_pattern_string (in.running->body, 100);
  assert_let_go (f, n);
  in_flight_clear (&in);
}

/* 9. The speed limit */

/* A write waiting for the speed limit is resumed once, not early; the held chunk comes again. */
static void
test_rate_resume (Fixture       *f,
                  gconstpointer  data)
{
  g_autofree char *url = test_server_url (server, "/bytes/%d", 50000);
  g_autoptr(FakeRun) a = fake_run_new (f, "A", url);

  a->rate_limited_writes = 1;
  a->rate_delay = 30 * G_TIME_SPAN_MILLISECOND;
  fake_go (a);
  WAIT_UNTIL (f, a->n_finish == 1);

  assert_events ("A", "^(due flush )*rate-wait (due flush )*rate-resume "
                 "(due flush )*done:0 finish$");
  g_assert_cmpuint (a->n_rate_resume, ==, 1);
  /* The engine compares with the time it was asked for. */
  g_assert_cmpint (a->rate_resumed_at, >=, a->run.rate_resume_at);
  test_assert_pattern_string (a->body, 50000);
  assert_let_go (f, a);
}

/* A waiting run (asking twice) is resumed once, by the engine alone; one ended meanwhile never. */
static void
test_rate_wait (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(FakeRun) a = fake_run_new (f, "A", NULL);
  g_autoptr(FakeRun) b = fake_run_new (f, "B", NULL);
  g_autoptr(FakeRun) c = fake_run_new (f, "C", NULL);
  g_autoptr(FakeRun) d = fake_run_new (f, "D", NULL);
  const gint64 in = 20 * G_TIME_SPAN_MILLISECOND;

  /* Outside any dispatch, nothing else to wake the engine. */
  fake_start (a);
  fake_wait_for_rate (a, in);
  fake_wait_for_rate (a, in);
  g_assert_true (a->run.rate_waiting);
  /* Not in an engine: no wait. */
  fake_wait_for_rate (c, in);
  g_assert_false (c->run.rate_waiting);
  WAIT_UNTIL (f, a->n_rate_resume == 1);
  g_assert_false (a->run.rate_waiting);

  /* B, ended while it waits, is out of the queue at once; the flush of
   * its finish comes before D is due, and D is resumed all the same. */
  fake_start (b);
  fake_start (d);
  fake_wait_for_rate (b, in);
  fake_wait_for_rate (d, in);
  g_curl_engine_end_run (&b->run, cancelled_error ());
  g_assert_false (b->run.rate_waiting);
  g_assert_true (d->run.rate_waiting);
  WAIT_UNTIL (f, b->n_finish == 1 && d->n_rate_resume == 1);

  run_for (f, 60);
  assert_events ("A", "^rate-resume$");
  assert_events_printf ("B", "^%s finish$", ev_cancelled);
  assert_events ("C", "^$");
  assert_events ("D", "^rate-resume$");

  g_curl_engine_end_run (&a->run, cancelled_error ());
  g_curl_engine_end_run (&d->run, cancelled_error ());
  WAIT_UNTIL (f, a->n_finish == 1 && d->n_finish == 1);
  assert_events_printf ("A", "^rate-resume %s finish$", ev_cancelled);
  assert_events_printf ("D", "^rate-resume %s finish$", ev_cancelled);
  assert_let_go (f, a);
  assert_let_go (f, b);
  assert_let_go (f, d);
}

#define ADD_TEST(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  server = test_server_new ();
  ev_cancelled = fail_event (G_IO_ERROR, G_IO_ERROR_CANCELLED);
  ev_denied = fail_event (G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);
  ev_timedout = fail_event (G_CURL_ERROR, G_CURL_ERROR_OPERATION_TIMEDOUT);
  ev_failed_init = fail_event (G_CURL_ERROR, G_CURL_ERROR_FAILED_INIT);

  ADD_TEST ("/engine/run/complete", test_run_complete);
  ADD_TEST ("/engine/run/refused", test_run_refused);
  ADD_TEST ("/engine/run/file", test_run_file);
  ADD_TEST ("/engine/run/restart", test_run_restart);
  ADD_TEST ("/engine/run/restart-fails", test_run_restart_fails);
  ADD_TEST ("/engine/run/submit-fails", test_submit_fails);
  ADD_TEST ("/engine/end/waiting", test_end_waiting);
  ADD_TEST ("/engine/end/from-flush", test_end_from_flush);
  ADD_TEST ("/engine/end/after-done", test_end_after_done);
  ADD_TEST ("/engine/end/from-done", test_end_from_done);
  ADD_TEST ("/engine/reentry/start-from-flush", test_reentry_start_from_flush);
  ADD_TEST ("/engine/reentry/free-from-flush", test_reentry_free_from_flush);
  ADD_TEST ("/engine/reentry/end-other-from-finish", test_reentry_end_other_from_finish);
  ADD_TEST ("/engine/reentry/start-from-finish", test_reentry_start_from_finish);
  ADD_TEST ("/engine/reentry/owner-gone", test_reentry_owner_gone);
  ADD_TEST ("/engine/dirty/coalesce", test_dirty_coalesce);
  ADD_TEST ("/engine/dirty/one-flush-per-dispatch", test_dirty_one_flush_per_dispatch);
  ADD_TEST ("/engine/dirty/held", test_flush_held);
  ADD_TEST ("/engine/count/changes", test_count);
  ADD_TEST ("/engine/watchdog/stall", test_watchdog_stall);
  ADD_TEST ("/engine/watchdog/look-again", test_watchdog_look_again);
  ADD_TEST ("/engine/watchdog/quiet", test_watchdog_quiet);
  ADD_TEST ("/engine/watchdog/never", test_watchdog_never);
  ADD_TEST ("/engine/free/in-flight", test_free_in_flight);
  ADD_TEST ("/engine/end/all", test_end_all);
  ADD_TEST ("/engine/rate/resume", test_rate_resume);
  ADD_TEST ("/engine/rate/wait", test_rate_wait);

  ret = g_test_run ();
  test_server_free (server);
  g_free (ev_cancelled);
  g_free (ev_denied);
  g_free (ev_timedout);
  g_free (ev_failed_init);

  return ret;
}

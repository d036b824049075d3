/* gcurl-source.c: a GSource that drives a CURLM
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#ifdef HAVE_EPOLL
#include <sys/epoll.h>
#endif

#include "gcurl-source.h"
#include "gcurl-source-private.h"

/* How many epoll events one dispatch takes at most; the rest stay ready
 * (epoll is level-triggered) and are taken by the next iteration. */
#define GCURL_EPOLL_BATCH 256

/* One record per socket libcurl told us about. Records are found by fd
 * number in an array (O(1), no hashing) and given to libcurl with
 * curl_multi_assign(). libcurl keys its own socket table by fd number too,
 * so there is at most one record per fd, and a new socket that reuses an old
 * number reuses the record.
 *
 * @generation changes whenever the record's watch is added or dropped, so an
 * event collected before a change (in the same dispatch) is recognised as
 * stale and never routed to whatever socket now has that number.
 *
 * Parking (epoll backend): libcurl removes the socket of a keep-alive
 * connection when its transfer ends and adds it again for the next one,
 * often in the same dispatch. Taking it out of the epoll set and putting
 * it back costs the kernel an allocation and an RCU free each time, so a
 * socket removed during curl_multi_socket_action() stays in the set,
 * parked: libcurl does not know it, no event of it reaches libcurl (the
 * first one drops the watch), and closing it or the end of the last
 * transfer drops the watch for good. */
typedef struct
{
  curl_socket_t fd;
  guint32       generation;
  int           interest;     /* CURL_POLL_IN/OUT/INOUT, 0 when not watched */
  gboolean      watched;
  gboolean      parked;       /* removed by libcurl, still in the epoll set */
  gpointer      tag;          /* fds backend: g_source_add_unix_fd() tag */
  guint         watch_index;  /* fds backend: index in watched_sockets */
} GCurlSocket;

typedef struct
{
  curl_socket_t fd;
  guint32       generation;
  int           events;       /* CURL_CSELECT_* */
  gboolean      error;        /* G_IO_ERR, G_IO_NVAL or EPOLLERR: drop the watch */
} GCurlReadyEvent;

/* A transfer whose socket could not be watched: it is finished with @result
 * after curl_multi_socket_action() returns, instead of returning -1 from the
 * socket callback, which in libcurl 7.88 breaks the whole multi handle. */
typedef struct
{
  CURL     *easy;
  CURLcode  result;
} GCurlFailedWatch;

typedef struct
{
  GSource             parent;

  CURLM              *multi;          /* not owned */
  GCurlSourceBackend  backend;

  /* Sockets, indexed by fd number. */
  GCurlSocket       **sockets;
  guint               sockets_len;
  guint               n_sockets;       /* not counting parked ones */
  guint               n_parked;
  gboolean            may_park;        /* in dispatch, before the flush */
  int                 running;         /* transfers, as libcurl last said */
  gboolean            nudge;           /* g_curl_source_nudge() */
  gboolean            nudging;         /* this dispatch nudged */
  GPtrArray          *watched_sockets; /* fds backend, for dispatch */

  int                 epoll_fd;        /* epoll backend */
  gpointer            epoll_tag;

  /* Reused by every dispatch, so that dispatch allocates nothing. */
  GArray             *ready;
  GArray             *failed_watches;

  /* Monotonic times in µs, -1 when unset. The GSource's ready time is the
   * earlier of the two. */
  gint64              curl_expiry;     /* libcurl's timer */
  gint64              wake_time;       /* g_curl_source_wake() */
  gboolean            dispatching;     /* the ready time is set once, at its end */

  GCurlSourceFlushFunc flush_func;
  gpointer             flush_data;

  guint               fail_next_watches;
  int                 fail_errno;
} GCurlSourceImpl;

static GCurlSourceBackend
resolve_backend (GCurlSourceBackend backend)
{
  const char *env;

  if (backend != G_CURL_SOURCE_BACKEND_DEFAULT)
    return backend;

  env = g_getenv ("GCURL_BACKEND");
  if (env != NULL && g_ascii_strcasecmp (env, "fds") == 0)
    return G_CURL_SOURCE_BACKEND_FDS;
  if (env != NULL && g_ascii_strcasecmp (env, "epoll") == 0)
    return G_CURL_SOURCE_BACKEND_EPOLL;
  if (env != NULL && *env != '\0')
    g_warning ("GCURL_BACKEND=%s is not a backend (use “epoll” or “fds”); "
               "using the default", env);

#ifdef HAVE_EPOLL
  return G_CURL_SOURCE_BACKEND_EPOLL;
#else
  return G_CURL_SOURCE_BACKEND_FDS;
#endif
}

static void
update_ready_time (GCurlSourceImpl *self)
{
  gint64 ready_time = self->curl_expiry;

  /* Each change of a ready time writes to the context's wakeup fd, even
   * from its own thread: during a dispatch, where libcurl's timer and the
   * flush change it many times over, only the last value counts. */
  if (self->dispatching)
    return;

  if (self->wake_time >= 0 && (ready_time < 0 || self->wake_time < ready_time))
    ready_time = self->wake_time;

  g_source_set_ready_time ((GSource *) self, ready_time);
}

/* libcurl gives a timeout in whole milliseconds, rounded down from its own
 * clock; firing that early makes libcurl before 8.4 find nothing due and
 * never re-arm. One more millisecond puts the expiry at or after curl's. */
static gint64
expiry_from_timeout (long timeout_ms)
{
  if (timeout_ms < 0)
    return -1;
  if (timeout_ms == 0)
    return 0;
  return g_get_monotonic_time () + ((gint64) timeout_ms + 1) * 1000;
}

static int
timer_cb (CURLM    *multi,
          long      timeout_ms,
          void     *user_data)
{
  GCurlSourceImpl *self = user_data;

  /* Never call back into libcurl from here: a timeout of 0 is served by the
   * next dispatch. */
  self->curl_expiry = expiry_from_timeout (timeout_ms);
  update_ready_time (self);

  return 0;
}

static void
sync_timer_with_curl (GCurlSourceImpl *self)
{
  long timeout_ms = -1;
  CURLMcode mcode;

  mcode = curl_multi_timeout (self->multi, &timeout_ms);
  if (mcode != CURLM_OK)
    {
      g_warning ("curl_multi_timeout() failed: %s", curl_multi_strerror (mcode));
      return;
    }

  self->curl_expiry = expiry_from_timeout (timeout_ms);
}

static GCurlSocket *
lookup_socket (GCurlSourceImpl *self,
               curl_socket_t    fd)
{
  if (fd < 0 || (guint) fd >= self->sockets_len)
    return NULL;
  return self->sockets[fd];
}

static GCurlSocket *
ensure_socket (GCurlSourceImpl *self,
               curl_socket_t    fd)
{
  GCurlSocket *sock;

  if ((guint) fd >= self->sockets_len)
    {
      guint new_len = MAX (64, self->sockets_len);

      while (new_len <= (guint) fd)
        new_len *= 2;
      self->sockets = g_renew (GCurlSocket *, self->sockets, new_len);
      memset (self->sockets + self->sockets_len, 0,
              (new_len - self->sockets_len) * sizeof (GCurlSocket *));
      self->sockets_len = new_len;
    }

  sock = self->sockets[fd];
  if (sock == NULL)
    {
      sock = g_new0 (GCurlSocket, 1);
      sock->fd = fd;
      self->sockets[fd] = sock;
      self->n_sockets++;
    }

  return sock;
}

static GIOCondition
condition_for_interest (int interest)
{
  GIOCondition condition = G_IO_ERR | G_IO_HUP;

  if (interest & CURL_POLL_IN)
    condition |= G_IO_IN | G_IO_PRI;
  if (interest & CURL_POLL_OUT)
    condition |= G_IO_OUT;

  return condition;
}

#ifdef HAVE_EPOLL
static guint32
epoll_events_for_interest (int interest)
{
  guint32 events = 0;

  if (interest & CURL_POLL_IN)
    events |= EPOLLIN | EPOLLPRI | EPOLLRDHUP;
  if (interest & CURL_POLL_OUT)
    events |= EPOLLOUT;

  return events;
}
#endif

static void
drop_watch (GCurlSourceImpl *self,
            GCurlSocket     *sock)
{
  if (!sock->watched)
    return;

  sock->watched = FALSE;
  sock->interest = 0;
  sock->generation++;

  if (self->backend == G_CURL_SOURCE_BACKEND_FDS)
    {
      GCurlSocket *last;

      g_source_remove_unix_fd ((GSource *) self, sock->tag);
      sock->tag = NULL;

      /* Swap-remove from the dispatch list, keeping indexes right. */
      last = g_ptr_array_index (self->watched_sockets,
                                self->watched_sockets->len - 1);
      last->watch_index = sock->watch_index;
      g_ptr_array_remove_index_fast (self->watched_sockets, sock->watch_index);
    }
#ifdef HAVE_EPOLL
  else
    {
      /* ENOENT, EBADF and EPERM mean the fd was closed (and perhaps its
       * number reused by a file epoll cannot watch) behind our back, which
       * took it out of the epoll set already. */
      if (epoll_ctl (self->epoll_fd, EPOLL_CTL_DEL, sock->fd, NULL) < 0 &&
          errno != ENOENT && errno != EBADF && errno != EPERM)
        g_warning ("Could not stop watching socket %d: %s",
                   (int) sock->fd, g_strerror (errno));
    }
#endif
}

/* Returns 0, or an errno value when the socket cannot be watched. */
static int
set_watch (GCurlSourceImpl *self,
           GCurlSocket     *sock,
           int              interest)
{
  if (self->fail_next_watches > 0)
    {
      self->fail_next_watches--;
      drop_watch (self, sock);
      return self->fail_errno;
    }

  if (self->backend == G_CURL_SOURCE_BACKEND_FDS)
    {
      if (sock->watched)
        {
          g_source_modify_unix_fd ((GSource *) self, sock->tag,
                                   condition_for_interest (interest));
        }
      else
        {
          sock->tag = g_source_add_unix_fd ((GSource *) self, sock->fd,
                                            condition_for_interest (interest));
          sock->watch_index = self->watched_sockets->len;
          g_ptr_array_add (self->watched_sockets, sock);
        }
    }
#ifdef HAVE_EPOLL
  else
    {
      struct epoll_event ev = { 0, };
      int op = sock->watched ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
      int ret;

      if (!sock->watched)
        sock->generation++;

      ev.events = epoll_events_for_interest (interest);
      ev.data.u64 = ((guint64) sock->generation << 32) | (guint32) sock->fd;

      ret = epoll_ctl (self->epoll_fd, op, sock->fd, &ev);
      /* The fd may have been closed and its number reused behind our back
       * (MOD finds nothing), or still be in the set after curl forgot it
       * (ADD finds it): either way, the other operation is right. */
      if (ret < 0 && errno == ENOENT && op == EPOLL_CTL_MOD)
        ret = epoll_ctl (self->epoll_fd, EPOLL_CTL_ADD, sock->fd, &ev);
      else if (ret < 0 && errno == EEXIST && op == EPOLL_CTL_ADD)
        ret = epoll_ctl (self->epoll_fd, EPOLL_CTL_MOD, sock->fd, &ev);
      if (ret < 0)
        {
          int errsv = errno;

          sock->watched = FALSE;
          sock->interest = 0;
          return errsv;
        }
    }
#endif

  if (!sock->watched && self->backend == G_CURL_SOURCE_BACKEND_FDS)
    sock->generation++;
  sock->watched = TRUE;
  sock->interest = interest;

  return 0;
}

static void
free_socket (GCurlSourceImpl *self,
             GCurlSocket     *sock)
{
  drop_watch (self, sock);
  self->sockets[sock->fd] = NULL;
  if (sock->parked)
    self->n_parked--;
  else
    self->n_sockets--;
  g_free (sock);
}

static void
park_socket (GCurlSourceImpl *self,
             GCurlSocket     *sock)
{
  sock->parked = TRUE;
  self->n_parked++;
  self->n_sockets--;
}

static void
unpark_socket (GCurlSourceImpl *self,
               GCurlSocket     *sock)
{
  sock->parked = FALSE;
  self->n_parked--;
  self->n_sockets++;
}

/* With no transfer left, nothing may stay in the epoll set: a parked
 * socket whose peer closes would wake an idle main loop. */
static void
free_parked_sockets (GCurlSourceImpl *self)
{
  guint i;

  for (i = 0; i < self->sockets_len && self->n_parked > 0; i++)
    if (self->sockets[i] != NULL && self->sockets[i]->parked)
      free_socket (self, self->sockets[i]);
}

static void
note_failed_watch (GCurlSourceImpl *self,
                   CURL            *easy,
                   curl_socket_t    fd,
                   int              errsv)
{
  GCurlFailedWatch failed = { easy, errsv == ENOMEM ? CURLE_OUT_OF_MEMORY
                                                    : CURLE_COULDNT_CONNECT };
  const char *url = NULL;
  guint i;

  for (i = 0; i < self->failed_watches->len; i++)
    if (g_array_index (self->failed_watches, GCurlFailedWatch, i).easy == easy)
      return;

  if (easy != NULL)
    curl_easy_getinfo (easy, CURLINFO_EFFECTIVE_URL, &url);
  g_warning ("Could not watch socket %d of the transfer of %s: %s",
             (int) fd, url ? url : "(unknown)", g_strerror (errsv));

  if (easy != NULL)
    {
      g_array_append_val (self->failed_watches, failed);
      /* The socket callback also runs outside dispatch (remove_handle,
       * easy_pause): make sure a dispatch comes to report it. */
      self->wake_time = 0;
      update_ready_time (self);
    }
}

static int
socket_cb (CURL          *easy,
           curl_socket_t  fd,
           int            what,
           void          *user_data,
           void          *socketp)
{
  GCurlSourceImpl *self = user_data;
  GCurlSocket *sock;
  int errsv;

  /* socketp is what curl_multi_assign() stored. Records are only freed on
   * CURL_POLL_REMOVE, when libcurl forgets them too, so it is never stale;
   * it is NULL for a socket new to libcurl, whose fd number may still have
   * a record if libcurl dropped the old socket without telling us. */
  sock = socketp != NULL ? socketp : lookup_socket (self, fd);

  if (what == CURL_POLL_REMOVE)
    {
      if (sock == NULL)
        return 0;
      if (self->may_park && sock->watched && !sock->parked &&
          self->backend == G_CURL_SOURCE_BACKEND_EPOLL)
        park_socket (self, sock);
      else
        free_socket (self, sock);
      return 0;
    }

  if (socketp == NULL)
    {
      CURLMcode mcode;

      if (sock == NULL)
        sock = ensure_socket (self, fd);
      else if (sock->parked)
        unpark_socket (self, sock);
      mcode = curl_multi_assign (self->multi, fd, sock);
      if (mcode != CURLM_OK)
        g_warning ("curl_multi_assign() failed for socket %d: %s",
                   (int) fd, curl_multi_strerror (mcode));
    }

  if (sock->watched && sock->interest == what)
    return 0;

  errsv = set_watch (self, sock, what);
  if (errsv != 0)
    note_failed_watch (self, easy, fd, errsv);

  return 0;
}

/* What libcurl is told of a ready socket, as its own poll tells it
 * (Curl_socket_check()): an error or a hang-up is learnt by reading, or
 * writing, which gives the real error. CURL_CSELECT_ERR alone would make
 * libcurl 7.88 fail the transfer with CURLE_SEND_ERROR "select/poll
 * returned error", and lose that error: a reset connection is
 * CURLE_RECV_ERROR, "Connection reset by peer". The kernel can report a
 * reset as an error alone, before it marks the socket hung up. */
int
g_curl_source_events_from_condition (GIOCondition condition)
{
  int events = 0;

  if (condition & (G_IO_IN | G_IO_PRI | G_IO_HUP | G_IO_ERR))
    events |= CURL_CSELECT_IN;
  if (condition & (G_IO_OUT | G_IO_ERR))
    events |= CURL_CSELECT_OUT;
  if (condition & (G_IO_ERR | G_IO_NVAL))
    events |= CURL_CSELECT_ERR;

  return events;
}

static void
collect_ready_fds (GCurlSourceImpl *self)
{
  guint i;

  for (i = 0; i < self->watched_sockets->len; i++)
    {
      GCurlSocket *sock = g_ptr_array_index (self->watched_sockets, i);
      GIOCondition revents = g_source_query_unix_fd ((GSource *) self, sock->tag);
      GCurlReadyEvent ev;

      if (revents == 0)
        continue;

      ev.fd = sock->fd;
      ev.generation = sock->generation;
      ev.events = g_curl_source_events_from_condition (revents);
      ev.error = (revents & (G_IO_ERR | G_IO_NVAL)) != 0;
      g_array_append_val (self->ready, ev);
    }
}

#ifdef HAVE_EPOLL
static void
collect_ready_epoll (GCurlSourceImpl *self)
{
  struct epoll_event events[GCURL_EPOLL_BATCH];
  int n, i;

  if (g_source_query_unix_fd ((GSource *) self, self->epoll_tag) == 0)
    return;

  do
    n = epoll_wait (self->epoll_fd, events, G_N_ELEMENTS (events), 0);
  while (n < 0 && errno == EINTR);

  if (n < 0)
    {
      g_warning ("epoll_wait() failed: %s", g_strerror (errno));
      return;
    }

  for (i = 0; i < n; i++)
    {
      GCurlReadyEvent ev = { 0, };
      guint32 e = events[i].events;

      ev.fd = (curl_socket_t) (events[i].data.u64 & G_MAXUINT32);
      ev.generation = (guint32) (events[i].data.u64 >> 32);
      ev.events = g_curl_source_events_from_condition (
        ((e & (EPOLLIN | EPOLLPRI | EPOLLRDHUP)) ? G_IO_IN : 0) |
        ((e & EPOLLOUT) ? G_IO_OUT : 0) |
        ((e & EPOLLHUP) ? G_IO_HUP : 0) |
        ((e & EPOLLERR) ? G_IO_ERR : 0));
      ev.error = (e & EPOLLERR) != 0;
      g_array_append_val (self->ready, ev);
    }
}
#endif

static void
socket_action (GCurlSourceImpl *self,
               curl_socket_t    fd,
               int              events)
{
  int running = 0;
  CURLMcode mcode;

  mcode = curl_multi_socket_action (self->multi, fd, events, &running);
  self->running = running;
  if (mcode != CURLM_OK)
    g_warning ("curl_multi_socket_action() failed on %s %d: %s",
               fd == CURL_SOCKET_TIMEOUT ? "timer" : "socket",
               fd == CURL_SOCKET_TIMEOUT ? 0 : (int) fd,
               curl_multi_strerror (mcode));
}

static void
act_on_ready_sockets (GCurlSourceImpl *self)
{
  guint i;

  for (i = 0; i < self->ready->len; i++)
    {
      GCurlReadyEvent *ev = &g_array_index (self->ready, GCurlReadyEvent, i);
      GCurlSocket *sock = lookup_socket (self, ev->fd);

      /* An earlier action in this dispatch may have removed the socket or
       * given its number to a new one. */
      if (sock == NULL || !sock->watched || sock->generation != ev->generation)
        continue;

      /* Data or a close on an idle connection: libcurl will find out when
       * it uses it again; until then, no more wakeups for it. */
      if (sock->parked)
        {
          free_socket (self, sock);
          continue;
        }

      socket_action (self, ev->fd, ev->events);

      /* An error condition stays set: if libcurl did not change the watch in
       * response (it closes a failed socket, or asks for something new),
       * drop it rather than be woken for it again and again. */
      sock = lookup_socket (self, ev->fd);
      if (ev->error && sock != NULL && sock->generation == ev->generation)
        drop_watch (self, sock);
    }

  g_array_set_size (self->ready, 0);
}

/* Acts on every socket libcurl watches for reading as if it were readable
 * (see g_curl_source_nudge()). */
static void
act_on_nudge (GCurlSourceImpl *self)
{
  guint i;

  self->nudge = FALSE;
  self->nudging = TRUE;

  /* Into the ready list, like real events: an action may remove a socket
   * or give its number to a new one. */
  for (i = 0; i < self->sockets_len; i++)
    {
      GCurlSocket *sock = self->sockets[i];
      GCurlReadyEvent ev = { 0, };

      if (sock == NULL || !sock->watched || sock->parked || !(sock->interest & CURL_POLL_IN))
        continue;

      ev.fd = sock->fd;
      ev.generation = sock->generation;
      ev.events = CURL_CSELECT_IN;
      g_array_append_val (self->ready, ev);
    }

  act_on_ready_sockets (self);
}

/* Synthesises a CURLMSG_DONE for each transfer whose socket could not be
 * watched, so its owner finishes it like any other failed transfer. */
static gboolean
report_failed_watches (GCurlSourceImpl *self,
                       GCurlSourceFunc  callback,
                       gpointer         user_data)
{
  while (self->failed_watches->len > 0)
    {
      GCurlFailedWatch failed = g_array_index (self->failed_watches, GCurlFailedWatch, 0);
      CURLMsg message = { 0, };

      g_array_remove_index (self->failed_watches, 0);

      message.msg = CURLMSG_DONE;
      message.easy_handle = failed.easy;
      message.data.result = failed.result;

      if (callback != NULL && !callback (&message, user_data))
        return FALSE;
      if (g_source_is_destroyed ((GSource *) self))
        return FALSE;
    }

  return TRUE;
}

static gboolean
drain_messages (GCurlSourceImpl *self,
                GCurlSourceFunc  callback,
                gpointer         user_data)
{
  CURLMsg *message;
  int remaining;

  /* Without a callback the messages stay queued for whoever owns the multi
   * to read with curl_multi_info_read(). */
  if (callback == NULL)
    return TRUE;

  while ((message = curl_multi_info_read (self->multi, &remaining)) != NULL)
    {
      if (message->msg != CURLMSG_DONE)
        continue;
      if (!callback (message, user_data))
        return FALSE;
      if (g_source_is_destroyed ((GSource *) self))
        return FALSE;
    }

  return TRUE;
}

static gboolean
g_curl_source_dispatch (GSource     *source,
                        GSourceFunc  source_func,
                        gpointer     user_data)
{
  GCurlSourceImpl *self = (GCurlSourceImpl *) source;
  GCurlSourceFunc callback = (GCurlSourceFunc) (void (*) (void)) source_func;
  gint64 now = g_source_get_time (source);
  gboolean keep = TRUE;

  if (self->multi == NULL)
    return G_SOURCE_REMOVE;

  /* Sockets removed from here to the end of the completions (libcurl
   * removes a keep-alive socket when its transfer is removed) may park. */
  self->may_park = TRUE;
  self->dispatching = TRUE;

  if (self->backend == G_CURL_SOURCE_BACKEND_FDS)
    collect_ready_fds (self);
#ifdef HAVE_EPOLL
  else
    collect_ready_epoll (self);
#endif
  act_on_ready_sockets (self);
  if (self->nudge)
    act_on_nudge (self);

  if (self->curl_expiry >= 0 && self->curl_expiry <= now)
    {
      self->curl_expiry = -1;
      socket_action (self, CURL_SOCKET_TIMEOUT, 0);
      /* libcurl before 8.4 may not re-arm a timer it found early: ask it
       * when it wants to run next instead of trusting the callback alone. */
      sync_timer_with_curl (self);
    }

  if (self->wake_time >= 0 && self->wake_time <= now)
    self->wake_time = -1;

  keep = report_failed_watches (self, callback, user_data) &&
         drain_messages (self, callback, user_data);

  self->may_park = FALSE;

  if (keep && self->flush_func != NULL)
    self->flush_func (self->flush_data);
  self->nudging = FALSE;

  if (g_source_is_destroyed (source))
    return G_SOURCE_REMOVE;
  self->dispatching = FALSE;
  update_ready_time (self);

  /* No transfer runs, and none was added by the flush (libcurl would have
   * asked for its timer): the parked sockets will not be used soon. */
  if (self->n_parked > 0 && self->running == 0 && self->curl_expiry < 0)
    free_parked_sockets (self);

  return keep;
}

static void
g_curl_source_finalize (GSource *source)
{
  GCurlSourceImpl *self = (GCurlSourceImpl *) source;
  guint i;

  if (self->multi != NULL)
    {
      curl_multi_setopt (self->multi, CURLMOPT_SOCKETFUNCTION, NULL);
      curl_multi_setopt (self->multi, CURLMOPT_SOCKETDATA, NULL);
      curl_multi_setopt (self->multi, CURLMOPT_TIMERFUNCTION, NULL);
      curl_multi_setopt (self->multi, CURLMOPT_TIMERDATA, NULL);
      self->multi = NULL;
    }

  /* The fd tags go with the GSource, and the epoll set with its fd. */
  for (i = 0; i < self->sockets_len; i++)
    g_free (self->sockets[i]);
  g_clear_pointer (&self->sockets, g_free);
  g_clear_pointer (&self->watched_sockets, g_ptr_array_unref);
  g_clear_pointer (&self->ready, g_array_unref);
  g_clear_pointer (&self->failed_watches, g_array_unref);

  if (self->epoll_fd >= 0)
    {
      close (self->epoll_fd);
      self->epoll_fd = -1;
    }
}

static GSourceFuncs g_curl_source_funcs = {
  NULL,
  NULL,
  g_curl_source_dispatch,
  g_curl_source_finalize,
  NULL,
  NULL,
};

/**
 * g_curl_source_new_with_backend: (skip)
 * @multi: (not nullable): a libcurl multi handle
 * @backend: how to watch the sockets
 *
 * Creates a source like [func@GCurl.source_new] that watches libcurl's
 * sockets with @backend.
 *
 * Asking for %G_CURL_SOURCE_BACKEND_EPOLL where epoll does not exist, or
 * when an epoll fd cannot be created, gives a source with the
 * %G_CURL_SOURCE_BACKEND_FDS backend: see [func@GCurl.source_get_backend].
 *
 * Returns: (transfer full): a new source
 *
 * Since: 0.1
 */
GSource *
g_curl_source_new_with_backend (CURLM              *multi,
                                GCurlSourceBackend  backend)
{
  GCurlSourceImpl *self;
  GSource *source;

  g_return_val_if_fail (multi != NULL, NULL);

  source = g_source_new (&g_curl_source_funcs, sizeof (GCurlSourceImpl));
  g_source_set_static_name (source, "GCurlSource");
  self = (GCurlSourceImpl *) source;

  self->multi = multi;
  self->epoll_fd = -1;
  self->curl_expiry = -1;
  self->wake_time = -1;
  self->watched_sockets = g_ptr_array_new ();
  self->ready = g_array_new (FALSE, FALSE, sizeof (GCurlReadyEvent));
  self->failed_watches = g_array_new (FALSE, FALSE, sizeof (GCurlFailedWatch));
  self->backend = resolve_backend (backend);

#ifdef HAVE_EPOLL
  if (self->backend == G_CURL_SOURCE_BACKEND_EPOLL)
    {
      self->epoll_fd = epoll_create1 (EPOLL_CLOEXEC);
      if (self->epoll_fd < 0)
        {
          g_warning ("Could not create an epoll fd (%s); watching sockets "
                     "with the fds backend instead", g_strerror (errno));
          self->backend = G_CURL_SOURCE_BACKEND_FDS;
        }
      else
        {
          self->epoll_tag = g_source_add_unix_fd (source, self->epoll_fd, G_IO_IN);
        }
    }
#else
  self->backend = G_CURL_SOURCE_BACKEND_FDS;
#endif

  curl_multi_setopt (multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
  curl_multi_setopt (multi, CURLMOPT_SOCKETDATA, self);
  curl_multi_setopt (multi, CURLMOPT_TIMERFUNCTION, timer_cb);
  curl_multi_setopt (multi, CURLMOPT_TIMERDATA, self);

  return source;
}

/**
 * g_curl_source_new: (skip)
 * @multi: (not nullable): a libcurl multi handle
 *
 * Creates a source that runs the transfers of @multi on the main context it
 * is attached to, with no threads and no polling.
 *
 * The source installs `CURLMOPT_SOCKETFUNCTION` and `CURLMOPT_TIMERFUNCTION`
 * (and their data) on @multi: every socket libcurl uses becomes a watch of
 * the source, and libcurl's timeout becomes its ready time, so an idle
 * multi causes no wakeups at all. When a socket is ready or the timeout has
 * passed, the source calls `curl_multi_socket_action()`, then hands each
 * `CURLMSG_DONE` message to its callback, a [callback@GCurl.SourceFunc] set
 * with g_source_set_callback() (cast with `G_SOURCE_FUNC()`). A source with
 * no callback leaves the messages for the caller to read with
 * `curl_multi_info_read()`.
 *
 * Sockets are watched with the backend named by the environment variable
 * `GCURL_BACKEND` (`epoll` or `fds`), or with epoll where it exists: see
 * [func@GCurl.source_new_with_backend].
 *
 * @multi must stay valid until the source is finalized, and must be driven
 * only by this source: call `curl_multi_cleanup()` after the last
 * g_source_unref().
 *
 * Returns: (transfer full): a new source, to attach with g_source_attach()
 *
 * Since: 0.1
 */
GSource *
g_curl_source_new (CURLM *multi)
{
  return g_curl_source_new_with_backend (multi, G_CURL_SOURCE_BACKEND_DEFAULT);
}

/**
 * g_curl_source_get_backend: (skip)
 * @source: a source made by [func@GCurl.source_new]
 *
 * Tells how @source watches libcurl's sockets.
 *
 * Language bindings cannot make such a source (it needs a `CURLM`), so this
 * is for C only; [method@GCurl.Multi.get_backend] tells the same of a
 * multi.
 *
 * Returns: %G_CURL_SOURCE_BACKEND_FDS or %G_CURL_SOURCE_BACKEND_EPOLL
 *
 * Since: 0.1
 */
GCurlSourceBackend
g_curl_source_get_backend (GSource *source)
{
  g_return_val_if_fail (source != NULL, G_CURL_SOURCE_BACKEND_DEFAULT);
  g_return_val_if_fail (source->source_funcs == &g_curl_source_funcs,
                        G_CURL_SOURCE_BACKEND_DEFAULT);

  return ((GCurlSourceImpl *) source)->backend;
}

void
g_curl_source_set_flush_func (GSource              *source,
                              GCurlSourceFlushFunc  func,
                              gpointer              user_data)
{
  GCurlSourceImpl *self = (GCurlSourceImpl *) source;

  self->flush_func = func;
  self->flush_data = user_data;
}

/* Makes the source dispatch at @ready_time (monotonic µs; 0 = as soon as
 * possible) even if libcurl has nothing to do then, to run the flush func. */
void
g_curl_source_wake (GSource *source,
                    gint64   ready_time)
{
  GCurlSourceImpl *self = (GCurlSourceImpl *) source;

  if (self->wake_time >= 0 && self->wake_time <= ready_time)
    return;

  self->wake_time = MAX (ready_time, 0);
  update_ready_time (self);
}

/* Makes the next dispatch act on every socket libcurl watches for reading
 * as if it were readable. libcurl 7.88 can keep the last bytes of an HTTP/2
 * stream in its connection buffer, unprocessed, when the stream's receive
 * buffer was full as they came: it processes them only when the socket is
 * readable again, which, once the server has sent everything, it never
 * is, and the transfer hangs. An action on a socket with nothing to read
 * costs libcurl one failed recv(). */
void
g_curl_source_nudge (GSource *source)
{
  GCurlSourceImpl *self = (GCurlSourceImpl *) source;

  self->nudge = TRUE;
  g_curl_source_wake (source, 0);
}

/* Whether the dispatch whose flush is running nudged the sockets. */
gboolean
g_curl_source_is_nudging (GSource *source)
{
  return ((GCurlSourceImpl *) source)->nudging;
}

/* Drops the watch on @fd before its owner closes it, so that a watch can
 * never outlive its socket, whatever libcurl reports later. The record
 * stays for libcurl's CURL_POLL_REMOVE, if it comes. */
void
g_curl_source_forget_socket (GSource       *source,
                             curl_socket_t  fd)
{
  GCurlSourceImpl *self = (GCurlSourceImpl *) source;
  GCurlSocket *sock = lookup_socket (self, fd);

  /* libcurl said CURL_POLL_REMOVE for a parked socket already. */
  if (sock != NULL && sock->parked)
    free_socket (self, sock);
  else if (sock != NULL)
    drop_watch (self, sock);
}

static curl_socket_t
open_socket_cb (void                 *user_data,
                curlsocktype          purpose,
                struct curl_sockaddr *address)
{
  return socket (address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

/* The watch goes before the fd, so that no watch can outlive its socket,
 * whenever libcurl's CURL_POLL_REMOVE comes. */
static int
close_socket_cb (void          *user_data,
                 curl_socket_t  fd)
{
  g_curl_source_forget_socket (user_data, fd);
  return close (fd);
}

/* Makes @source open and close the sockets of @easy (a handle of its
 * multi): libcurl's close-socket callback drops the watch before the fd
 * is closed. */
void
g_curl_source_own_sockets (GSource *source,
                           CURL    *easy)
{
  curl_easy_setopt (easy, CURLOPT_OPENSOCKETFUNCTION, open_socket_cb);
  curl_easy_setopt (easy, CURLOPT_OPENSOCKETDATA, NULL);
  curl_easy_setopt (easy, CURLOPT_CLOSESOCKETFUNCTION, close_socket_cb);
  curl_easy_setopt (easy, CURLOPT_CLOSESOCKETDATA, source);
}

/* The multi handle is about to be freed: the source must not touch it. */
void
g_curl_source_detach_multi (GSource *source)
{
  GCurlSourceImpl *self = (GCurlSourceImpl *) source;

  self->multi = NULL;
}

guint
g_curl_source_get_n_sockets (GSource *source)
{
  return ((GCurlSourceImpl *) source)->n_sockets;
}

guint
g_curl_source_get_n_watches (GSource *source)
{
  GCurlSourceImpl *self = (GCurlSourceImpl *) source;
  guint i, n = 0;

  for (i = 0; i < self->sockets_len; i++)
    if (self->sockets[i] != NULL && self->sockets[i]->watched && !self->sockets[i]->parked)
      n++;

  return n;
}

void
g_curl_source_fail_next_watches (GSource *source,
                                 guint    n,
                                 int      errsv)
{
  GCurlSourceImpl *self = (GCurlSourceImpl *) source;

  self->fail_next_watches = n;
  self->fail_errno = errsv;
}

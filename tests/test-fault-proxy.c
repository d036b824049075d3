/* test-fault-proxy.c: a fault-injecting TCP relay for the tests
 *
 * Threading: the proxy thread owns every socket once the proxy exists: the
 * listening socket and both ends of every connection, all non-blocking,
 * watched by one poll() loop; it is the only thread that reads, writes or
 * closes them. The test thread talks to it through @lock: the plan and the
 * counters are plain fields under it, and the commands (pause, resume,
 * stop) are posted in @command, the loop woken through @wake_fds, and the
 * caller waits on @cond until the loop has carried them out. The only
 * sockets the test thread touches are listening sockets it binds before
 * handing them over (in test_fault_proxy_new() and on resume).
 *
 * Each direction of a connection has one buffer, refilled only once it has
 * been written out entirely: simple back-pressure, and for the downstream
 * direction it means that when the proxy reads from the server, everything
 * read before has been written to the client, which is what the faults
 * count on.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* accept4(), to accept sockets close-on-exec with no window for a fork. */
#define _GNU_SOURCE 1

#include "test-fault-proxy.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#ifdef __linux__
#include <linux/sockios.h>
#endif

#include <glib-unix.h>

/* Bytes buffered per direction of a connection. */
#define BUFFER_SIZE         (64 * 1024)
#define LISTEN_BACKLOG      128
/* After a FIN (CLOSE), how long the proxy waits for the client's FIN. */
#define LINGER_TIMEOUT_US   (2 * G_USEC_PER_SEC)
/* Before an RST (RESET), how long the proxy waits for the client to
 * acknowledge what was sent, polling this often: an RST discards whatever
 * is still in the send queue. */
#define RESET_TIMEOUT_US    (2 * G_USEC_PER_SEC)
#define RESET_POLL_US       (10 * G_TIME_SPAN_MILLISECOND)
/* TRICKLE writes rate * TRICKLE_INTERVAL_US / 1 s bytes per write. */
#define TRICKLE_INTERVAL_US (10 * G_TIME_SPAN_MILLISECOND)

/* TEST_FAULT_PROXY_DEBUG=1 in the environment traces every connection. */
#define TRACE(conn, ...) G_STMT_START {                                   \
    if (trace_enabled ())                                                 \
      {                                                                   \
        g_autofree char *trace_message = g_strdup_printf (__VA_ARGS__);   \
        g_printerr ("test-fault-proxy: connection %u: %s\n",             \
                    (conn)->index, trace_message);                        \
      }                                                                   \
  } G_STMT_END

typedef enum
{
  COMMAND_NONE,
  COMMAND_PAUSE,
  COMMAND_RESUME,
  COMMAND_STOP,
} Command;

typedef struct
{
  struct sockaddr_storage address;
  socklen_t               length;
} UpstreamAddress;

struct _TestFaultProxy
{
  /* Fixed for the proxy's lifetime. */
  GThread      *thread;
  int           wake_fds[2];   /* pipe: the test thread writes, the loop reads */
  guint16       port;
  GArray       *upstream;      /* UpstreamAddress, in getaddrinfo() order */

  GMutex        lock;
  GCond         cond;
  /* Under @lock. */
  Command       command;       /* COMMAND_NONE once carried out */
  int           command_fd;    /* COMMAND_RESUME: the new listening socket */
  gboolean      paused;
  TestFaultPlan plan;
  guint         plan_applied;  /* connections that got @plan since it was set */
  guint         n_accepted;
  guint         n_open;
  guint64       bytes_down;
  guint64       bytes_up;
  GArray       *connection_bytes; /* guint64 per connection, in accept order */

  /* Proxy thread only (and the test thread once the thread is joined). */
  int           listen_fd;     /* -1 while paused */
  GPtrArray    *connections;   /* Connection */
};

typedef enum
{
  STATE_CONNECTING,  /* connecting to the server */
  STATE_RELAYING,
  STATE_STALLED,     /* STALL fired: nothing more goes downstream */
  STATE_LINGERING,   /* CLOSE fired: FIN sent, waiting for the client's */
  STATE_RESETTING,   /* waiting for the client's acknowledgement, then RST */
} State;

typedef struct
{
  TestFaultProxy *proxy;
  guint           index;          /* in accept order */
  State           state;
  TestFaultPlan   plan;           /* what this connection gets */
  int             down_fd;        /* the client's connection */
  int             up_fd;          /* the server's; -1 once closed */
  guint           next_address;   /* STATE_CONNECTING: in proxy->upstream */
  gboolean        done;           /* closed; to be freed */

  /* Downstream: server → client. */
  guint8         *down_buf;
  gsize           down_start;
  gsize           down_len;
  guint64         down_read;      /* bytes read from the server */
  guint64         down_sent;      /* bytes written to the client */
  gboolean        up_eof;         /* the server sent its FIN */
  gboolean        down_shut;      /* we sent the client a FIN */

  /* Upstream: client → server. */
  guint8         *up_buf;
  gsize           up_start;
  gsize           up_len;

  /* An fd that reported POLLHUP or POLLERR is left out of poll() while it
   * is not read from, or poll() would return at once, again and again. */
  gboolean        down_hup;
  gboolean        up_hup;

  gint64          deadline;       /* STATE_LINGERING, STATE_RESETTING */
  gint64          trickle_next;   /* TRICKLE: earliest time of the next write */
} Connection;

static gboolean
trace_enabled (void)
{
  static gsize enabled = 0;

  if (g_once_init_enter (&enabled))
    g_once_init_leave (&enabled, g_getenv ("TEST_FAULT_PROXY_DEBUG") != NULL ? 2 : 1);
  return enabled == 2;
}

/* Sockets */

static void
set_error_from_errno (GError     **error,
                      int          saved_errno,
                      const char  *what)
{
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
               "test-fault-proxy: %s: %s", what, g_strerror (saved_errno));
}

static void
close_fd (int *fd)
{
  if (*fd >= 0)
    {
      close (*fd);
      *fd = -1;
    }
}

/* Closes *@fd with an RST instead of a FIN. */
static void
reset_fd (int *fd)
{
  struct linger linger = { .l_onoff = 1, .l_linger = 0 };

  if (*fd < 0)
    return;
  if (setsockopt (*fd, SOL_SOCKET, SO_LINGER, &linger, sizeof linger) != 0)
    g_warning ("test-fault-proxy: SO_LINGER failed: %s", g_strerror (errno));
  close_fd (fd);
}

static void
set_nodelay (int fd)
{
  int one = 1;

  /* Small writes (TRICKLE, the bytes before a fault) leave at once. */
  setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* A listening socket on 127.0.0.1:@port (0: an ephemeral port), whose port
 * is stored in *@port_out. */
static int
listen_on (guint16   port,
           guint16  *port_out,
           GError  **error)
{
  struct sockaddr_in address = { 0 };
  socklen_t length = sizeof address;
  int one = 1;
  int fd;

  fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    {
      set_error_from_errno (error, errno, "socket");
      return -1;
    }

  /* Needed to listen again on the port of connections in TIME-WAIT. */
  setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);

  address.sin_family = AF_INET;
  address.sin_port = g_htons (port);
  address.sin_addr.s_addr = g_htonl (INADDR_LOOPBACK);
  if (bind (fd, (struct sockaddr *) &address, sizeof address) != 0)
    {
      int saved_errno = errno;

      close (fd);
      set_error_from_errno (error, saved_errno, "bind");
      return -1;
    }
  if (listen (fd, LISTEN_BACKLOG) != 0 ||
      getsockname (fd, (struct sockaddr *) &address, &length) != 0)
    {
      int saved_errno = errno;

      close (fd);
      set_error_from_errno (error, saved_errno, "listen");
      return -1;
    }

  *port_out = g_ntohs (address.sin_port);
  return fd;
}

static gboolean
send_queue_empty (int fd)
{
#ifdef SIOCOUTQ
  int unacked = 0;

  if (ioctl (fd, SIOCOUTQ, &unacked) == 0)
    return unacked == 0;
#endif
  /* Without a way to ask, rely on the time limit alone. */
  return FALSE;
}

static gboolean
errno_is_transient (int e)
{
  return e == EAGAIN || e == EWOULDBLOCK || e == EINTR;
}

/* Connections: opening and closing */

static void
connection_count_closed (Connection *conn)
{
  TestFaultProxy *proxy = conn->proxy;

  g_mutex_lock (&proxy->lock);
  proxy->n_open--;
  g_mutex_unlock (&proxy->lock);
}

/* Closes what is left with plain close()s. */
static void
connection_close (Connection *conn)
{
  if (conn->done)
    return;
  TRACE (conn, "closed (%" G_GUINT64_FORMAT " bytes down)", conn->down_sent);
  close_fd (&conn->up_fd);
  close_fd (&conn->down_fd);
  conn->done = TRUE;
  connection_count_closed (conn);
}

/* Both sides get an RST at once. */
static void
connection_abort (Connection *conn)
{
  TRACE (conn, "RST to both");
  reset_fd (&conn->up_fd);
  reset_fd (&conn->down_fd);
  connection_close (conn);
}

static void
connection_free (Connection *conn)
{
  connection_close (conn);
  g_free (conn->down_buf);
  g_free (conn->up_buf);
  g_free (conn);
}

/* RST to the server now, and to the client once it has what was sent. */
static void
connection_start_reset (Connection *conn)
{
  TRACE (conn, "RST to the server, then to the client");
  reset_fd (&conn->up_fd);
  conn->up_len = 0;
  conn->down_len = 0;
  conn->state = STATE_RESETTING;
  conn->deadline = g_get_monotonic_time () + RESET_TIMEOUT_US;
}

/* Starts connecting to the next upstream address; when none is left the
 * client gets an RST. */
static void
connection_connect_next (Connection *conn)
{
  GArray *upstream = conn->proxy->upstream;

  while (conn->next_address < upstream->len)
    {
      UpstreamAddress *address = &g_array_index (upstream, UpstreamAddress, conn->next_address++);

      conn->up_fd = socket (address->address.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      if (conn->up_fd < 0)
        continue;
      set_nodelay (conn->up_fd);

      if (connect (conn->up_fd, (struct sockaddr *) &address->address, address->length) == 0)
        {
          conn->state = STATE_RELAYING;
          return;
        }
      if (errno == EINPROGRESS)
        {
          conn->state = STATE_CONNECTING;
          return;
        }
      close_fd (&conn->up_fd);
    }

  connection_abort (conn);
}

static void
connection_check_connect (Connection *conn)
{
  int error = 0;
  socklen_t length = sizeof error;

  if (getsockopt (conn->up_fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 && error == 0)
    {
      conn->state = STATE_RELAYING;
      return;
    }

  close_fd (&conn->up_fd);
  conn->up_hup = FALSE;
  connection_connect_next (conn);
}

/* Accepts every pending connection. */
static void
proxy_accept_all (TestFaultProxy *proxy)
{
  while (proxy->listen_fd >= 0)
    {
      TestFaultPlan plan = { TEST_FAULT_NONE, 0, 0, 0 };
      Connection *conn;
      guint64 zero = 0;
      guint index;
      int fd;

      fd = accept4 (proxy->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd < 0)
        {
          if (errno == EINTR || errno == ECONNABORTED)
            continue;
          if (!errno_is_transient (errno))
            g_warning ("test-fault-proxy: accept: %s", g_strerror (errno));
          return;
        }

      g_mutex_lock (&proxy->lock);
      index = proxy->n_accepted++;
      proxy->n_open++;
      g_array_append_val (proxy->connection_bytes, zero);
      if (proxy->plan.kind != TEST_FAULT_NONE &&
          (proxy->plan.n_connections == 0 || proxy->plan_applied < proxy->plan.n_connections))
        {
          plan = proxy->plan;
          proxy->plan_applied++;
        }
      g_mutex_unlock (&proxy->lock);

      conn = g_new0 (Connection, 1);
      conn->proxy = proxy;
      conn->index = index;
      conn->plan = plan;
      conn->down_fd = fd;
      conn->up_fd = -1;
      g_ptr_array_add (proxy->connections, conn);

      if (plan.kind == TEST_FAULT_REFUSE)
        {
          connection_abort (conn);
          continue;
        }

      set_nodelay (fd);
      TRACE (conn, "accepted, plan %d after %" G_GUINT64_FORMAT, plan.kind, plan.after);
      conn->down_buf = g_malloc (BUFFER_SIZE);
      conn->up_buf = g_malloc (BUFFER_SIZE);
      connection_connect_next (conn);
    }
}

/* Connections: relaying */

static gboolean
connection_fault_pending (Connection *conn)
{
  if (conn->state != STATE_RELAYING)
    return FALSE;

  switch (conn->plan.kind)
    {
    case TEST_FAULT_RESET:
    case TEST_FAULT_CLOSE:
    case TEST_FAULT_STALL:
      return TRUE;
    default:
      return FALSE;
    }
}

static gsize
trickle_quantum (const TestFaultPlan *plan)
{
  return MAX (1, plan->rate * TRICKLE_INTERVAL_US / G_USEC_PER_SEC);
}

/* How many of the buffered downstream bytes may be written now. */
static gsize
connection_down_allowance (Connection *conn,
                           gint64      now)
{
  if (conn->plan.kind != TEST_FAULT_TRICKLE)
    return conn->down_len;
  if (conn->down_sent < conn->plan.after)
    return MIN (conn->down_len, conn->plan.after - conn->down_sent);
  if (now < conn->trickle_next)
    return 0;
  return MIN (conn->down_len, trickle_quantum (&conn->plan));
}

static void
connection_fire (Connection *conn)
{
  switch (conn->plan.kind)
    {
    case TEST_FAULT_RESET:
      connection_start_reset (conn);
      break;

    case TEST_FAULT_CLOSE:
      TRACE (conn, "CLOSE fired: FIN to the client");
      shutdown (conn->down_fd, SHUT_WR);
      conn->down_shut = TRUE;
      close_fd (&conn->up_fd);
      conn->up_len = 0;
      conn->state = STATE_LINGERING;
      conn->deadline = g_get_monotonic_time () + LINGER_TIMEOUT_US;
      break;

    case TEST_FAULT_STALL:
      TRACE (conn, "STALL fired");
      conn->state = STATE_STALLED;
      break;

    default:
      g_assert_not_reached ();
    }
}

/* Writes buffered downstream bytes while the client takes them and the
 * plan allows. Returns FALSE if the client is gone (@conn is closed). */
static gboolean
connection_flush_down (Connection *conn)
{
  TestFaultProxy *proxy = conn->proxy;

  while (conn->down_len > 0)
    {
      gint64 now = g_get_monotonic_time ();
      gsize allowed = connection_down_allowance (conn, now);
      gboolean trickling = conn->plan.kind == TEST_FAULT_TRICKLE && conn->down_sent >= conn->plan.after;
      ssize_t n;

      if (allowed == 0)
        return TRUE;

      n = send (conn->down_fd, conn->down_buf + conn->down_start, allowed, MSG_NOSIGNAL);
      if (n < 0)
        {
          if (errno_is_transient (errno))
            return TRUE;
          connection_abort (conn);
          return FALSE;
        }

      conn->down_start += n;
      conn->down_len -= n;
      conn->down_sent += n;
      if (trickling)
        {
          /* Up to one interval late still counts as on time, so that
           * wakeup latency does not add up into a lower rate. */
          gint64 base = conn->trickle_next == 0 ? now : MAX (conn->trickle_next, now - TRICKLE_INTERVAL_US);

          conn->trickle_next = base + (gint64) ((guint64) n * G_USEC_PER_SEC / conn->plan.rate);
        }

      g_mutex_lock (&proxy->lock);
      proxy->bytes_down += n;
      g_array_index (proxy->connection_bytes, guint64, conn->index) += n;
      g_mutex_unlock (&proxy->lock);
    }

  conn->down_start = 0;
  if (conn->up_eof && !conn->down_shut)
    {
      TRACE (conn, "FIN to the client");
      shutdown (conn->down_fd, SHUT_WR);
      conn->down_shut = TRUE;
    }
  return TRUE;
}

/* Writes buffered upstream bytes while the server takes them. Returns
 * FALSE if the server is gone (the connection is then being reset, or in
 * STATE_STALLED simply has no server any more). */
static gboolean
connection_flush_up (Connection *conn)
{
  TestFaultProxy *proxy = conn->proxy;

  while (conn->up_len > 0 && conn->up_fd >= 0)
    {
      ssize_t n = send (conn->up_fd, conn->up_buf + conn->up_start, conn->up_len, MSG_NOSIGNAL);

      if (n < 0)
        {
          if (errno_is_transient (errno))
            return TRUE;
          if (conn->state == STATE_STALLED)
            {
              close_fd (&conn->up_fd);
              conn->up_len = 0;
            }
          else
            connection_start_reset (conn);
          return FALSE;
        }

      conn->up_start += n;
      conn->up_len -= n;

      g_mutex_lock (&proxy->lock);
      proxy->bytes_up += n;
      g_mutex_unlock (&proxy->lock);
    }

  conn->up_start = 0;
  return TRUE;
}

/* Reads what the client sends (the upstream buffer is empty). */
static void
connection_read_down (Connection *conn)
{
  ssize_t n = recv (conn->down_fd, conn->up_buf, BUFFER_SIZE, 0);

  if (n < 0 && errno_is_transient (errno))
    return;
  if (n < 0)
    {
      /* The client reset: so does the server. */
      connection_abort (conn);
      return;
    }
  if (n == 0)
    {
      /* The client is done: so is the connection. Not a half-close: the
       * clients here close both ways at once, and libsoup does not close a
       * connection whose client half-closed it, so one relayed FIN would
       * leave it open for good. */
      TRACE (conn, "FIN from the client");
      connection_close (conn);
      return;
    }

  if (conn->up_fd < 0)
    return;  /* stalled, and the server is gone: dropped */
  conn->up_start = 0;
  conn->up_len = n;
  connection_flush_up (conn);
}

/* Reads what the server sends (the downstream buffer is empty). */
static void
connection_read_up (Connection *conn)
{
  gsize max = BUFFER_SIZE;
  ssize_t n;

  if (connection_fault_pending (conn))
    {
      if (conn->down_read >= conn->plan.after)
        {
          connection_fire (conn);
          return;
        }
      max = MIN (max, conn->plan.after - conn->down_read);
    }

  n = recv (conn->up_fd, conn->down_buf, max, 0);
  if (n < 0 && errno_is_transient (errno))
    return;
  if (n < 0)
    {
      connection_start_reset (conn);
      return;
    }
  if (n == 0)
    {
      TRACE (conn, "FIN from the server");
      conn->up_eof = TRUE;
      connection_flush_down (conn);
      return;
    }

  if (conn->plan.kind == TEST_FAULT_CORRUPT &&
      conn->plan.after >= conn->down_read && conn->plan.after - conn->down_read < (guint64) n)
    conn->down_buf[conn->plan.after - conn->down_read] ^= 0xff;

  conn->down_read += n;
  conn->down_start = 0;
  conn->down_len = n;
  connection_flush_down (conn);
}

/* The poll() events wanted on each fd of @conn; *@timeout is lowered to
 * the connection's next deadline, if it has one. */
static void
connection_get_events (Connection *conn,
                       gint64      now,
                       short      *down_events,
                       short      *up_events,
                       gint64     *timeout)
{
  *down_events = 0;
  *up_events = 0;

  switch (conn->state)
    {
    case STATE_CONNECTING:
      *up_events = POLLOUT;
      break;

    case STATE_RELAYING:
      if (conn->up_len == 0)
        *down_events |= POLLIN;
      if (conn->up_len > 0)
        *up_events |= POLLOUT;
      if (!conn->up_eof && conn->down_len == 0)
        *up_events |= POLLIN;
      if (conn->down_len > 0)
        {
          if (connection_down_allowance (conn, now) > 0)
            *down_events |= POLLOUT;
          else
            *timeout = MIN (*timeout, conn->trickle_next);
        }
      break;

    case STATE_STALLED:
      /* The server is not read from any more: its send buffer fills up
       * and it blocks, as behind a stalled network path. */
      if (conn->up_len == 0)
        *down_events |= POLLIN;
      if (conn->up_len > 0)
        *up_events |= POLLOUT;
      break;

    case STATE_LINGERING:
      *down_events = POLLIN;
      *timeout = MIN (*timeout, conn->deadline);
      break;

    case STATE_RESETTING:
      *timeout = MIN (*timeout, MIN (now + RESET_POLL_US, conn->deadline));
      break;

    default:
      g_assert_not_reached ();
    }
}

static void
connection_process (Connection *conn,
                    short       down_revents,
                    short       up_revents,
                    gint64      now)
{
  const short readable = POLLIN | POLLHUP | POLLERR;

  if (down_revents & (POLLHUP | POLLERR))
    conn->down_hup = TRUE;
  if (up_revents & (POLLHUP | POLLERR))
    conn->up_hup = TRUE;

  switch (conn->state)
    {
    case STATE_CONNECTING:
      if (up_revents != 0)
        connection_check_connect (conn);
      break;

    case STATE_RELAYING:
      if (conn->up_len > 0)
        connection_flush_up (conn);
      if (conn->state == STATE_RELAYING && !conn->done && conn->down_len > 0)
        connection_flush_down (conn);
      if (conn->state == STATE_RELAYING && !conn->done &&
          (down_revents & readable) && conn->up_len == 0)
        connection_read_down (conn);
      if (conn->state == STATE_RELAYING && !conn->done &&
          (up_revents & readable) && !conn->up_eof && conn->down_len == 0)
        connection_read_up (conn);
      break;

    case STATE_STALLED:
      if (conn->up_len > 0)
        connection_flush_up (conn);
      if (!conn->done && (down_revents & readable) && conn->up_len == 0)
        connection_read_down (conn);
      break;

    case STATE_LINGERING:
      if (down_revents & readable)
        {
          guint8 buf[4096];
          ssize_t n = recv (conn->down_fd, buf, sizeof buf, 0);

          if (n == 0 || (n < 0 && !errno_is_transient (errno)))
            connection_close (conn);
        }
      if (!conn->done && now >= conn->deadline)
        connection_close (conn);
      break;

    case STATE_RESETTING:
      if (conn->down_hup || send_queue_empty (conn->down_fd) || now >= conn->deadline)
        connection_abort (conn);
      break;

    default:
      g_assert_not_reached ();
    }
}

/* The proxy thread */

/* Carries out the pending command; returns FALSE on COMMAND_STOP. Called
 * with @lock held. */
static gboolean
proxy_run_command (TestFaultProxy *proxy)
{
  Command command = proxy->command;

  switch (command)
    {
    case COMMAND_NONE:
      return TRUE;

    case COMMAND_PAUSE:
      /* What the kernel accepted before the pause is served. The lock is
       * dropped because accepting takes it. */
      g_mutex_unlock (&proxy->lock);
      proxy_accept_all (proxy);
      close_fd (&proxy->listen_fd);
      g_mutex_lock (&proxy->lock);
      break;

    case COMMAND_RESUME:
      g_assert (proxy->listen_fd < 0);
      proxy->listen_fd = proxy->command_fd;
      proxy->command_fd = -1;
      break;

    case COMMAND_STOP:
      return FALSE;

    default:
      g_assert_not_reached ();
    }

  proxy->command = COMMAND_NONE;
  g_cond_broadcast (&proxy->cond);
  return TRUE;
}

static gpointer
proxy_thread (gpointer data)
{
  TestFaultProxy *proxy = data;
  g_autoptr(GArray) fds = g_array_new (FALSE, TRUE, sizeof (struct pollfd));

  while (TRUE)
    {
      gint64 now = g_get_monotonic_time ();
      gint64 deadline = G_MAXINT64;
      int timeout_ms = -1;
      gboolean running;
      guint n_connections;
      char drain[64];
      struct pollfd *pfd;

      g_mutex_lock (&proxy->lock);
      running = proxy_run_command (proxy);
      g_mutex_unlock (&proxy->lock);
      if (!running)
        break;

      g_array_set_size (fds, 2 + 2 * proxy->connections->len);
      pfd = (struct pollfd *) fds->data;
      pfd[0] = (struct pollfd) { .fd = proxy->wake_fds[0], .events = POLLIN };
      pfd[1] = (struct pollfd) { .fd = proxy->listen_fd, .events = POLLIN };

      n_connections = proxy->connections->len;
      for (guint i = 0; i < n_connections; i++)
        {
          Connection *conn = g_ptr_array_index (proxy->connections, i);
          short down_events, up_events;

          connection_get_events (conn, now, &down_events, &up_events, &deadline);
          pfd[2 + 2 * i] = (struct pollfd) {
            .fd = (down_events == 0 && conn->down_hup) ? -1 : conn->down_fd,
            .events = down_events,
          };
          pfd[3 + 2 * i] = (struct pollfd) {
            .fd = (up_events == 0 && conn->up_hup) ? -1 : conn->up_fd,
            .events = up_events,
          };
        }

      if (deadline != G_MAXINT64)
        timeout_ms = (int) CLAMP ((deadline - now + 999) / 1000, 0, G_MAXINT);

      if (poll (pfd, fds->len, timeout_ms) < 0)
        {
          if (errno != EINTR)
            g_error ("test-fault-proxy: poll: %s", g_strerror (errno));
          continue;
        }

      if (pfd[0].revents & POLLIN)
        while (read (proxy->wake_fds[0], drain, sizeof drain) > 0)
          ;

      now = g_get_monotonic_time ();
      for (guint i = 0; i < n_connections; i++)
        {
          Connection *conn = g_ptr_array_index (proxy->connections, i);

          if (!conn->done)
            connection_process (conn, pfd[2 + 2 * i].revents, pfd[3 + 2 * i].revents, now);
        }

      if (pfd[1].revents != 0)
        proxy_accept_all (proxy);

      /* Closed ones go (REFUSE'd ones too). */
      for (guint i = proxy->connections->len; i > 0; i--)
        {
          Connection *conn = g_ptr_array_index (proxy->connections, i - 1);

          if (conn->done)
            g_ptr_array_remove_index_fast (proxy->connections, i - 1);
        }
    }

  /* COMMAND_STOP: everything closes; test_fault_proxy_free() joins. */
  g_ptr_array_set_size (proxy->connections, 0);
  close_fd (&proxy->listen_fd);
  return NULL;
}

/* Sends @command to the proxy thread and waits until it is carried out. */
static void
proxy_send_command (TestFaultProxy *proxy,
                    Command         command)
{
  const char byte = 'x';

  /* Called with @lock held. One command at a time. */
  while (proxy->command != COMMAND_NONE)
    g_cond_wait (&proxy->cond, &proxy->lock);

  proxy->command = command;
  if (write (proxy->wake_fds[1], &byte, 1) < 0 && errno != EAGAIN)
    g_warning ("test-fault-proxy: wakeup: %s", g_strerror (errno));

  if (command == COMMAND_STOP)
    return;
  while (proxy->command != COMMAND_NONE)
    g_cond_wait (&proxy->cond, &proxy->lock);
}

/* Public API */

static GArray *
resolve_upstream (const char  *host,
                  guint16      port,
                  GError     **error)
{
  struct addrinfo hints = { 0 };
  struct addrinfo *result = NULL;
  g_autofree char *service = g_strdup_printf ("%u", port);
  GArray *addresses;
  int status;

  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  status = getaddrinfo (host, service, &hints, &result);
  if (status != 0)
    {
      g_set_error (error, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND,
                   "test-fault-proxy: cannot resolve %s: %s", host, gai_strerror (status));
      return NULL;
    }

  addresses = g_array_new (FALSE, TRUE, sizeof (UpstreamAddress));
  for (struct addrinfo *ai = result; ai != NULL; ai = ai->ai_next)
    {
      UpstreamAddress address = { 0 };

      if (ai->ai_addrlen > sizeof address.address)
        continue;
      memcpy (&address.address, ai->ai_addr, ai->ai_addrlen);
      address.length = ai->ai_addrlen;
      g_array_append_val (addresses, address);
    }
  freeaddrinfo (result);

  if (addresses->len == 0)
    {
      g_array_unref (addresses);
      g_set_error (error, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND,
                   "test-fault-proxy: no address for %s", host);
      return NULL;
    }
  return addresses;
}

/**
 * test_fault_proxy_new:
 * @upstream_host: the server's host name or address, e.g. "127.0.0.1"
 * @upstream_port: the server's port
 * @error: return location for an error
 *
 * Resolves @upstream_host (once, now; its addresses are tried in order for
 * each connection), listens on an ephemeral 127.0.0.1 port and starts the
 * proxy thread. The plan is TEST_FAULT_NONE.
 *
 * Returns: (transfer full): the proxy, or %NULL with @error set
 */
TestFaultProxy *
test_fault_proxy_new (const char  *upstream_host,
                      guint16      upstream_port,
                      GError     **error)
{
  g_autoptr(GArray) upstream = NULL;
  TestFaultProxy *proxy;
  guint16 port = 0;
  int wake_fds[2];
  int listen_fd;

  g_return_val_if_fail (upstream_host != NULL, NULL);
  g_return_val_if_fail (upstream_port != 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  upstream = resolve_upstream (upstream_host, upstream_port, error);
  if (upstream == NULL)
    return NULL;

  listen_fd = listen_on (0, &port, error);
  if (listen_fd < 0)
    return NULL;

  if (!g_unix_open_pipe (wake_fds, FD_CLOEXEC, error))
    {
      close (listen_fd);
      return NULL;
    }
  g_unix_set_fd_nonblocking (wake_fds[0], TRUE, NULL);
  g_unix_set_fd_nonblocking (wake_fds[1], TRUE, NULL);

  proxy = g_new0 (TestFaultProxy, 1);
  proxy->wake_fds[0] = wake_fds[0];
  proxy->wake_fds[1] = wake_fds[1];
  proxy->port = port;
  proxy->upstream = g_steal_pointer (&upstream);
  g_mutex_init (&proxy->lock);
  g_cond_init (&proxy->cond);
  proxy->command = COMMAND_NONE;
  proxy->command_fd = -1;
  proxy->plan.kind = TEST_FAULT_NONE;
  proxy->connection_bytes = g_array_new (FALSE, TRUE, sizeof (guint64));
  proxy->listen_fd = listen_fd;
  proxy->connections = g_ptr_array_new_with_free_func ((GDestroyNotify) connection_free);
  proxy->thread = g_thread_new ("test-fault-proxy", proxy_thread, proxy);

  return proxy;
}

/**
 * test_fault_proxy_free:
 * @proxy: (nullable): a proxy
 *
 * Closes every connection (plain close()s: FINs, or RSTs where unread
 * bytes remain) and the listening socket, joins the proxy thread and frees
 * @proxy. Returns once every fd of the proxy is closed.
 */
void
test_fault_proxy_free (TestFaultProxy *proxy)
{
  if (proxy == NULL)
    return;

  g_mutex_lock (&proxy->lock);
  proxy_send_command (proxy, COMMAND_STOP);
  g_mutex_unlock (&proxy->lock);
  g_thread_join (proxy->thread);

  close_fd (&proxy->command_fd);
  close_fd (&proxy->wake_fds[0]);
  close_fd (&proxy->wake_fds[1]);
  g_ptr_array_unref (proxy->connections);
  g_array_unref (proxy->connection_bytes);
  g_array_unref (proxy->upstream);
  g_cond_clear (&proxy->cond);
  g_mutex_clear (&proxy->lock);
  g_free (proxy);
}

/**
 * test_fault_proxy_get_port:
 * @proxy: a proxy
 *
 * Returns: the 127.0.0.1 port the proxy listens on (the same after a
 * pause and resume)
 */
guint16
test_fault_proxy_get_port (TestFaultProxy *proxy)
{
  g_return_val_if_fail (proxy != NULL, 0);

  return proxy->port;
}

/**
 * test_fault_proxy_url:
 * @proxy: a proxy
 * @scheme: (nullable): e.g. "https"; %NULL means "http"
 * @path: (nullable): e.g. "/bytes/1000"; a missing leading '/' is added
 *
 * Returns: (transfer full): e.g. "http://127.0.0.1:PORT/bytes/1000"
 */
char *
test_fault_proxy_url (TestFaultProxy *proxy,
                      const char     *scheme,
                      const char     *path)
{
  g_return_val_if_fail (proxy != NULL, NULL);

  if (path == NULL)
    path = "/";
  return g_strdup_printf ("%s://127.0.0.1:%u%s%s", scheme ? scheme : "http", proxy->port,
                          path[0] == '/' ? "" : "/", path);
}

/**
 * test_fault_proxy_set_plan:
 * @proxy: a proxy
 * @plan: what to do to the connections accepted from now on
 *
 * Replaces the plan, and restarts the count of @plan->n_connections.
 * Connections already accepted keep the plan they got.
 */
void
test_fault_proxy_set_plan (TestFaultProxy      *proxy,
                           const TestFaultPlan *plan)
{
  g_return_if_fail (proxy != NULL);
  g_return_if_fail (plan != NULL);
  g_return_if_fail (plan->kind >= TEST_FAULT_NONE && plan->kind <= TEST_FAULT_REFUSE);
  g_return_if_fail (plan->kind != TEST_FAULT_TRICKLE || plan->rate > 0);

  g_mutex_lock (&proxy->lock);
  proxy->plan = *plan;
  proxy->plan_applied = 0;
  g_mutex_unlock (&proxy->lock);
}

/**
 * test_fault_proxy_pause_listening:
 * @proxy: a proxy
 *
 * Closes the listening socket (once the connections already waiting in its
 * queue are accepted), so that connecting to the port is refused. Open
 * connections go on. Does nothing if already paused.
 */
void
test_fault_proxy_pause_listening (TestFaultProxy *proxy)
{
  g_return_if_fail (proxy != NULL);

  g_mutex_lock (&proxy->lock);
  if (!proxy->paused)
    {
      proxy_send_command (proxy, COMMAND_PAUSE);
      proxy->paused = TRUE;
    }
  g_mutex_unlock (&proxy->lock);
}

/**
 * test_fault_proxy_resume_listening:
 * @proxy: a proxy
 * @error: return location for an error
 *
 * Listens again on the same port. Fails if something else took the port
 * meanwhile. Does nothing if not paused.
 *
 * Returns: %TRUE once the proxy listens again
 */
gboolean
test_fault_proxy_resume_listening (TestFaultProxy  *proxy,
                                   GError         **error)
{
  guint16 port = 0;
  int fd;

  g_return_val_if_fail (proxy != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  g_mutex_lock (&proxy->lock);
  if (!proxy->paused)
    {
      g_mutex_unlock (&proxy->lock);
      return TRUE;
    }

  fd = listen_on (proxy->port, &port, error);
  if (fd < 0)
    {
      g_mutex_unlock (&proxy->lock);
      return FALSE;
    }

  proxy->command_fd = fd;
  proxy_send_command (proxy, COMMAND_RESUME);
  proxy->paused = FALSE;
  g_mutex_unlock (&proxy->lock);
  return TRUE;
}

/**
 * test_fault_proxy_get_n_accepted:
 * @proxy: a proxy
 *
 * Returns: how many connections the proxy has accepted (REFUSE'd ones
 * included)
 */
guint
test_fault_proxy_get_n_accepted (TestFaultProxy *proxy)
{
  guint n;

  g_return_val_if_fail (proxy != NULL, 0);

  g_mutex_lock (&proxy->lock);
  n = proxy->n_accepted;
  g_mutex_unlock (&proxy->lock);
  return n;
}

/**
 * test_fault_proxy_get_n_open:
 * @proxy: a proxy
 *
 * Returns: how many accepted connections the proxy has not closed yet
 * (the client's socket is closed last: a lingering or stalled connection
 * is open)
 */
guint
test_fault_proxy_get_n_open (TestFaultProxy *proxy)
{
  guint n;

  g_return_val_if_fail (proxy != NULL, 0);

  g_mutex_lock (&proxy->lock);
  n = proxy->n_open;
  g_mutex_unlock (&proxy->lock);
  return n;
}

/**
 * test_fault_proxy_get_bytes_down:
 * @proxy: a proxy
 *
 * Returns: how many bytes the proxy has written to clients, all
 * connections together (bytes dropped by a fault are not counted)
 */
guint64
test_fault_proxy_get_bytes_down (TestFaultProxy *proxy)
{
  guint64 n;

  g_return_val_if_fail (proxy != NULL, 0);

  g_mutex_lock (&proxy->lock);
  n = proxy->bytes_down;
  g_mutex_unlock (&proxy->lock);
  return n;
}

/**
 * test_fault_proxy_get_bytes_up:
 * @proxy: a proxy
 *
 * Returns: how many bytes the proxy has written to the server, all
 * connections together
 */
guint64
test_fault_proxy_get_bytes_up (TestFaultProxy *proxy)
{
  guint64 n;

  g_return_val_if_fail (proxy != NULL, 0);

  g_mutex_lock (&proxy->lock);
  n = proxy->bytes_up;
  g_mutex_unlock (&proxy->lock);
  return n;
}

/**
 * test_fault_proxy_get_connection_bytes:
 * @proxy: a proxy
 *
 * Returns: (transfer full) (element-type guint64): the bytes written to
 * the client of each connection, in accept order (one element per
 * accepted connection); free with g_array_unref()
 */
GArray *
test_fault_proxy_get_connection_bytes (TestFaultProxy *proxy)
{
  GArray *copy;

  g_return_val_if_fail (proxy != NULL, NULL);

  g_mutex_lock (&proxy->lock);
  copy = g_array_copy (proxy->connection_bytes);
  g_mutex_unlock (&proxy->lock);
  return copy;
}

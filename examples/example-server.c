/* example-server.c: the small HTTP server the examples download from
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * It runs in a thread of its own, on its own GMainContext, so that it keeps
 * serving while the example's main loop runs the downloads. Each connection
 * is served in a worker thread of a GThreadedSocketService with blocking
 * I/O, one request per connection: simple, and concurrent downloads really
 * are concurrent.
 */

#include <string.h>

#include "example-server.h"

/* The pieces the files are generated and written in. */
#define SERVER_CHUNK_SIZE (64 * 1024)

/* A request head longer than this is refused. */
#define SERVER_MAX_HEADER_LINES 100

/* A client that sends or reads nothing for this long is dropped. */
#define SERVER_IO_TIMEOUT_S 30

/* Connections served at the same time; more wait to be accepted. */
#define SERVER_MAX_THREADS 16

struct _ExampleServer
{
  GSocket      *socket;     /* listening, bound to 127.0.0.1 */
  guint16       port;
  GMainContext *context;    /* the server thread's */
  GMainLoop    *loop;
  GThread      *thread;
};

/* ------------------------------------------------------------------------ */
/* The generated files                                                       */
/* ------------------------------------------------------------------------ */

/* Byte @offset of every generated file. The period, 251, is prime, so a
 * piece lost, repeated or moved by any power of two changes the checksum. */
static void
fill_pattern (guint8  *buffer,
              guint64  offset,
              gsize    length)
{
  for (gsize i = 0; i < length; i++)
    buffer[i] = (guint8) ((offset + i) % 251);
}

/**
 * example_server_expected_sha256:
 * @size: the size of a generated file
 *
 * Computes, without the network, the SHA-256 of the file the server
 * generates for `/file/<size>`, to compare with what was downloaded.
 *
 * Returns: (transfer full): the checksum in lowercase hexadecimal
 */
char *
example_server_expected_sha256 (guint64 size)
{
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree guint8 *buffer = g_malloc (SERVER_CHUNK_SIZE);

  for (guint64 offset = 0; offset < size; offset += SERVER_CHUNK_SIZE)
    {
      gsize length = MIN (SERVER_CHUNK_SIZE, size - offset);

      fill_pattern (buffer, offset, length);
      g_checksum_update (checksum, buffer, length);
    }

  return g_strdup (g_checksum_get_string (checksum));
}

/* ------------------------------------------------------------------------ */
/* One request                                                               */
/* ------------------------------------------------------------------------ */

typedef struct
{
  char     *method;        /* "GET" or "HEAD" */
  char     *target;        /* "/file/1024" */
  gboolean  has_range;     /* a single "bytes=FIRST-" or "bytes=FIRST-LAST" */
  guint64   range_first;
  guint64   range_last;    /* G_MAXUINT64 for "to the end" */
  char     *if_range;      /* the validator the range depends on, or NULL */
} Request;

static void
request_clear (Request *request)
{
  g_clear_pointer (&request->method, g_free);
  g_clear_pointer (&request->target, g_free);
  g_clear_pointer (&request->if_range, g_free);
}

/* "bytes=FIRST-" or "bytes=FIRST-LAST". Anything else (a suffix range,
 * several ranges) is ignored, as RFC 9110 allows: the whole file is sent. */
static void
parse_range (Request    *request,
             const char *value)
{
  g_auto(GStrv) bounds = NULL;
  guint64 first, last = G_MAXUINT64;

  if (!g_str_has_prefix (value, "bytes="))
    return;

  bounds = g_strsplit (value + strlen ("bytes="), "-", 2);
  if (g_strv_length (bounds) != 2 ||
      !g_ascii_string_to_unsigned (g_strstrip (bounds[0]), 10, 0, G_MAXUINT64, &first, NULL))
    return;
  if (*g_strstrip (bounds[1]) != '\0' &&
      (!g_ascii_string_to_unsigned (bounds[1], 10, 0, G_MAXUINT64, &last, NULL) || last < first))
    return;

  request->has_range = TRUE;
  request->range_first = first;
  request->range_last = last;
}

static void
parse_header_line (Request *request,
                   char    *line)
{
  char *colon = strchr (line, ':');
  char *value;

  if (colon == NULL)
    return;

  *colon = '\0';
  value = g_strstrip (colon + 1);
  g_strstrip (line);

  if (g_ascii_strcasecmp (line, "Range") == 0)
    parse_range (request, value);
  else if (g_ascii_strcasecmp (line, "If-Range") == 0)
    {
      g_free (request->if_range);
      request->if_range = g_strdup (value);
    }
}

/* Reads the request line and the header lines up to the blank line. */
static gboolean
read_request (GDataInputStream *input,
              Request          *request)
{
  g_autofree char *request_line = NULL;
  g_auto(GStrv) parts = NULL;
  guint n_lines = 0;

  request_line = g_data_input_stream_read_line (input, NULL, NULL, NULL);
  if (request_line == NULL)
    return FALSE;

  for (;;)
    {
      g_autofree char *line = g_data_input_stream_read_line (input, NULL, NULL, NULL);

      if (line == NULL || ++n_lines > SERVER_MAX_HEADER_LINES)
        return FALSE;
      if (line[0] == '\0')
        break;
      parse_header_line (request, line);
    }

  /* "GET /file/1024 HTTP/1.1" */
  parts = g_strsplit (g_strchomp (request_line), " ", 3);
  if (g_strv_length (parts) != 3 ||
      (g_strcmp0 (parts[0], "GET") != 0 && g_strcmp0 (parts[0], "HEAD") != 0))
    return FALSE;

  request->method = g_strdup (parts[0]);
  request->target = g_strdup (parts[1]);
  return TRUE;
}

static gboolean
write_string (GOutputStream *output,
              const char    *string)
{
  return g_output_stream_write_all (output, string, strlen (string), NULL, NULL, NULL);
}

/* Bytes [@first, @end) of the generated file; stops at the first failed
 * write, which means the client went away. */
static void
write_file_bytes (GOutputStream *output,
                  guint64        first,
                  guint64        end)
{
  g_autofree guint8 *buffer = g_malloc (SERVER_CHUNK_SIZE);

  for (guint64 offset = first; offset < end; offset += SERVER_CHUNK_SIZE)
    {
      gsize length = MIN (SERVER_CHUNK_SIZE, end - offset);

      fill_pattern (buffer, offset, length);
      if (!g_output_stream_write_all (output, buffer, length, NULL, NULL, NULL))
        break;
    }
}

static void
respond (GOutputStream *output,
         const Request *request)
{
  g_autofree char *etag = NULL;
  g_autofree char *head = NULL;
  guint64 size = 0;
  guint64 first = 0;
  guint64 end;
  gboolean partial;

  if (!g_str_has_prefix (request->target, "/file/") ||
      !g_ascii_string_to_unsigned (request->target + strlen ("/file/"), 10,
                                   0, EXAMPLE_SERVER_MAX_FILE_SIZE, &size, NULL))
    {
      write_string (output,
                    "HTTP/1.1 404 Not Found\r\n"
                    "Content-Length: 0\r\n"
                    "Connection: close\r\n"
                    "\r\n");
      return;
    }

  /* The bytes only depend on the size: so does the (strong) validator. */
  etag = g_strdup_printf ("\"example-%" G_GUINT64_FORMAT "\"", size);
  end = size;

  /* With If-Range, the range holds only for the same file (RFC 9110 13.1.5). */
  partial = request->has_range &&
            (request->if_range == NULL || g_strcmp0 (request->if_range, etag) == 0);

  if (partial && request->range_first >= size)
    {
      head = g_strdup_printf ("HTTP/1.1 416 Range Not Satisfiable\r\n"
                              "Content-Range: bytes */%" G_GUINT64_FORMAT "\r\n"
                              "Content-Length: 0\r\n"
                              "Connection: close\r\n"
                              "\r\n", size);
      write_string (output, head);
      return;
    }

  if (partial)
    {
      first = request->range_first;
      end = MIN (request->range_last, size - 1) + 1;
      head = g_strdup_printf ("HTTP/1.1 206 Partial Content\r\n"
                              "Content-Type: application/octet-stream\r\n"
                              "Content-Length: %" G_GUINT64_FORMAT "\r\n"
                              "Content-Range: bytes %" G_GUINT64_FORMAT "-%"
                              G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT "\r\n"
                              "ETag: %s\r\n"
                              "Accept-Ranges: bytes\r\n"
                              "Connection: close\r\n"
                              "\r\n", end - first, first, end - 1, size, etag);
    }
  else
    {
      head = g_strdup_printf ("HTTP/1.1 200 OK\r\n"
                              "Content-Type: application/octet-stream\r\n"
                              "Content-Length: %" G_GUINT64_FORMAT "\r\n"
                              "ETag: %s\r\n"
                              "Accept-Ranges: bytes\r\n"
                              "Connection: close\r\n"
                              "\r\n", size, etag);
    }

  if (write_string (output, head) && g_strcmp0 (request->method, "HEAD") != 0)
    write_file_bytes (output, first, end);
}

/* In a worker thread of the service: blocking I/O is fine here. */
static gboolean
on_run (GThreadedSocketService *service       G_GNUC_UNUSED,
        GSocketConnection      *connection,
        GObject                *source_object G_GNUC_UNUSED,
        gpointer                user_data     G_GNUC_UNUSED)
{
  GOutputStream *output = g_io_stream_get_output_stream (G_IO_STREAM (connection));
  g_autoptr(GDataInputStream) input = NULL;
  Request request = { NULL, };

  g_socket_set_timeout (g_socket_connection_get_socket (connection), SERVER_IO_TIMEOUT_S);
  input = g_data_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM (connection)));
  g_data_input_stream_set_newline_type (input, G_DATA_STREAM_NEWLINE_TYPE_ANY);

  if (read_request (input, &request))
    respond (output, &request);
  else
    write_string (output,
                  "HTTP/1.1 400 Bad Request\r\n"
                  "Content-Length: 0\r\n"
                  "Connection: close\r\n"
                  "\r\n");

  request_clear (&request);
  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* The server's thread                                                       */
/* ------------------------------------------------------------------------ */

static gpointer
server_thread (gpointer data)
{
  ExampleServer *server = data;
  g_autoptr(GSocketService) service = NULL;
  g_autoptr(GError) error = NULL;

  /* The service accepts on the thread-default context when it is made. */
  g_main_context_push_thread_default (server->context);

  service = g_threaded_socket_service_new (SERVER_MAX_THREADS);
  g_signal_connect (service, "run", G_CALLBACK (on_run), NULL);
  if (!g_socket_listener_add_socket (G_SOCKET_LISTENER (service), server->socket,
                                     NULL, &error))
    g_error ("Cannot serve: %s", error->message);

  g_main_loop_run (server->loop);

  g_socket_service_stop (service);
  g_socket_listener_close (G_SOCKET_LISTENER (service));
  g_main_context_pop_thread_default (server->context);

  return NULL;
}

/**
 * example_server_start:
 * @error: return location for an error
 *
 * Starts serving on 127.0.0.1, on a free port, in a new thread.
 *
 * Returns: (transfer full) (nullable): the server, to stop with
 *   example_server_stop(), or %NULL with @error set
 */
ExampleServer *
example_server_start (GError **error)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GInetAddress) loopback = NULL;
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(GSocketAddress) bound = NULL;
  ExampleServer *server;

  /* Bind and listen here, so the port is known before the thread starts. */
  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                         G_SOCKET_PROTOCOL_TCP, error);
  if (socket == NULL)
    return NULL;

  loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  address = g_inet_socket_address_new (loopback, 0);  /* 0: any free port */
  if (!g_socket_bind (socket, address, TRUE, error) ||
      !g_socket_listen (socket, error))
    return NULL;

  bound = g_socket_get_local_address (socket, error);
  if (bound == NULL)
    return NULL;

  /* The first g_ascii_strtoull() of a process sets up its C locale in a
   * g_once_init_enter(): threads that race into it may wait, and waiting
   * clobbers errno (EAGAIN from the futex) between the errno = 0 and the
   * check in g_ascii_string_to_unsigned(), which then rejects a valid
   * number (GLib 2.74). Do it once here, before the worker threads. */
  g_ascii_strtoull ("0", NULL, 10);

  server = g_new0 (ExampleServer, 1);
  server->socket = g_steal_pointer (&socket);
  server->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  server->context = g_main_context_new ();
  server->loop = g_main_loop_new (server->context, FALSE);
  server->thread = g_thread_new ("example-server", server_thread, server);

  return server;
}

static gboolean
quit_loop (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

/**
 * example_server_stop:
 * @server: (transfer full): a server
 *
 * Stops accepting connections, waits for the server's thread and frees
 * @server.
 */
void
example_server_stop (ExampleServer *server)
{
  /* Quit from inside the server's loop: a g_main_loop_quit() from here
   * could come before the thread has even started running it. */
  g_main_context_invoke (server->context, quit_loop, server->loop);
  g_thread_join (server->thread);

  g_main_loop_unref (server->loop);
  g_main_context_unref (server->context);
  g_object_unref (server->socket);
  g_free (server);
}

guint16
example_server_get_port (ExampleServer *server)
{
  return server->port;
}

/**
 * example_server_get_file_url:
 * @server: a server
 * @size: the size of the generated file
 *
 * Returns: (transfer full): the URL of the generated file of @size bytes
 */
char *
example_server_get_file_url (ExampleServer *server,
                             guint64        size)
{
  return g_strdup_printf ("http://127.0.0.1:%u/file/%" G_GUINT64_FORMAT,
                          server->port, size);
}

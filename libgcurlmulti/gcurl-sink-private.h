/* gcurl-sink-private.h: where a response body goes
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* libcurl's receive buffer for a body that is streamed (send_async,
 * download_async): libcurl reads the socket this much at a time, and hands
 * the sink chunks of up to this size. Its default, 16 KiB, costs a third of
 * the throughput of a fast stream in calls per chunk. */
#define GCURL_SINK_BUFFER_SIZE (256 * 1024)

typedef enum
{
  G_CURL_SINK_TAKEN,    /* the chunk is the sink's */
  G_CURL_SINK_FULL,     /* hold it back: libcurl pauses until the sink drains */
  G_CURL_SINK_REFUSED,  /* never: the transfer fails (a size limit) */
} GCurlSinkResult;

typedef struct _GCurlBodySink GCurlBodySink;

/* A sink's functions. begin and write run inside libcurl's callbacks and
 * only record; flush and end run after libcurl has returned, and may run
 * application code. */
typedef struct
{
  gsize           buffer_size;  /* libcurl's receive buffer, 0: its default */
  /* The final response's head is there, announcing @content_length bytes
   * (-1: unknown); FALSE refuses the body before it comes. */
  gboolean        (*begin) (GCurlBodySink *sink,
                            gint64         content_length);
  /* A chunk of the body; FULL only when @may_refuse (libcurl cannot pause
   * every protocol). */
  GCurlSinkResult (*write) (GCurlBodySink *sink,
                            const char    *data,
                            gsize          len,
                            gboolean       may_refuse);
  /* (nullable): after libcurl returned from a dispatch in which the sink
   * took data. */
  void            (*flush) (GCurlBodySink *sink);
  /* (nullable): the run ended (@error %NULL: it succeeded), before any
   * application code learns of it: a handler of "finished" may start the
   * next run, whose body is not this sink's. */
  void            (*end)   (GCurlBodySink *sink,
                            const GError  *error);
} GCurlBodySinkFuncs;

/* Embedded in whatever implements it (GCurlInputStream, the memory sink). */
struct _GCurlBodySink
{
  const GCurlBodySinkFuncs *funcs;
};

/* The default sink: the body in memory, up to a limit counted in the bytes
 * libcurl delivers, after any decoding (a compressed body cannot inflate
 * past it). */
typedef struct
{
  GCurlBodySink  parent;
  GByteArray    *body;        /* (nullable) (owned) */
  guint64        limit;       /* bytes, 0: none */
  gboolean       too_large;   /* refused at the limit */
} GCurlMemorySink;

void    g_curl_memory_sink_init        (GCurlMemorySink *sink);
void    g_curl_memory_sink_reset       (GCurlMemorySink *sink,
                                        guint64          limit);
GBytes *g_curl_memory_sink_steal_bytes (GCurlMemorySink *sink);
void    g_curl_memory_sink_clear       (GCurlMemorySink *sink);

G_END_DECLS

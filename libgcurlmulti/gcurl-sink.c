/* gcurl-sink.c: the body in memory, the default sink
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "gcurl-sink-private.h"

/* The buffer is sized from Content-Length up to this much at once; past
 * it, it grows as data really arrives (a header is only a claim). */
#define GCURL_MAX_PREALLOCATION (64 * 1024 * 1024)

static gboolean
exceeds_limit (GCurlMemorySink *self,
               guint64          more)
{
  guint64 have = self->body != NULL ? self->body->len : 0;

  if (self->limit == 0 || have + more <= self->limit)
    return FALSE;

  self->too_large = TRUE;
  return TRUE;
}

static gboolean
memory_begin (GCurlBodySink *sink,
              gint64         content_length)
{
  GCurlMemorySink *self = (GCurlMemorySink *) sink;

  /* A body announced larger than the limit is refused before it comes. */
  if (content_length > 0 && exceeds_limit (self, (guint64) content_length))
    return FALSE;

  /* Avoid growing the buffer step by step when its size is known. */
  if (content_length > 0 && content_length <= GCURL_MAX_PREALLOCATION &&
      (self->body == NULL || self->body->len == 0))
    {
      g_clear_pointer (&self->body, g_byte_array_unref);
      self->body = g_byte_array_sized_new ((guint) content_length);
    }

  return TRUE;
}

static GCurlSinkResult
memory_write (GCurlBodySink *sink,
              const char    *data,
              gsize          len,
              gboolean       may_refuse)
{
  GCurlMemorySink *self = (GCurlMemorySink *) sink;

  if (exceeds_limit (self, len))
    return G_CURL_SINK_REFUSED;

  if (self->body == NULL)
    self->body = g_byte_array_new ();
  g_byte_array_append (self->body, (const guint8 *) data, len);

  return G_CURL_SINK_TAKEN;
}

static const GCurlBodySinkFuncs memory_funcs = {
  0, memory_begin, memory_write, NULL, NULL,
};

void
g_curl_memory_sink_init (GCurlMemorySink *sink)
{
  sink->parent.funcs = &memory_funcs;
  sink->body = g_byte_array_new ();
  sink->limit = 0;
  sink->too_large = FALSE;
}

/* Empty, for a new response (a new run, or the next hop of a redirect)
 * of at most @limit bytes. */
void
g_curl_memory_sink_reset (GCurlMemorySink *sink,
                          guint64          limit)
{
  if (sink->body != NULL)
    g_byte_array_set_size (sink->body, 0);
  sink->limit = limit;
  sink->too_large = FALSE;
}

/* The body, handed over rather than copied (bodies can be large). */
GBytes *
g_curl_memory_sink_steal_bytes (GCurlMemorySink *sink)
{
  if (sink->body == NULL)
    return g_bytes_new (NULL, 0);

  return g_byte_array_free_to_bytes (g_steal_pointer (&sink->body));
}

void
g_curl_memory_sink_clear (GCurlMemorySink *sink)
{
  g_clear_pointer (&sink->body, g_byte_array_unref);
}

/* gcurl-download-segments.c: one file over several connections at once
 *
 * A segmented download splits the file into ranges, one per connection,
 * each written in place into the .part (which has the file's size from
 * the start). The first connection is the download's own transfer: its
 * response (a 200 of the whole file, or on a resume a 206 from the first
 * byte missing) is read up to the end of its range, and on into the next
 * range while no other connection has it; at a range another connection
 * has, it waits, paused by its full stream, until everything is there,
 * and then ends its run at the next chunk, successfully
 * (g_curl_transfer_end_body()). The other connections are transfers of
 * our own, in no multi's list, each asking for its range with Range and
 * If-Range, and checked: a 206 of exactly that range with the same
 * validators, or the file changed. A range whose connection fails for
 * good (a 401, a certificate to accept) falls to the first connection,
 * which reaches it in its stream.
 *
 * What each range has on disk is kept in <part>.segments, a key file
 * written (atomically) after the bytes it counts: a resume or a retry
 * continues every range. A .segments file that does not describe the
 * .part means the .part cannot be trusted: it has holes.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include "gcurl-download-segments-private.h"
#include "gcurl-easy-private.h"
#include "gcurl-error.h"
#include "gcurl-error-private.h"
#include "gcurl-headers-private.h"
#include "gcurl-multi-private.h"
#include "gcurl-retry-private.h"
#include "gcurl-send-private.h"
#include "gcurl-transfer-private.h"
#include "gcurl-util-private.h"

#define GCURL_SEGMENTS_SUFFIX ".segments"
#define GCURL_SEGMENTS_GROUP "gcurlmulti segments"
/* What each segment beyond the first must be worth: below this, another
 * connection costs more than it brings. */
#define GCURL_SEGMENT_MIN (2 * 1024 * 1024)
#define SEGMENT_BUFFER_SIZE (256 * 1024)
/* How often the progress of the segments is written down, at most. */
#define SAVE_INTERVAL_US G_USEC_PER_SEC

/* Test hook: a smaller minimum, for small test files. */
static gint64 segment_min = GCURL_SEGMENT_MIN;

typedef struct _Connection Connection;

typedef struct
{
  gint64      start;
  gint64      end;        /* exclusive */
  gint64      done;       /* bytes from start on disk */
  Connection *owner;      /* (nullable) (unowned): fetching it */
  gboolean    given_up;   /* its own connection failed for good */
} Segment;

struct _Connection
{
  gint           ref_count;    /* the run's, and each pending callback's */
  gboolean       removed;      /* out of the run: callbacks only let go */
  GCurlSegments *segments;     /* (owned) */
  GCurlTransfer *transfer;     /* (owned) */
  gboolean       primary;      /* the download's own transfer */
  GInputStream  *body;         /* (nullable) (owned) */
  GFileIOStream *io;           /* (nullable) (owned): the .part */
  GCancellable  *cancellable;  /* (owned) */
  guint8        *buffer;
  guint          segment;      /* the one it fetches */
  gint64         pos;          /* the next byte's offset in the file */
  guint          url;          /* into urls */
  GCurlRetry     retry;
  GSource       *retry_source; /* (nullable) */
  gboolean       waiting;      /* primary: at a range another one has */
  gboolean       run_over;     /* primary: its run has ended… */
  gboolean       ended;        /* …and it reads no more */
  gulong         finished_id;
};

struct _GCurlSegments
{
  gatomicrefcount        ref_count;
  GFile                 *part;
  GFile                 *state_file;
  gint64                 size;
  GArray                *segments;      /* Segment */

  /* While it runs. */
  GCurlMulti            *multi;
  char                 **urls;
  gboolean              *unusable;      /* per URL: another file there */
  char                  *etag;
  char                  *last_modified;
  guint                  max_connections;
  GPtrArray             *connections;   /* Connection, the primary first */
  Connection            *primary;
  gulong                 state_id;
  GCurlSegmentsDoneFunc  done;
  gpointer               done_data;
  gboolean               running;
  gint64                 last_save;
  GError                *given_up_error;  /* why a range was given up */
};

static void connection_read (Connection *c);
static void worker_send (Connection *c);

void
g_curl_download_set_segment_min (gint64 bytes)
{
  segment_min = bytes > 0 ? bytes : GCURL_SEGMENT_MIN;
}

static Segment *
segment_at (GCurlSegments *self,
            guint          i)
{
  return &g_array_index (self->segments, Segment, i);
}

static gboolean
segment_is_complete (const Segment *seg)
{
  return seg->start + seg->done >= seg->end;
}

static GCurlSegments *segments_new (GFile  *part,
                                     gint64  size,
                                     guint   n);

/* The layout of a .part for the first response's file, of @size bytes, or
 * %NULL if it is not to be split (see g_curl_transfer_set_segments()). */
GCurlSegments *
g_curl_segments_plan (GCurlTransfer *transfer,
                      GFile         *part,
                      gint64         size,
                      const char    *etag,
                      const char    *last_modified)
{
  guint wanted = g_curl_transfer_get_segments (transfer);
  const char *method = g_curl_transfer_get_method (transfer);
  const char *ranges = g_curl_transfer_get_response_header (transfer, "Accept-Ranges");
  const char *coding = g_curl_transfer_get_response_header (transfer, "Content-Encoding");
  gboolean strong = etag != NULL && !g_str_has_prefix (etag, "W/");
  gint64 n;

  if (wanted < 2 || size < 2 * segment_min || g_curl_transfer_get_status_code (transfer) != 200 ||
      (method != NULL && g_ascii_strcasecmp (method, "GET") != 0) ||
      ranges == NULL || strstr (ranges, "bytes") == NULL ||
      /* Its own speed limit is for the whole download: one connection. */
      g_curl_transfer_get_max_download_speed (transfer) > 0 ||
      (coding != NULL && g_ascii_strcasecmp (coding, "identity") != 0) ||
      (!strong && last_modified == NULL))
    return NULL;

  n = size / segment_min;
  return segments_new (part, size, (guint) MIN (n, (gint64) wanted));
}

static GCurlSegments *
segments_alloc (GFile  *part,
                gint64  size)
{
  GCurlSegments *self = g_new0 (GCurlSegments, 1);
  g_autofree char *name = g_strconcat (g_file_peek_path (part), GCURL_SEGMENTS_SUFFIX, NULL);

  g_atomic_ref_count_init (&self->ref_count);
  self->part = g_object_ref (part);
  self->state_file = g_file_new_for_path (name);
  self->size = size;
  self->segments = g_array_new (FALSE, TRUE, sizeof (Segment));
  return self;
}

/* A layout of @n equal ranges (the last takes the rest), none fetched. */
static GCurlSegments *
segments_new (GFile  *part,
              gint64  size,
              guint   n)
{
  GCurlSegments *self = segments_alloc (part, size);
  guint i;

  for (i = 0; i < n; i++)
    {
      Segment seg = { 0, };

      seg.start = size / n * i;
      seg.end = i + 1 < n ? size / n * (i + 1) : size;
      g_array_append_val (self->segments, seg);
    }
  return self;
}

/* The layout kept with @part, if it describes a .part of @part_size
 * bytes; *@exists says whether there was one at all (then the .part has
 * holes, and without a layout it must not be continued). */
static GCurlSegments *
segments_load (GFile    *part,
               gint64    part_size,
               gboolean *exists)
{
  g_autofree char *name = g_strconcat (g_file_peek_path (part), GCURL_SEGMENTS_SUFFIX, NULL);
  g_autoptr(GKeyFile) key_file = g_key_file_new ();
  g_autoptr(GCurlSegments) self = NULL;
  g_auto(GStrv) start_list = NULL;
  g_auto(GStrv) done_list = NULL;
  gint64 size;
  gsize n, n_done, i;

  *exists = g_file_test (name, G_FILE_TEST_EXISTS);
  if (!*exists || !g_key_file_load_from_file (key_file, name, G_KEY_FILE_NONE, NULL))
    return NULL;

  size = g_key_file_get_int64 (key_file, GCURL_SEGMENTS_GROUP, "size", NULL);
  start_list = g_key_file_get_string_list (key_file, GCURL_SEGMENTS_GROUP, "starts", &n, NULL);
  done_list = g_key_file_get_string_list (key_file, GCURL_SEGMENTS_GROUP, "done", &n_done, NULL);
  if (size <= 0 || size != part_size || start_list == NULL || done_list == NULL ||
      n == 0 || n != n_done)
    return NULL;

  self = segments_alloc (part, size);
  for (i = 0; i < n; i++)
    {
      Segment seg = { 0, };
      guint64 start, done;

      if (!g_ascii_string_to_unsigned (start_list[i], 10, 0, (guint64) size - 1, &start, NULL) ||
          !g_ascii_string_to_unsigned (done_list[i], 10, 0, (guint64) size, &done, NULL) ||
          (i == 0 && start != 0) ||
          (i > 0 && (gint64) start <= segment_at (self, i - 1)->start))
        return NULL;
      seg.start = (gint64) start;
      seg.done = (gint64) done;
      if (i > 0)
        segment_at (self, i - 1)->end = seg.start;
      g_array_append_val (self->segments, seg);
    }
  segment_at (self, n - 1)->end = size;
  for (i = 0; i < n; i++)
    if (segment_at (self, i)->done > segment_at (self, i)->end - segment_at (self, i)->start)
      return NULL;

  return g_steal_pointer (&self);
}

void
g_curl_segments_delete_for (GFile *part)
{
  g_autofree char *name = g_strconcat (g_file_peek_path (part), GCURL_SEGMENTS_SUFFIX, NULL);

  g_unlink (name);
}

static gboolean
segments_save (GCurlSegments  *self,
               GError        **error)
{
  g_autoptr(GKeyFile) key_file = g_key_file_new ();
  g_autoptr(GPtrArray) starts = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) dones = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *data = NULL;
  gsize length;
  guint i;

  for (i = 0; i < self->segments->len; i++)
    {
      g_ptr_array_add (starts, g_strdup_printf ("%" G_GINT64_FORMAT, segment_at (self, i)->start));
      g_ptr_array_add (dones, g_strdup_printf ("%" G_GINT64_FORMAT, segment_at (self, i)->done));
    }
  g_key_file_set_int64 (key_file, GCURL_SEGMENTS_GROUP, "size", self->size);
  g_key_file_set_string_list (key_file, GCURL_SEGMENTS_GROUP, "starts",
                              (const char * const *) starts->pdata, starts->len);
  g_key_file_set_string_list (key_file, GCURL_SEGMENTS_GROUP, "done",
                              (const char * const *) dones->pdata, dones->len);
  data = g_key_file_to_data (key_file, &length, NULL);
  self->last_save = g_get_monotonic_time ();

  return g_file_set_contents_full (g_file_peek_path (self->state_file), data, length,
                                   G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);
}

GCurlSegments *
g_curl_segments_ref (GCurlSegments *self)
{
  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
g_curl_segments_unref (GCurlSegments *self)
{
  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;

  g_assert (self->connections == NULL || self->connections->len == 0);
  g_clear_pointer (&self->connections, g_ptr_array_unref);
  g_clear_object (&self->multi);
  g_strfreev (self->urls);
  g_free (self->unusable);
  g_free (self->etag);
  g_free (self->last_modified);
  g_clear_error (&self->given_up_error);
  g_array_unref (self->segments);
  g_object_unref (self->state_file);
  g_object_unref (self->part);
  g_free (self);
}

/* The first byte of the file not on disk yet (the size if none). */
static gint64
first_missing (GCurlSegments *self)
{
  guint i;

  for (i = 0; i < self->segments->len; i++)
    if (!segment_is_complete (segment_at (self, i)))
      return segment_at (self, i)->start + segment_at (self, i)->done;
  return self->size;
}

/* A .part of *@offset bytes, to continue: if it is segmented, its layout,
 * and *@offset becomes its first byte missing; if its layout is lost, it
 * has holes, and *@offset becomes 0 (start over). */
GCurlSegments *
g_curl_segments_resume (GFile  *part,
                        gint64 *offset)
{
  gboolean exists;
  GCurlSegments *self = segments_load (part, *offset, &exists);

  if (self != NULL)
    *offset = first_missing (self);
  else if (exists)
    *offset = 0;
  return self;
}

gint64
g_curl_segments_get_size (GCurlSegments *self)
{
  return self->size;
}

/* Finishing (in a worker thread): the .part, written by several streams,
 * on disk before it gets its name. */
gboolean
g_curl_segments_sync (GCurlSegments  *self,
                      GError        **error)
{
  const char *path = g_file_peek_path (self->part);
  int fd = g_open (path, O_RDWR | O_CLOEXEC, 0);

  if (fd < 0 || fsync (fd) < 0)
    {
      int errsv = errno;

      if (fd >= 0)
        close (fd);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv),
                   _("Could not write %s to disk: %s"), path, g_strerror (errsv));
      return FALSE;
    }
  close (fd);
  return TRUE;
}

static gint64
bytes_on_disk (GCurlSegments *self)
{
  gint64 sum = 0;
  guint i;

  for (i = 0; i < self->segments->len; i++)
    sum += segment_at (self, i)->done;
  return sum;
}

static gboolean
all_complete (GCurlSegments *self)
{
  guint i;

  for (i = 0; i < self->segments->len; i++)
    if (!segment_is_complete (segment_at (self, i)))
      return FALSE;
  return TRUE;
}


static Connection *
connection_ref (Connection *c)
{
  c->ref_count++;
  return c;
}

static void
connection_unref (Connection *c)
{
  if (--c->ref_count > 0)
    return;

  g_curl_clear_source (&c->retry_source);
  g_clear_signal_handler (&c->finished_id, c->transfer);
  g_clear_object (&c->body);
  if (c->io != NULL)
    g_io_stream_close (G_IO_STREAM (c->io), NULL, NULL);
  g_clear_object (&c->io);
  g_clear_object (&c->cancellable);
  g_clear_object (&c->transfer);
  g_curl_segments_unref (c->segments);
  g_free (c->buffer);
  g_free (c);
}

static Connection *
connection_new (GCurlSegments *self,
                GCurlTransfer *transfer,
                gboolean       primary)
{
  Connection *c = g_new0 (Connection, 1);

  c->ref_count = 1;
  c->segments = g_curl_segments_ref (self);
  c->transfer = transfer != NULL ? g_object_ref (transfer) : NULL;
  c->primary = primary;
  c->cancellable = g_cancellable_new ();
  c->buffer = g_malloc (SEGMENT_BUFFER_SIZE);
  c->segment = G_MAXUINT;
  g_ptr_array_add (self->connections, c);
  return c;
}

/* The connection is done with: out of the run. Its pending callbacks see
 * that, and only let go. */
static void
connection_remove (Connection *c)
{
  GCurlSegments *self = c->segments;

  if (c->removed)
    return;
  c->removed = TRUE;
  g_curl_clear_source (&c->retry_source);
  g_cancellable_cancel (c->cancellable);
  if (c->segment < self->segments->len && segment_at (self, c->segment)->owner == c)
    segment_at (self, c->segment)->owner = NULL;
  if (self->primary == c)
    self->primary = NULL;
  /* Drops the run's reference, maybe the last. */
  g_ptr_array_remove (self->connections, c);
}

/* Ends the run: @error (owned) or success, once. The connections of our
 * own are cancelled; the primary is the download's to end. */
static void
segments_return (GCurlSegments *self,
                 GError        *error,
                 gboolean       changed)
{
  GCurlSegmentsDoneFunc done = self->done;
  g_autoptr(GError) save_error = NULL;

  if (!self->running)
    {
      g_clear_error (&error);
      return;
    }

  /* The done function may drop the last other reference. */
  g_curl_segments_ref (self);

  self->running = FALSE;
  self->done = NULL;
  if (self->primary != NULL)
    g_clear_signal_handler (&self->state_id, self->primary->transfer);
  if (!changed && !segments_save (self, &save_error) && error == NULL)
    error = g_steal_pointer (&save_error);

  while (self->connections->len > 0)
    {
      Connection *c = g_ptr_array_index (self->connections, self->connections->len - 1);

      if (!c->primary)
        g_curl_transfer_cancel (c->transfer);
      connection_remove (c);
    }

  done (error, changed, self->done_data);
  g_curl_segments_unref (self);
}

static void
report_progress (GCurlSegments *self)
{
  if (self->primary != NULL && !self->primary->ended)
    g_curl_transfer_set_segmented_bytes (self->primary->transfer, bytes_on_disk (self));
}

/* Every byte is there: the primary's run ends (at once if it waits, or
 * once it has read its last range), then the run. Or nothing can bring
 * what is missing any more (ranges given up behind the primary): the
 * attempt fails, and the next continues from the first byte missing. */
static void
check_progress (GCurlSegments *self)
{
  gboolean live = FALSE;
  guint i;

  if (!self->running)
    return;

  for (i = 0; i < self->connections->len; i++)
    {
      Connection *c = g_ptr_array_index (self->connections, i);

      live |= !c->primary || (!c->ended && !c->waiting);
    }

  if (self->primary != NULL && !self->primary->ended &&
      !(self->primary->waiting && self->primary->run_over))
    {
      if (all_complete (self))
        report_progress (self);
      /* Its finished brings the rest. */
      if (self->primary->waiting && (all_complete (self) || !live))
        g_curl_transfer_end_body (self->primary->transfer);
      return;
    }

  if (all_complete (self))
    segments_return (self, NULL, FALSE);
  else if (!live)
    segments_return (self, self->given_up_error != NULL ? g_error_copy (self->given_up_error)
                                                        : g_error_new (G_CURL_ERROR, G_CURL_ERROR_PARTIAL_FILE,
                                                                       _("The server sent less of %s than announced"),
                                                                       self->urls[0]),
                     FALSE);
}

/* The next range for a connection of our own: the last that nobody
 * fetches, so that the primary, which can only go forward in its stream,
 * finds the ones after its own free. */
static gint
free_segment (GCurlSegments *self)
{
  guint i;

  for (i = self->segments->len; i-- > 0;)
    {
      Segment *seg = segment_at (self, i);

      if (seg->owner == NULL && !seg->given_up && !segment_is_complete (seg))
        return (gint) i;
    }
  return -1;
}

static gboolean
open_part (Connection  *c,
           GError     **error)
{
  if (c->io == NULL && (c->io = g_file_open_readwrite (c->segments->part, NULL, error)) == NULL)
    return FALSE;
  return g_seekable_seek (G_SEEKABLE (c->io), c->pos, G_SEEK_SET, NULL, error);
}

/* The primary at the end of a range: on into the next if nobody has it,
 * else it waits (its stream fills, libcurl pauses) until the end. */
static void
primary_next (Connection *c)
{
  GCurlSegments *self = c->segments;
  guint next = c->segment + 1;

  segment_at (self, c->segment)->owner = NULL;
  if (next >= self->segments->len)
    connection_read (c);     /* the end of the body */
  else if (segment_at (self, next)->owner == NULL &&
           (!segment_is_complete (segment_at (self, next)) || self->max_connections == 1))
    {
      /* Alone, it reads what the ranges ahead have again, the same. */
      c->segment = next;
      segment_at (self, next)->owner = c;
      connection_read (c);
    }
  else
    c->waiting = TRUE;
  check_progress (self);
}

/* A range given up by its connection: the primary takes it if it is the
 * one it waits at. */
static void
primary_wake (GCurlSegments *self)
{
  Connection *c = self->primary;

  if (c == NULL || !c->waiting || c->ended || c->segment + 1 >= self->segments->len)
    return;
  if (segment_at (self, c->segment + 1)->owner != NULL)
    return;

  c->waiting = FALSE;
  c->segment++;
  segment_at (self, c->segment)->owner = c;
  connection_read (c);
}

/* A connection of our own has its range: another, or it ends. */
static void
worker_next (Connection *c)
{
  GCurlSegments *self = c->segments;
  gint i;

  segment_at (self, c->segment)->owner = NULL;
  segments_save (self, NULL);
  c->segment = G_MAXUINT;
  g_clear_object (&c->body);

  i = free_segment (self);
  if (i < 0)
    connection_remove (c);
  else
    {
      c->segment = (guint) i;
      segment_at (self, i)->owner = c;
      worker_send (c);
    }
  check_progress (self);
}

static void
write_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  Connection *c = user_data;
  GCurlSegments *self = c->segments;
  GError *error = NULL;
  gsize written = 0;
  Segment *seg;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, &written, &error))
    {
      /* Not transient: the disk, not the network. */
      if (!c->removed)
        segments_return (self, error, FALSE);
      else
        g_error_free (error);
      connection_unref (c);
      return;
    }
  if (c->removed)
    {
      connection_unref (c);
      return;
    }

  c->pos += written;
  seg = segment_at (self, c->segment);
  seg->done = MAX (seg->done, MIN (c->pos, seg->end) - seg->start);
  report_progress (self);
  if (g_get_monotonic_time () - self->last_save >= SAVE_INTERVAL_US)
    segments_save (self, NULL);

  if (c->primary && c->pos >= seg->end)
    primary_next (c);
  else
    connection_read (c);
  connection_unref (c);
}

static void worker_failed (Connection *c,
                           GError     *error);

static void
read_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  Connection *c = user_data;
  GCurlSegments *self = c->segments;
  GError *error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);

  if (c->removed)
    {
      g_clear_error (&error);
      connection_unref (c);
      return;
    }

  if (n < 0)
    {
      /* The primary's failure is the attempt's: download_async decides. */
      if (c->primary)
        segments_return (self, error, FALSE);
      else
        worker_failed (c, error);
    }
  else if (n == 0)
    {
      /* The end of the body: a range of our own ends here exactly; the
       * primary's at the end of the file (its run says if it was short). */
      if (c->primary)
        {
          c->ended = TRUE;
          if (c->segment < self->segments->len && segment_at (self, c->segment)->owner == c)
            segment_at (self, c->segment)->owner = NULL;
          check_progress (self);
        }
      else if (c->pos == segment_at (self, c->segment)->end)
        worker_next (c);
      else if (!c->primary)
        worker_failed (c, g_error_new (G_CURL_ERROR, G_CURL_ERROR_PARTIAL_FILE,
                                       _("The server sent less of %s than the range asked"),
                                       g_curl_transfer_get_shown_url (c->transfer)));
    }
  else
    {
      g_output_stream_write_all_async (g_io_stream_get_output_stream (G_IO_STREAM (c->io)),
                                       c->buffer, (gsize) n, G_PRIORITY_DEFAULT, c->cancellable,
                                       write_cb, connection_ref (c));
    }
  connection_unref (c);
}

/* Reads the next chunk of the range: a connection of our own reads to its
 * end (and the end of the body after it), the primary no further than its
 * range, so that it stops where another connection begins. */
static void
connection_read (Connection *c)
{
  Segment *seg = segment_at (c->segments, c->segment);
  gsize count = SEGMENT_BUFFER_SIZE;

  if (c->primary && c->segment < c->segments->segments->len)
    count = (gsize) MIN ((gint64) count, MAX (seg->end - c->pos, 1));
  g_input_stream_read_async (c->body, c->buffer, count, G_PRIORITY_DEFAULT, c->cancellable,
                             read_cb, connection_ref (c));
}

static gboolean
retry_cb (gpointer user_data)
{
  Connection *c = user_data;

  g_clear_pointer (&c->retry_source, g_source_unref);
  worker_send (c);
  return G_SOURCE_REMOVE;
}

/* The next URL for segments, from @from on: one whose file is this one, as
 * far as we know. */
static gboolean
next_url (Connection *c)
{
  GCurlSegments *self = c->segments;
  guint n = g_strv_length (self->urls);
  guint i;

  for (i = 1; i <= n; i++)
    if (!self->unusable[(c->url + i) % n])
      {
        c->url = (c->url + i) % n;
        return TRUE;
      }
  return FALSE;
}

/* A connection of our own failed: again after a while if it may, else its
 * range falls to the primary; if the primary cannot reach it, the attempt
 * fails, and download_async's retries continue every range. */
static void
worker_failed (Connection *c,
               GError     *error)
{
  GCurlSegments *self = c->segments;
  Segment *seg = segment_at (self, c->segment);
  guint status = g_curl_transfer_get_status_code (c->transfer);
  long os_errno = 0;

  curl_easy_getinfo (g_curl_transfer_get_handle (c->transfer), CURLINFO_OS_ERRNO, &os_errno);
  if (c->retry.left > 0 && g_curl_error_is_transient_for_status (error, status, (int) os_errno))
    {
      guint delay = g_curl_retry_next_delay (&c->retry,
                                             g_curl_transfer_get_response_header (c->transfer,
                                                                                  "Retry-After"));

      GCURL_DEBUG ("Segment %u of %s failed (%s); again in %u ms", c->segment,
                   g_curl_transfer_get_shown_url (c->transfer), error->message, delay);
      g_error_free (error);
      g_clear_object (&c->body);
      next_url (c);
      c->retry_source = g_timeout_source_new (delay);
      g_source_set_static_name (c->retry_source, "GCurl segment retry");
      g_source_set_callback (c->retry_source, retry_cb, c, NULL);
      g_source_attach (c->retry_source, g_curl_multi_get_context (self->multi));
      return;
    }

  GCURL_DEBUG ("Segment %u of %s failed for good (%s)", c->segment,
               g_curl_transfer_get_shown_url (c->transfer), error->message);
  seg->owner = NULL;
  seg->given_up = TRUE;
  g_clear_error (&self->given_up_error);
  self->given_up_error = error;
  connection_remove (c);
  primary_wake (self);
  check_progress (self);
}

/* Whether the response of a connection of our own is of the same file
 * (its validators), and exactly its range. */
static gboolean
is_same_file (Connection *c)
{
  GCurlSegments *self = c->segments;
  const char *etag = g_curl_transfer_get_response_header (c->transfer, "ETag");
  const char *last_modified = g_curl_transfer_get_response_header (c->transfer, "Last-Modified");

  return self->etag != NULL ? g_strcmp0 (etag, self->etag) == 0
                            : g_strcmp0 (last_modified, self->last_modified) == 0;
}

static gboolean
is_our_range (Connection *c)
{
  gint64 start = -1, total = -1;

  return g_curl_transfer_get_status_code (c->transfer) == 206 &&
         g_curl_parse_content_range (g_curl_transfer_get_response_header (c->transfer,
                                                                          "Content-Range"),
                                     &start, &total) &&
         start == c->pos && total == c->segments->size;
}

static void
worker_send_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  Connection *c = user_data;
  GCurlSegments *self = c->segments;
  GError *error = NULL;
  GInputStream *body = g_curl_multi_send_finish (G_CURL_MULTI (source), result, &error);
  guint status;

  if (c->removed)
    {
      g_clear_object (&body);
      g_clear_error (&error);
      connection_unref (c);
      return;
    }

  if (body == NULL)
    {
      worker_failed (c, error);
      connection_unref (c);
      return;
    }

  c->body = body;
  status = g_curl_transfer_get_status_code (c->transfer);
  if (status >= 400)
    {
      error = g_curl_error_new_http (status, g_curl_transfer_get_reason_phrase (c->transfer),
                                     g_curl_transfer_get_shown_url (c->transfer));
      g_curl_multi_fail_transfer (self->multi, c->transfer, g_error_copy (error));
      worker_failed (c, error);
    }
  else if (is_same_file (c) && !is_our_range (c))
    {
      /* It ignores ranges (a 200 of the whole file) or answers another one:
       * this range is the primary's. */
      g_clear_object (&c->body);
      g_curl_transfer_cancel (c->transfer);
      worker_failed (c, g_error_new (G_CURL_ERROR, G_CURL_ERROR_RANGE_ERROR,
                                     _("%s does not send the range asked"),
                                     g_curl_transfer_get_shown_url (c->transfer)));
    }
  else if (!is_same_file (c))
    {
      g_clear_object (&c->body);
      g_curl_transfer_cancel (c->transfer);
      /* Another file: on the download's URL, the file changed; on a mirror,
       * that mirror has another version, and is not used for segments. */
      if (c->url == 0)
        segments_return (self, NULL, TRUE);
      else
        {
          GCURL_DEBUG ("Segment %u: %s has another version of the file", c->segment,
                       g_curl_transfer_get_shown_url (c->transfer));
          self->unusable[c->url] = TRUE;
          next_url (c);
          c->retry_source = g_timeout_source_new (0);
          g_source_set_callback (c->retry_source, retry_cb, c, NULL);
          g_source_attach (c->retry_source, g_curl_multi_get_context (self->multi));
        }
    }
  else
    {
      GError *open_error = NULL;

      if (!open_part (c, &open_error))
        segments_return (self, open_error, FALSE);
      else
        connection_read (c);
    }
  connection_unref (c);
}

static void
worker_finished_cb (GCurlTransfer *transfer,
                    gpointer       user_data)
{
  Connection *c = user_data;

  g_clear_signal_handler (&c->finished_id, transfer);
  if (!c->removed)
    worker_send (c);
  connection_unref (c);
}

/* Asks for the rest of the connection's range, with what the primary's
 * request had that a transfer can carry. */
static void
worker_send (Connection *c)
{
  GCurlSegments *self = c->segments;
  Segment *seg = segment_at (self, c->segment);
  g_autofree char *range = NULL;

  /* Its last run is still ending (a cancel, a failure). */
  if (g_curl_transfer_get_owner (c->transfer) != NULL || g_curl_transfer_is_running (c->transfer))
    {
      c->finished_id = g_signal_connect (c->transfer, "finished",
                                         G_CALLBACK (worker_finished_cb), connection_ref (c));
      return;
    }

  c->pos = seg->start + seg->done;
  range = g_strdup_printf ("bytes=%" G_GINT64_FORMAT "-%" G_GINT64_FORMAT, c->pos, seg->end - 1);
  g_curl_transfer_set_run_url (c->transfer, self->urls[c->url]);
  g_curl_transfer_set_library_header (c->transfer, "Range", range);
  g_curl_transfer_set_library_header (c->transfer, "If-Range",
                                      self->etag != NULL ? self->etag : self->last_modified);
  g_clear_object (&c->io);
  g_curl_multi_send_async_full (self->multi, c->transfer, FALSE, c->cancellable, worker_send_cb,
                                connection_ref (c));
}

/* A transfer of our own with what @primary's request had that can be
 * carried over. */
static GCurlTransfer *
worker_transfer_new (GCurlSegments *self,
                     GCurlTransfer *primary)
{
  GCurlTransfer *transfer = g_curl_transfer_new (g_curl_transfer_get_url (primary));
  GCurlEasy *from = g_curl_transfer_get_easy (primary);
  GCurlEasy *to = g_curl_transfer_get_easy (transfer);
  GCurlRequestOptions *options = g_curl_transfer_ensure_options (transfer);

  g_curl_transfer_set_unlisted (transfer);
  g_curl_request_options_clear (options);
  g_curl_request_options_copy (g_curl_transfer_ensure_options (primary), options);
  if (from->request_headers != NULL)
    to->request_headers = g_curl_header_list_copy (from->request_headers);
  g_curl_transfer_set_download_mode (transfer, TRUE);
  if (g_curl_transfer_get_state (primary) == G_CURL_TRANSFER_STATE_PAUSED)
    g_curl_transfer_pause (transfer);
  return transfer;
}

static void
worker_start (GCurlSegments *self,
              guint          i)
{
  Connection *c = connection_new (self, NULL, FALSE);
  guint n = g_strv_length (self->urls);

  c->transfer = worker_transfer_new (self, self->primary->transfer);
  c->segment = i;
  segment_at (self, i)->owner = c;
  /* The segments go round the URLs. */
  c->url = (self->connections->len - 1) % n;
  if (self->unusable[c->url])
    next_url (c);
  g_curl_retry_init (&c->retry, g_curl_multi_get_download_retries (self->multi),
                     g_curl_multi_get_retry_delay (self->multi));
  worker_send (c);
}

/* The primary's run ended: with an error, the attempt's; a success before
 * every range is there leaves the others to finish. */
static void
primary_finished_cb (GCurlTransfer *transfer,
                     gpointer       user_data)
{
  Connection *c = user_data;
  GCurlSegments *self = c->segments;
  const GError *error = g_curl_transfer_get_error (transfer);

  g_clear_signal_handler (&c->finished_id, transfer);
  if (c->removed)
    return;

  if (error != NULL)
    {
      segments_return (self, g_error_copy (error), FALSE);
      return;
    }
  /* Its stream may still hold what it has not read: its end comes there,
   * unless it waits at a range another connection has. */
  c->run_over = TRUE;
  check_progress (self);
}

/* Pausing the download's transfer pauses every connection. */
static void
primary_state_cb (GCurlTransfer *transfer,
                  GParamSpec    *pspec,
                  gpointer       user_data)
{
  GCurlSegments *self = user_data;
  GCurlTransferState state = g_curl_transfer_get_state (transfer);
  guint i;

  if (state != G_CURL_TRANSFER_STATE_PAUSED && state != G_CURL_TRANSFER_STATE_RUNNING)
    return;
  for (i = 0; i < self->connections->len; i++)
    {
      Connection *c = g_ptr_array_index (self->connections, i);

      if (c->primary)
        continue;
      if (state == G_CURL_TRANSFER_STATE_PAUSED)
        g_curl_transfer_pause (c->transfer);
      else
        g_curl_transfer_resume (c->transfer);
    }
}

/* Runs the layout: @transfer's response, @body, begins at @body_start
 * (the start of the file, or on a resume the first byte missing), of the
 * version @etag or @last_modified names; @urls are the download's, the
 * first the one @transfer asked. */
void
g_curl_segments_run (GCurlSegments         *self,
                     GCurlMulti            *multi,
                     GCurlTransfer         *transfer,
                     GInputStream          *body,
                     gint64                 body_start,
                     const char * const    *urls,
                     const char            *etag,
                     const char            *last_modified,
                     GCurlSegmentsDoneFunc  done,
                     gpointer               user_data)
{
  Connection *c;
  GError *error = NULL;
  guint i;

  g_return_if_fail (!self->running);

  self->running = TRUE;
  self->done = done;
  self->done_data = user_data;
  g_set_object (&self->multi, multi);
  g_strfreev (self->urls);
  self->urls = g_strdupv ((char **) urls);
  g_free (self->unusable);
  self->unusable = g_new0 (gboolean, g_strv_length (self->urls));
  g_free (self->etag);
  self->etag = etag != NULL && !g_str_has_prefix (etag, "W/") ? g_strdup (etag) : NULL;
  g_free (self->last_modified);
  self->last_modified = g_strdup (last_modified);
  self->max_connections = MAX (g_curl_transfer_get_segments (transfer), 1);
  if (self->connections == NULL)
    self->connections = g_ptr_array_new_with_free_func ((GDestroyNotify) connection_unref);
  for (i = 0; i < self->segments->len; i++)
    {
      segment_at (self, i)->owner = NULL;
      segment_at (self, i)->given_up = FALSE;
    }

  c = connection_new (self, transfer, TRUE);
  self->primary = c;
  c->body = g_object_ref (body);
  c->pos = body_start;
  for (i = 0; i < self->segments->len; i++)
    if (segment_at (self, i)->end > body_start)
      break;
  c->segment = MIN (i, self->segments->len - 1);
  segment_at (self, c->segment)->owner = c;
  c->finished_id = g_signal_connect (transfer, "finished", G_CALLBACK (primary_finished_cb), c);
  self->state_id = g_signal_connect (transfer, "notify::state", G_CALLBACK (primary_state_cb), self);

  /* The layout first: a .part of the file's size is never without it. */
  if (!segments_save (self, &error) || !open_part (c, &error) ||
      !g_seekable_truncate (G_SEEKABLE (c->io), self->size, NULL, &error) ||
      !g_seekable_seek (G_SEEKABLE (c->io), c->pos, G_SEEK_SET, NULL, &error))
    {
      segments_return (self, error, FALSE);
      return;
    }

  report_progress (self);
  connection_read (c);
  while (self->running && self->connections->len < self->max_connections)
    {
      gint free = free_segment (self);

      if (free < 0)
        break;
      worker_start (self, (guint) free);
    }
}

/* The download was cancelled: every connection of our own stops, and a
 * run ends, cancelled. */
void
g_curl_segments_cancel (GCurlSegments *self)
{
  if (self->running)
    segments_return (self, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                _("Operation was cancelled")),
                     FALSE);
}

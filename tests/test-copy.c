/* test-copy.c: a stream into another, reading while writing
 *
 * g_curl_copy_async() (libgcurlmulti/gcurl-copy.c) is what download_async
 * writes a body with. These tests drive it with streams whose reads and
 * writes can be made to fail or to stall: every byte read arrives in order,
 * a failed read still writes what came before it, and a failed write ends
 * the copy at once, cutting a pending read short, with the write's error.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include <gio/gio.h>

#include "gcurl-copy-private.h"

/* An input stream over @data, in reads of at most @piece bytes, that fails
 * (or stalls until cancelled) after @limit bytes instead of ending. */
G_DECLARE_FINAL_TYPE (TestIn, test_in, TEST, IN, GInputStream)

struct _TestIn
{
  GInputStream  parent_instance;
  const guint8 *data;
  gsize         size;
  gsize         offset;
  gsize         piece;
  gsize         limit;     /* G_MAXSIZE: no failure */
  gboolean      stall;     /* at the limit: wait for the cancellable */
  gint          stalled;   /* (atomic): a read waits at the limit */
  guint         n_reads;
};

G_DEFINE_TYPE (TestIn, test_in, G_TYPE_INPUT_STREAM)

static gssize
test_in_read (GInputStream  *stream,
              void          *buffer,
              gsize          count,
              GCancellable  *cancellable,
              GError       **error)
{
  TestIn *self = (TestIn *) stream;
  gsize n;

  self->n_reads++;
  if (self->offset >= self->limit)
    {
      if (self->stall)
        {
          GPollFD fd;

          /* Until the copy cancels the read: it must, or this hangs. */
          g_assert_true (g_cancellable_make_pollfd (cancellable, &fd));
          g_atomic_int_set (&self->stalled, 1);
          g_poll (&fd, 1, -1);
          g_cancellable_release_fd (cancellable);
          g_cancellable_set_error_if_cancelled (cancellable, error);
          return -1;
        }
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED, "the peer closed");
      return -1;
    }

  n = MIN (MIN (count, self->piece), MIN (self->size, self->limit) - self->offset);
  if (n > 0)  /* an empty source has no data at all */
    memcpy (buffer, self->data + self->offset, n);
  self->offset += n;
  return (gssize) n;
}

static void
test_in_class_init (TestInClass *klass)
{
  G_INPUT_STREAM_CLASS (klass)->read_fn = test_in_read;
}

static void
test_in_init (TestIn *self)
{
  self->limit = G_MAXSIZE;
  self->piece = 64 * 1024;
}

/* An output stream into a byte array that fails with NO_SPACE once it
 * holds @limit bytes (a write is then cut short at the limit). */
G_DECLARE_FINAL_TYPE (TestOut, test_out, TEST, OUT, GOutputStream)

struct _TestOut
{
  GOutputStream parent_instance;
  GByteArray   *bytes;
  gsize         limit;
  TestIn       *fail_after_stall;  /* (nullable): the failing write waits
                                    * for a read to stall in this */
  guint         n_writes;
};

G_DEFINE_TYPE (TestOut, test_out, G_TYPE_OUTPUT_STREAM)

static gssize
test_out_write (GOutputStream  *stream,
                const void     *buffer,
                gsize           count,
                GCancellable   *cancellable,
                GError        **error)
{
  TestOut *self = (TestOut *) stream;
  gsize n = MIN (count, self->limit - self->bytes->len);

  self->n_writes++;
  if (n == 0)
    {
      while (self->fail_after_stall != NULL &&
             !g_atomic_int_get (&self->fail_after_stall->stalled))
        g_usleep (1000);
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "the disk is full");
      return -1;
    }
  g_byte_array_append (self->bytes, buffer, (guint) n);
  return (gssize) n;
}

static void
test_out_finalize (GObject *object)
{
  g_byte_array_unref (((TestOut *) object)->bytes);
  G_OBJECT_CLASS (test_out_parent_class)->finalize (object);
}

static void
test_out_class_init (TestOutClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = test_out_finalize;
  G_OUTPUT_STREAM_CLASS (klass)->write_fn = test_out_write;
}

static void
test_out_init (TestOut *self)
{
  self->bytes = g_byte_array_new ();
  self->limit = G_MAXSIZE;
}

typedef struct
{
  gboolean  done;
  gboolean  copied;
  guint64   written;
  GError   *error;
} Result;

static void
copy_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  Result *r = user_data;

  g_assert_null (source);
  g_assert_false (r->done);
  r->copied = g_curl_copy_finish (result, &r->written, &r->error);
  r->done = TRUE;
}

static void
run_copy (TestIn  *in,
          TestOut *out,
          Result  *r)
{
  memset (r, 0, sizeof *r);
  g_curl_copy_async (G_INPUT_STREAM (in), G_OUTPUT_STREAM (out), copy_cb, r);
  while (!r->done)
    g_main_context_iteration (NULL, TRUE);
}

static guint8 *
random_bytes (gsize size)
{
  guint8 *data = g_malloc (size);

  for (gsize i = 0; i < size; i++)
    data[i] = (guint8) g_test_rand_int_range (0, 256);
  return data;
}

static void
assert_same_bytes (const guint8 *expected,
                   gsize         size,
                   GByteArray   *bytes)
{
  g_autofree char *want = g_compute_checksum_for_data (G_CHECKSUM_SHA256, expected, size);
  g_autofree char *got = g_compute_checksum_for_data (G_CHECKSUM_SHA256, bytes->data, bytes->len);

  g_assert_cmpuint (bytes->len, ==, size);
  g_assert_cmpstr (got, ==, want);
}

/* Several buffers' worth in small reads, and sizes around the buffer's. */
static void
test_copy_whole (void)
{
  const gsize sizes[] = { 0, 1, GCURL_COPY_WRITE_SIZE - 1, GCURL_COPY_WRITE_SIZE,
                          GCURL_COPY_CHUNK_SIZE, GCURL_COPY_CHUNK_SIZE + 1,
                          5 * GCURL_COPY_CHUNK_SIZE + 12345 };

  for (gsize i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      g_autofree guint8 *data = random_bytes (sizes[i]);
      g_autoptr(TestIn) in = g_object_new (test_in_get_type (), NULL);
      g_autoptr(TestOut) out = g_object_new (test_out_get_type (), NULL);
      Result r;

      in->data = data;
      in->size = sizes[i];
      in->piece = 16 * 1024 + 7;
      run_copy (in, out, &r);

      g_assert_no_error (r.error);
      g_assert_true (r.copied);
      g_assert_cmpuint (r.written, ==, sizes[i]);
      assert_same_bytes (data, sizes[i], out->bytes);
      /* Whole buffers, not a write per read. */
      g_assert_cmpuint (out->n_writes, <=, sizes[i] / GCURL_COPY_WRITE_SIZE + 1);
      /* Neither stream is closed. */
      g_assert_false (g_input_stream_is_closed (G_INPUT_STREAM (in)));
      g_assert_false (g_output_stream_is_closed (G_OUTPUT_STREAM (out)));
    }
}

/* The transfer failed: what arrived before is written, the read's error
 * is the result. */
static void
test_copy_read_fails (void)
{
  const gsize size = 3 * GCURL_COPY_CHUNK_SIZE, limit = GCURL_COPY_CHUNK_SIZE + 4321;
  g_autofree guint8 *data = random_bytes (size);
  g_autoptr(TestIn) in = g_object_new (test_in_get_type (), NULL);
  g_autoptr(TestOut) out = g_object_new (test_out_get_type (), NULL);
  Result r;

  in->data = data;
  in->size = size;
  in->limit = limit;
  run_copy (in, out, &r);

  g_assert_error (r.error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);
  g_assert_false (r.copied);
  g_assert_cmpuint (r.written, ==, limit);
  assert_same_bytes (data, limit, out->bytes);
  g_clear_error (&r.error);
}

/* The disk is full while a read waits for data that is not coming (the
 * failing write waits for that read to stall): the copy must cancel the
 * read, or this hangs, and ends with the write's error, nothing written
 * after the bytes that failed. */
static void
test_copy_write_fails (void)
{
  const gsize size = 2 * GCURL_COPY_CHUNK_SIZE, limit = 100000;
  g_autofree guint8 *data = random_bytes (size);
  g_autoptr(TestIn) in = g_object_new (test_in_get_type (), NULL);
  g_autoptr(TestOut) out = g_object_new (test_out_get_type (), NULL);
  Result r;

  in->data = data;
  in->size = size;
  in->limit = GCURL_COPY_WRITE_SIZE + 1000;
  in->stall = TRUE;
  out->limit = limit;
  out->fail_after_stall = in;
  run_copy (in, out, &r);

  g_assert_error (r.error, G_IO_ERROR, G_IO_ERROR_NO_SPACE);
  g_assert_false (r.copied);
  g_assert_cmpuint (r.written, ==, limit);
  assert_same_bytes (data, limit, out->bytes);
  /* Reading went on while the first buffer was written. */
  g_assert_cmpuint (in->offset, ==, in->limit);
  g_assert_cmpint (g_atomic_int_get (&in->stalled), ==, 1);
  g_clear_error (&r.error);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/copy/whole", test_copy_whole);
  g_test_add_func ("/copy/read-fails", test_copy_read_fails);
  g_test_add_func ("/copy/write-fails", test_copy_write_fails);

  return g_test_run ();
}

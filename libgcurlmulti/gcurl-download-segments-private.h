/* gcurl-download-segments-private.h: one file over several connections
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

#include "gcurl-multi.h"

G_BEGIN_DECLS

/* A segmented download's layout (the ranges of the file and what each has
 * received, kept in <part>.segments) and, while it runs, its connections:
 * the download's own transfer, whose response is the first segment's, and
 * transfers of its own for the others. Reference counted: the callbacks
 * of its connections hold it. */
typedef struct _GCurlSegments GCurlSegments;

/* The end of a run: @error %NULL if every segment is on disk; @changed if
 * a response was not of the file the .part holds (start over). Called
 * once, after which no connection writes to the .part. */
typedef void (*GCurlSegmentsDoneFunc) (GError   *error,
                                       gboolean  changed,
                                       gpointer  user_data);

void           g_curl_download_set_segment_min (gint64 bytes);

GCurlSegments *g_curl_segments_plan          (GCurlTransfer  *transfer,
                                              GFile          *part,
                                              gint64          size,
                                              const char     *etag,
                                              const char     *last_modified);
GCurlSegments *g_curl_segments_resume        (GFile          *part,
                                              gint64         *offset);
void           g_curl_segments_delete_for    (GFile          *part);
GCurlSegments *g_curl_segments_ref           (GCurlSegments  *self);
void           g_curl_segments_unref         (GCurlSegments  *self);
gint64         g_curl_segments_get_size      (GCurlSegments  *self);
gboolean       g_curl_segments_sync          (GCurlSegments  *self,
                                              GError        **error);

void           g_curl_segments_run           (GCurlSegments         *self,
                                              GCurlMulti            *multi,
                                              GCurlTransfer         *transfer,
                                              GInputStream          *body,
                                              gint64                 body_start,
                                              const char * const    *urls,
                                              const char            *etag,
                                              const char            *last_modified,
                                              GCurlSegmentsDoneFunc  done,
                                              gpointer               user_data);
void           g_curl_segments_cancel        (GCurlSegments         *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GCurlSegments, g_curl_segments_unref)

G_END_DECLS

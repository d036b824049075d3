/* gcurl-multi-list-private.h: a multi's current transfers, as a list and
 * as sums
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

#include "gcurl-engine-private.h"
#include "gcurl-transfer.h"

G_BEGIN_DECLS

/* Embedded in the multi, which implements GListModel with it. A transfer
 * is in the list from its add until its "finished" has been emitted, and
 * for as long as a download holds it (between attempts): lookups are
 * O(1) through the index, positions O(log n) in the sequence. */
typedef struct
{
  GObject     *owner;           /* (unowned): the multi */
  GCurlEngine *engine;          /* (unowned) (nullable): its engine */
  GSequence   *items;           /* (owned): GCurlTransfer, with a reference */
  GHashTable  *index;           /* (owned): GCurlTransfer → ListEntry */
  GParamSpec  *n_pspec;         /* the multi's "n-transfers" */

  /* The sums of what the entries counted (see update_sums()). */
  GQueue       dirty;           /* ListEntry whose figures changed */
  gint64       sum_downloaded;
  gint64       sum_size;        /* of the known sizes */
  guint        n_unknown_size;
  gint64       sum_speed;
  guint64      sum_fraction;    /* in units of 2^-30 */

  /* The sums, as last notified. */
  gint64       downloaded;
  gint64       download_size;   /* -1: one is unknown */
  double       fraction;
  gint64       speed;
  gint64       max_speed;       /* max-download-speed, 0: none */
  gint64       interval;        /* µs between two notifications of the sums */
  gint64       last_update;     /* µs (monotonic), 0: never */
  GSource     *timer;           /* (owned) (nullable): the update held back */
  gboolean     timer_armed;     /* its ready time is set */
} GCurlMultiList;

void      g_curl_multi_list_class_init   (GObjectClass   *object_class,
                                          guint           first_prop_id);
void      g_curl_multi_list_get_property (GCurlMultiList *list,
                                          guint           prop_id,
                                          GValue         *value,
                                          GParamSpec     *pspec);
void      g_curl_multi_list_set_property (GCurlMultiList *list,
                                          guint           prop_id,
                                          const GValue   *value,
                                          GParamSpec     *pspec);

void      g_curl_multi_list_init         (GCurlMultiList *list,
                                          GObject        *owner,
                                          GParamSpec     *n_pspec);
void      g_curl_multi_list_attach       (GCurlMultiList *list,
                                          GCurlEngine    *engine,
                                          GMainContext   *context);
void      g_curl_multi_list_clear        (GCurlMultiList *list);
void      g_curl_multi_list_set_interval (GCurlMultiList *list,
                                          guint           ms);

guint     g_curl_multi_list_get_n_items  (GCurlMultiList *list);
GPtrArray *g_curl_multi_list_ref_items (GCurlMultiList *list);
gpointer  g_curl_multi_list_get_item     (GCurlMultiList *list,
                                          guint           position);

void      g_curl_multi_list_add          (GCurlMultiList *list,
                                          GCurlTransfer  *transfer);
void      g_curl_multi_list_ended        (GCurlMultiList *list,
                                          GCurlTransfer  *transfer);
void      g_curl_multi_list_hold         (GCurlMultiList *list,
                                          GCurlTransfer  *transfer);
void      g_curl_multi_list_release      (GCurlMultiList *list,
                                          GCurlTransfer  *transfer);

G_END_DECLS

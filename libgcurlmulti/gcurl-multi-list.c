/* gcurl-multi-list.c: a multi's current transfers, as a list and as sums
 *
 * The part of GCurlMulti that sees its transfers as a whole: the
 * GListModel of the transfers added and not finished (downloads waiting to
 * retry included), the sums of their figures ("downloaded-bytes",
 * "download-size", "fraction", "download-speed") and the speed limit they
 * share ("max-download-speed"). See gcurl-multi-list-private.h.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "gcurl-engine-private.h"
#include "gcurl-multi-list-private.h"
#include "gcurl-transfer.h"
#include "gcurl-transfer-private.h"
#include "gcurl-util-private.h"

/* A fraction as an integer, so that adding and taking away the figures
 * of thousands of transfers leaves no rounding behind. */
#define FRACTION_ONE ((double) (1u << 30))

typedef struct
{
  GSequenceIter *iter;
  GCurlTransfer *transfer;      /* (unowned): the sequence holds it */
  guint          holds;         /* downloads that keep it between attempts */
  gboolean       dirty;         /* its figures changed since counted */
  GList          dirty_link;

  /* What it adds to the sums, as last counted. */
  gint64         downloaded;
  gint64         size;
  gint64         speed;
  guint64        fraction;      /* in FRACTION_ONE units */
} ListEntry;

enum {
  LIST_PROP_DOWNLOADED_BYTES,
  LIST_PROP_DOWNLOAD_SIZE,
  LIST_PROP_FRACTION,
  LIST_PROP_DOWNLOAD_SPEED,
  LIST_PROP_MAX_DOWNLOAD_SPEED,
  N_LIST_PROPS
};

static GParamSpec *list_props[N_LIST_PROPS];
static guint first_prop;
static guint items_changed_signal;

/* Adds (@sign 1) or takes away (-1) what @entry counted. */
static void
entry_count (GCurlMultiList *list,
             ListEntry      *entry,
             int             sign)
{
  list->sum_downloaded += sign * entry->downloaded;
  list->sum_speed += sign * entry->speed;
  if (sign > 0)
    list->sum_fraction += entry->fraction;
  else
    list->sum_fraction -= entry->fraction;
  if (entry->size >= 0)
    list->sum_size += sign * entry->size;
  else if (sign > 0)
    list->n_unknown_size++;
  else
    list->n_unknown_size--;
}

/* Counts @entry's current figures in place of those it counted. */
static void
entry_recount (GCurlMultiList *list,
               ListEntry      *entry)
{
  const GCurlProgress *progress = g_curl_transfer_get_progress (entry->transfer);

  entry_count (list, entry, -1);
  entry->downloaded = progress->downloaded;
  entry->size = progress->download_size;
  entry->speed = progress->speed;
  entry->fraction = (guint64) (CLAMP (progress->fraction, 0.0, 1.0) * FRACTION_ONE);
  entry_count (list, entry, 1);
}

static void
entry_mark_dirty (GCurlMultiList *list,
                  ListEntry      *entry)
{
  if (entry->dirty)
    return;
  entry->dirty = TRUE;
  g_queue_push_tail_link (&list->dirty, &entry->dirty_link);
}

static void
entry_clear_dirty (GCurlMultiList *list,
                   ListEntry      *entry)
{
  if (!entry->dirty)
    return;
  entry->dirty = FALSE;
  g_queue_unlink (&list->dirty, &entry->dirty_link);
}

/* Counts the figures of the transfers that reported since the last
 * update, then notifies the sums that changed. O(1) per transfer that
 * reported: at most once per progress interval, and once per change of
 * the list. */
static void
update_sums (GCurlMultiList *list)
{
  g_autoptr(GObject) owner = g_object_ref (list->owner);
  GList *link;
  gint64 size;
  double fraction = 0;
  guint n = g_curl_multi_list_get_n_items (list), changed = 0;

  while ((link = g_queue_peek_head_link (&list->dirty)) != NULL)
    {
      ListEntry *entry = link->data;

      entry_clear_dirty (list, entry);
      entry_recount (list, entry);
    }

  size = list->n_unknown_size > 0 ? -1 : list->sum_size;
  if (size > 0)
    fraction = MIN ((double) list->sum_downloaded / (double) size, 1.0);
  else if (n > 0)
    fraction = (double) list->sum_fraction / FRACTION_ONE / n;

  /* All in place before the first notification. */
  changed |= (list->downloaded != list->sum_downloaded) << LIST_PROP_DOWNLOADED_BYTES;
  changed |= (list->download_size != size) << LIST_PROP_DOWNLOAD_SIZE;
  changed |= (list->fraction != fraction) << LIST_PROP_FRACTION;
  changed |= (list->speed != list->sum_speed) << LIST_PROP_DOWNLOAD_SPEED;
  list->downloaded = list->sum_downloaded;
  list->download_size = size;
  list->fraction = fraction;
  list->speed = list->sum_speed;

  for (guint prop = 0; prop < N_LIST_PROPS; prop++)
    if (changed & (1u << prop))
      g_object_notify_by_pspec (owner, list_props[prop]);
}

/* The sums may have changed: update them now if @now or if the interval
 * since the last update has passed, otherwise when it will have. The
 * timer, once armed, is left to fire even if an update comes first (a
 * cheap update then): each change of its ready time writes to the
 * context's wakeup fd, and a busy list would change it twice per
 * transfer. */
static void
sums_changed (GCurlMultiList *list,
              gboolean        now)
{
  gint64 time = g_get_monotonic_time ();

  if (!now && list->interval > 0 && list->last_update > 0 &&
      time < list->last_update + list->interval)
    {
      if (list->timer != NULL && !list->timer_armed)
        {
          g_source_set_ready_time (list->timer, list->last_update + list->interval);
          list->timer_armed = TRUE;
        }
      return;
    }

  list->last_update = time;
  update_sums (list);
  /* …but an empty list has nothing left to report: an idle loop must not
   * wake up for it. */
  if (list->timer_armed && g_curl_multi_list_get_n_items (list) == 0)
    {
      g_source_set_ready_time (list->timer, -1);
      list->timer_armed = FALSE;
    }
}

static gboolean
timer_cb (gpointer user_data)
{
  GCurlMultiList *list = user_data;

  list->timer_armed = FALSE;
  g_source_set_ready_time (list->timer, -1);
  sums_changed (list, TRUE);
  return G_SOURCE_CONTINUE;
}

static gboolean
timer_dispatch (GSource     *source,
                GSourceFunc  callback,
                gpointer     user_data)
{
  return callback (user_data);
}

static GSourceFuncs timer_funcs = {
  NULL, NULL, timer_dispatch, NULL, NULL, NULL,
};

/* After each "progress" of a transfer in the list. */
static void
progress_hook (gpointer transfer,
               gpointer user_data)
{
  GCurlMultiList *list = user_data;
  ListEntry *entry = g_hash_table_lookup (list->index, transfer);

  if (entry != NULL)
    entry_mark_dirty (list, entry);
  sums_changed (list, FALSE);
}

void
g_curl_multi_list_init (GCurlMultiList *list,
                        GObject        *owner,
                        GParamSpec     *n_pspec)
{
  list->owner = owner;
  list->n_pspec = n_pspec;
  list->items = g_sequence_new (g_object_unref);
  list->index = g_hash_table_new_full (NULL, NULL, NULL, g_free);
}

/* Once the multi has its engine and context. */
void
g_curl_multi_list_attach (GCurlMultiList *list,
                          GCurlEngine    *engine,
                          GMainContext   *context)
{
  list->engine = engine;
  g_curl_engine_set_max_download_speed (engine, list->max_speed);

  list->timer = g_source_new (&timer_funcs, sizeof (GSource));
  g_source_set_static_name (list->timer, "GCurlMulti sums");
  g_source_set_callback (list->timer, timer_cb, list, NULL);
  g_source_attach (list->timer, context);
}

void
g_curl_multi_list_clear (GCurlMultiList *list)
{
  GHashTableIter iter;
  gpointer transfer;

  g_curl_clear_source (&list->timer);
  list->engine = NULL;
  if (list->index == NULL)
    return;

  g_hash_table_iter_init (&iter, list->index);
  while (g_hash_table_iter_next (&iter, &transfer, NULL))
    g_curl_transfer_set_progress_hook (transfer, NULL, NULL);
  g_clear_pointer (&list->index, g_hash_table_unref);
  g_clear_pointer (&list->items, g_sequence_free);
  g_queue_init (&list->dirty);
}

void
g_curl_multi_list_set_interval (GCurlMultiList *list,
                                guint           ms)
{
  list->interval = (gint64) ms * 1000;
}

guint
g_curl_multi_list_get_n_items (GCurlMultiList *list)
{
  return list->items != NULL ? (guint) g_sequence_get_length (list->items) : 0;
}

gpointer
g_curl_multi_list_get_item (GCurlMultiList *list,
                            guint           position)
{
  GSequenceIter *iter;

  if (position >= g_curl_multi_list_get_n_items (list))
    return NULL;

  iter = g_sequence_get_iter_at_pos (list->items, (int) position);
  return g_object_ref (g_sequence_get (iter));
}

/* The transfers in the list, in order, each with a reference of the
 * array's: what a caller may cancel one by one. */
GPtrArray *
g_curl_multi_list_ref_items (GCurlMultiList *list)
{
  GPtrArray *items = g_ptr_array_new_with_free_func (g_object_unref);
  GSequenceIter *iter;

  if (list->items == NULL)
    return items;

  for (iter = g_sequence_get_begin_iter (list->items); !g_sequence_iter_is_end (iter);
       iter = g_sequence_iter_next (iter))
    g_ptr_array_add (items, g_object_ref (g_sequence_get (iter)));

  return items;
}

static void
list_changed (GCurlMultiList *list,
              guint           position,
              guint           removed,
              guint           added)
{
  g_autoptr(GObject) owner = g_object_ref (list->owner);

  /* The sums first: handlers of items-changed see them agree. */
  sums_changed (list, TRUE);
  /* An emission without handlers costs more than the rest of the change. */
  if (g_signal_has_handler_pending (owner, items_changed_signal, 0, FALSE))
    g_list_model_items_changed (G_LIST_MODEL (owner), position, removed, added);
  g_object_notify_by_pspec (owner, list->n_pspec);
}

/* A transfer is added (at the end), unless it is in the list already (a
 * download's next attempt) or a segmented download's own connection
 * (the download's transfer shows it whole). */
void
g_curl_multi_list_add (GCurlMultiList *list,
                       GCurlTransfer  *transfer)
{
  ListEntry *entry;

  if (list->index == NULL || g_curl_transfer_is_unlisted (transfer))
    return;

  /* A download's next attempt: its figures started again. */
  entry = g_hash_table_lookup (list->index, transfer);
  if (entry != NULL)
    {
      entry_mark_dirty (list, entry);
      sums_changed (list, TRUE);
      return;
    }

  entry = g_new0 (ListEntry, 1);
  entry->transfer = transfer;
  entry->dirty_link.data = entry;
  entry->iter = g_sequence_append (list->items, g_object_ref (transfer));
  g_curl_transfer_set_progress_hook (transfer, progress_hook, list);
  g_hash_table_insert (list->index, transfer, entry);
  entry_mark_dirty (list, entry);

  list_changed (list, g_curl_multi_list_get_n_items (list) - 1, 0, 1);
}

static void
list_remove (GCurlMultiList *list,
             GCurlTransfer  *transfer,
             ListEntry      *entry)
{
  guint position = (guint) g_sequence_iter_get_position (entry->iter);
  GSequenceIter *iter = entry->iter;

  g_curl_transfer_set_progress_hook (transfer, NULL, NULL);
  entry_clear_dirty (list, entry);
  entry_count (list, entry, -1);
  g_hash_table_remove (list->index, transfer);
  /* Drops the list's reference: the last, maybe. */
  g_sequence_remove (iter);

  list_changed (list, position, 1, 0);
}

/* The "finished" of @transfer's run has been emitted: it leaves the list,
 * unless a download keeps it for its next attempt. */
void
g_curl_multi_list_ended (GCurlMultiList *list,
                         GCurlTransfer  *transfer)
{
  ListEntry *entry = list->index != NULL ? g_hash_table_lookup (list->index, transfer) : NULL;

  if (entry != NULL && entry->holds == 0)
    list_remove (list, transfer, entry);
}

/* A download keeps @transfer in the list, between its attempts too. */
void
g_curl_multi_list_hold (GCurlMultiList *list,
                        GCurlTransfer  *transfer)
{
  ListEntry *entry;

  g_curl_multi_list_add (list, transfer);
  entry = list->index != NULL ? g_hash_table_lookup (list->index, transfer) : NULL;
  if (entry != NULL)
    entry->holds++;
}

/* …and no longer: it leaves unless a run of it is still to finish here. */
void
g_curl_multi_list_release (GCurlMultiList *list,
                           GCurlTransfer  *transfer)
{
  ListEntry *entry = list->index != NULL ? g_hash_table_lookup (list->index, transfer) : NULL;

  if (entry == NULL || entry->holds == 0)
    return;

  if (--entry->holds == 0 && g_curl_transfer_get_owner (transfer) != list->owner)
    list_remove (list, transfer, entry);
}

void
g_curl_multi_list_get_property (GCurlMultiList *list,
                                guint           prop_id,
                                GValue         *value,
                                GParamSpec     *pspec)
{
  switch (prop_id - first_prop)
    {
    case LIST_PROP_DOWNLOADED_BYTES:
      g_value_set_int64 (value, list->downloaded);
      break;
    case LIST_PROP_DOWNLOAD_SIZE:
      g_value_set_int64 (value, list->download_size);
      break;
    case LIST_PROP_FRACTION:
      g_value_set_double (value, list->fraction);
      break;
    case LIST_PROP_DOWNLOAD_SPEED:
      g_value_set_int64 (value, list->speed);
      break;
    case LIST_PROP_MAX_DOWNLOAD_SPEED:
      g_value_set_int64 (value, list->max_speed);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (list->owner, prop_id, pspec);
    }
}

void
g_curl_multi_list_set_property (GCurlMultiList *list,
                                guint           prop_id,
                                const GValue   *value,
                                GParamSpec     *pspec)
{
  switch (prop_id - first_prop)
    {
    case LIST_PROP_MAX_DOWNLOAD_SPEED:
      if (list->max_speed == g_value_get_int64 (value))
        return;
      list->max_speed = g_value_get_int64 (value);
      if (list->engine != NULL)
        g_curl_engine_set_max_download_speed (list->engine, list->max_speed);
      g_object_notify_by_pspec (list->owner, pspec);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (list->owner, prop_id, pspec);
    }
}

/* Installs the properties from @first_prop_id on. */
void
g_curl_multi_list_class_init (GObjectClass *object_class,
                              guint         first_prop_id)
{
  gpointer list_model_iface = g_type_default_interface_ref (G_TYPE_LIST_MODEL);

  first_prop = first_prop_id;
  items_changed_signal = g_signal_lookup ("items-changed", G_TYPE_LIST_MODEL);
  g_type_default_interface_unref (list_model_iface);

  /**
   * GCurlMulti:downloaded-bytes:
   *
   * The sum of [property@GCurl.Transfer:downloaded-bytes] over the
   * multi's current transfers: those of its [iface@Gio.ListModel], from
   * their add until their [signal@GCurl.Transfer::finished] has been
   * emitted (and downloads waiting to retry). A transfer that finishes
   * leaves the sum: it can go down. Updated at most once per
   * [property@GCurl.Multi:progress-interval] as the transfers report
   * progress, and at once when one is added or leaves.
   *
   * Since: 0.1
   */
  list_props[LIST_PROP_DOWNLOADED_BYTES] =
    g_param_spec_int64 ("downloaded-bytes", NULL, NULL, 0, G_MAXINT64, 0,
                        GCURL_PARAM_READABLE);

  /**
   * GCurlMulti:download-size:
   *
   * The sum of [property@GCurl.Transfer:download-size] over the multi's
   * current transfers (see [property@GCurl.Multi:downloaded-bytes]), or
   * -1 if the size of one of them is not known; 0 with none. Updated like
   * [property@GCurl.Multi:downloaded-bytes].
   *
   * Since: 0.1
   */
  list_props[LIST_PROP_DOWNLOAD_SIZE] =
    g_param_spec_int64 ("download-size", NULL, NULL, -1, G_MAXINT64, 0,
                        GCURL_PARAM_READABLE);

  /**
   * GCurlMulti:fraction:
   *
   * How much of the multi's current transfers has arrived, from 0 to 1:
   * [property@GCurl.Multi:downloaded-bytes] over
   * [property@GCurl.Multi:download-size] when the size is known, otherwise
   * the mean of the transfers' [property@GCurl.Transfer:fraction]; 0 with
   * no transfers. Updated like [property@GCurl.Multi:downloaded-bytes].
   *
   * Since: 0.1
   */
  list_props[LIST_PROP_FRACTION] =
    g_param_spec_double ("fraction", NULL, NULL, 0.0, 1.0, 0.0,
                         GCURL_PARAM_READABLE);

  /**
   * GCurlMulti:download-speed:
   *
   * The sum of [property@GCurl.Transfer:download-speed] over the multi's
   * current transfers, in bytes per second. Updated like
   * [property@GCurl.Multi:downloaded-bytes].
   *
   * Since: 0.1
   */
  list_props[LIST_PROP_DOWNLOAD_SPEED] =
    g_param_spec_int64 ("download-speed", NULL, NULL, 0, G_MAXINT64, 0,
                        GCURL_PARAM_READABLE);

  /**
   * GCurlMulti:max-download-speed:
   *
   * The most bytes per second the multi's transfers receive together, 0
   * for no limit. Each running transfer gets an equal part of it (the
   * limit divided by the number of transfers running in the multi, queued
   * and paused ones included, so the parts never add up to more than the
   * limit), recomputed as transfers start and end; a transfer's
   * own [property@GCurl.Transfer:max-download-speed] applies when it is
   * lower. It may change while transfers run: they follow from their next
   * chunk on.
   *
   * Since: 0.1
   */
  list_props[LIST_PROP_MAX_DOWNLOAD_SPEED] =
    g_param_spec_int64 ("max-download-speed", NULL, NULL, 0, G_MAXINT64, 0,
                        GCURL_PARAM_READWRITE);

  for (guint i = 0; i < N_LIST_PROPS; i++)
    g_object_class_install_property (object_class, first_prop_id + i, list_props[i]);
}

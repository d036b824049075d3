/* gcurl-source-private.h: what GCurlMulti needs of its source
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "gcurl-source.h"

G_BEGIN_DECLS

/* Called at the end of every dispatch, after libcurl's calls have returned
 * and its completion messages were handed to the callback: the one place
 * where GCurlMulti runs application code (signal handlers). */
typedef void (*GCurlSourceFlushFunc) (gpointer user_data);

void     g_curl_source_set_flush_func  (GSource              *source,
                                        GCurlSourceFlushFunc  func,
                                        gpointer              user_data);
void     g_curl_source_wake            (GSource              *source,
                                        gint64                ready_time);
void     g_curl_source_nudge           (GSource              *source);
gboolean g_curl_source_is_nudging      (GSource              *source);
void     g_curl_source_forget_socket   (GSource              *source,
                                        curl_socket_t         fd);
void     g_curl_source_own_sockets     (GSource              *source,
                                        CURL                 *easy);
void     g_curl_source_detach_multi    (GSource              *source);
guint    g_curl_source_get_n_sockets   (GSource              *source);
guint    g_curl_source_get_n_watches   (GSource              *source);

/* The CURL_CSELECT_* bits given to libcurl for a socket's condition. */
int      g_curl_source_events_from_condition (GIOCondition   condition);

/* Test hook: the next @n attempts to watch a socket fail with @errsv. */
void     g_curl_source_fail_next_watches (GSource            *source,
                                          guint               n,
                                          int                 errsv);

G_END_DECLS

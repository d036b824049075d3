/* gcurl-download-private.h: download_async's test hooks
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

void g_curl_download_set_xattrs_disabled (gboolean disabled);

G_END_DECLS

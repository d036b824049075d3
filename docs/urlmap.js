// Where links to the other namespaces of the reference (the types of
// GLib, GObject and GIO in signatures and [type@Gio.File] links) lead.
baseURLs = [
  [ 'GLib', 'https://docs.gtk.org/glib/' ],
  [ 'GObject', 'https://docs.gtk.org/gobject/' ],
  [ 'Gio', 'https://docs.gtk.org/gio/' ],
]

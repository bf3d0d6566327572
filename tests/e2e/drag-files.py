#!/usr/bin/python3
"""A drag source for the end-to-end tests: a small GTK window whose label, dragged with the
mouse (xdotool), offers the files and folders given as arguments as a text/uri-list, as a file
manager does. It quits when the drag ends. Usage: drag-files.py PATH..."""
import sys

import gi

gi.require_version("Gtk", "3.0")
gi.require_version("Gdk", "3.0")
from gi.repository import Gdk, Gio, Gtk  # noqa: E402

uris = [Gio.File.new_for_path(p).get_uri() for p in sys.argv[1:]]
window = Gtk.Window(title="usine-e2e-drag")
window.set_default_size(160, 80)
# Out of the app's way (it opens at the top left).
screen = Gdk.Screen.get_default()
window.move(screen.get_width() - 170, screen.get_height() - 90)
box = Gtk.EventBox()
box.add(Gtk.Label(label="drag me"))
window.add(box)
box.drag_source_set(Gdk.ModifierType.BUTTON1_MASK, [], Gdk.DragAction.COPY)
box.drag_source_add_uri_targets()
box.connect("drag-data-get", lambda _w, _c, data, _i, _t: data.set_uris(uris))
box.connect("drag-end", lambda *_: Gtk.main_quit())
window.connect("destroy", Gtk.main_quit)
window.show_all()
Gtk.main()

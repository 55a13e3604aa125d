#!/bin/sh
# keyring_ready.sh: run inside a test's session bus once gnome-keyring-daemon was started. The
# daemon may answer before it owns its bus name (nothing would activate it): wait 5 s for
# org.freedesktop.secrets; exit 92 (and say so) if it never comes.
i=0
until dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
	org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets | grep -q "boolean true"; do
	i=$((i + 1))
	[ $i -lt 100 ] || { echo "gnome-keyring-daemon did not claim org.freedesktop.secrets"; exit 92; }
	sleep 0.05
done

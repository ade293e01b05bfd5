#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Installs the Debian/Ubuntu packages Spyglass needs to build, run and test,
# and only those that are missing: when everything is there it does nothing
# (no apt-get update, no sudo prompt).
#
#   build-aux/install-deps.sh [EXTRA-PACKAGE…]
#
# Extra package names on the command line are installed the same way (the
# benchmark uses this for hyperfine, for instance).
set -euo pipefail

packages=(
  # build
  meson ninja-build pkg-config gcc gettext
  libglib2.0-dev libglib2.0-bin libsoup-3.0-dev libxml2-dev
  libjson-glib-dev libsecret-1-dev
  # run: TLS for libsoup, a session bus and a keyring for the token
  glib-networking dbus gnome-keyring libsecret-tools
  # data validation tests, the demo and the benchmark
  desktop-file-utils appstream curl
  # the GTK 4 / libadwaita window and its headless UI tests: an X server,
  # xdotool to drive the pointer for drag and drop, gdbus (libglib2.0-bin)
  # for build-aux/test-session.sh to see the keyring on the bus
  libgtk-4-dev libadwaita-1-dev xvfb xauth xdotool
  # the SVG loader for gdk-pixbuf: GTK's symbolic icons (a drag icon, the
  # app's own) fail to load without it, a warning tests make fatal
  librsvg2-common
  # meson install updates the icon cache (gtk4-update-icon-cache)
  libgtk-4-bin
)
packages+=("$@")

# One dpkg-query for all: it prints a line for each package it knows
# (whatever its state) and complains on stderr about the others.
installed=" $(dpkg-query -W -f='${Package}=${db:Status-Status} ' "${packages[@]}" 2>/dev/null || true) "
missing=()
for pkg in "${packages[@]}"; do
  case "$installed" in
    *" $pkg=installed "*) ;;
    *) missing+=("$pkg") ;;
  esac
done

if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: not root and no sudo; install them and run again" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -q
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -q --no-install-recommends "${missing[@]}"

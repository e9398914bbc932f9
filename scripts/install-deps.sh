#!/usr/bin/env bash
# Installs the Debian packages `make test` needs: the real servers the
# tests run against (Dovecot, Postfix), a real Secret Service
# (gnome-keyring in a D-Bus session) and headless Chromium for the OAuth2
# browser test. As root it installs what is missing; otherwise it fails
# naming what to install.
set -euo pipefail

# command -> Debian package
need=(
  "dovecot:dovecot-core"
  "/usr/lib/dovecot/imap:dovecot-imapd"
  "/usr/lib/dovecot/pop3:dovecot-pop3d"
  "postfix:postfix"
  "gnome-keyring-daemon:gnome-keyring"
  "secret-tool:libsecret-tools"
  "dbus-run-session:dbus"
  "dbus-launch:dbus-x11"
  "chromium:chromium"
  "openssl:openssl"
  # mbsync and msmtp sign in with `mailport token` in internal/realtest;
  # mbsync's XOAUTH2 comes from a Cyrus SASL plugin (KDE's; Debian has no other).
  "mbsync:isync"
  "/usr/lib/$(uname -m)-linux-gnu/sasl2/libkdexoauth2.so:libsasl2-modules-kdexoauth2"
  "msmtp:msmtp"
)
# make bench: the peers it times mailport against, and GNU time, which
# starts each tool and reports its CPU time and peak RSS. Debian's getmail6
# installs its program as `getmail`.
if [ "${MAILPORT_BENCH:-}" = 1 ]; then
  need+=("fetchmail:fetchmail" "getmail:getmail6" "/usr/bin/time:time")
fi

missing=()
for pair in "${need[@]}"; do
  cmd=${pair%%:*}; pkg=${pair#*:}
  if [[ $cmd == /* ]]; then
    [ -e "$cmd" ] || missing+=("$pkg")
  else
    command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || missing+=("$pkg")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
  echo "make test needs these Debian packages: ${missing[*]}" >&2
  echo "install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Postfix asks how to configure itself; the tests bring their own config.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
# The packages start system services on install; the tests run their own
# instances on free ports, so stop the system ones where they started.
for svc in dovecot postfix; do
  (command -v systemctl >/dev/null && systemctl stop "$svc" 2>/dev/null) || true
  (service "$svc" stop >/dev/null 2>&1) || true
done

#!/bin/sh
# What every image that descends from the debian root must keep: declared on `debian`, run by
# bbc against debian and all its descendants (POSIX sh, network none, read-only mount).
# Python and pip are checked only where they exist, so the root itself passes too.
set -u
fails=0
ok()   { printf 'ok   %s\n' "$*"; }
fail() { printf 'FAIL %s\n' "$*"; fails=$((fails + 1)); }
check() { desc=$1; shift; if "$@" >/dev/null 2>&1; then ok "$desc"; else fail "$desc"; fi; }

bundle=/etc/ssl/certs/ca-certificates.crt

# Non-root, with a home it can write to.
[ "$(id -u)" != 0 ] && ok "runs as non-root (uid $(id -u))" || fail "runs as root"
check "user app has uid 10001" test "$(id -u app)" = 10001
check "HOME ($HOME) is writable" test -w "$HOME"

# Trust store: the org CAs are in the bundle every client is pointed at.
check "CA bundle $bundle is present" test -s "$bundle"
for var in SSL_CERT_FILE REQUESTS_CA_BUNDLE PIP_CERT; do
  eval "val=\${$var:-}"
  check "$var points at the CA bundle" test "$val" = "$bundle"
done
org_missing=0
for crt in /usr/local/share/ca-certificates/org/*.crt; do
  [ -e "$crt" ] || continue
  # the last base64 line of a certificate identifies it well enough for a grep
  line=$(grep -v -- '-----' "$crt" | tail -n 1)
  grep -qF -- "$line" "$bundle" || { org_missing=1; fail "org CA $crt is not in $bundle"; }
done
[ "$org_missing" = 0 ] && ok "org CAs are in the bundle"
if command -v openssl >/dev/null 2>&1; then
  check "openssl's default store is the bundle" sh -c \
    "openssl version -d | grep -q '/usr/lib/ssl' && test \"\$(readlink -f /usr/lib/ssl/certs)\" = /etc/ssl/certs"
fi

# Repository settings.
check "/etc/pip.conf sets index-url and cert" sh -c \
  "grep -q '^index-url *= *https\?://' /etc/pip.conf && grep -q '^cert *= */etc/ssl/certs/ca-certificates.crt' /etc/pip.conf"
if command -v apt-get >/dev/null 2>&1; then
  check "apt sources include the security suite" grep -qE '^Suites:.*-security' /etc/apt/sources.list.d/debian.sources
else
  ok "apt sources (skipped: no package manager in this image)"
fi

# Locale and timezone.
check "LANG is C.UTF-8" test "${LANG:-}" = C.UTF-8
check "timezone is UTC" test "$(date +%Z)" = UTC

# Lean: no compilers, headers, test suites, bytecode caches or package caches. find stays
# on the image's own filesystem (-xdev: not the mounted tests); unreadable dirs are skipped.
for f in /usr/bin/gcc /usr/bin/cc /usr/bin/c++ /usr/bin/g++ /usr/bin/make /usr/bin/ld /usr/bin/as; do
  check "no compiler or linker $f" test ! -e "$f"
done
compilers=$(find /usr/bin /usr/local/bin -xdev \( -name 'gcc*' -o -name '*-gcc*' -o -name 'clang*' -o -name 'cc1*' \) 2>/dev/null | head -n 3)
check "no compiler anywhere on PATH (${compilers:-none})" test -z "$compilers"
headers=$(find /usr/include /usr/local/include /opt /usr/lib/python3* -xdev -type f \( -name '*.h' -o -name '*.hpp' \) 2>/dev/null | head -n 3)
check "no C headers (${headers:-none})" test -z "$headers"
testdirs=$(find /usr/lib/python3* /usr/local/lib /opt -xdev -type d \( -name tests -o -name test \) 2>/dev/null | head -n 3)
check "no test suites (${testdirs:-none})" test -z "$testdirs"
pycache=$(find / -xdev -type d -name __pycache__ 2>/dev/null | head -n 3)
check "no __pycache__ (${pycache:-none})" test -z "$pycache"
lists=$(find /var/lib/apt/lists -mindepth 1 -maxdepth 1 ! -name partial ! -name lock 2>/dev/null | head -n 3)
check "no apt lists left (${lists:-none})" test -z "$lists"
debs=$(find /var/cache/apt -name '*.deb' -o -name '*.bin' 2>/dev/null | head -n 3)
check "no apt caches left (${debs:-none})" test -z "$debs"
check "no pip cache at $HOME/.cache/pip" test ! -e "$HOME/.cache/pip"
if [ -x /root ]; then check "no pip cache at /root/.cache/pip" test ! -e /root/.cache/pip
else ok "no pip cache at /root/.cache/pip (skipped: /root is private to root)"; fi

# Where Python exists, it must use the same trust store and pip settings.
py=$(command -v python3 || command -v python || true)
if [ -n "$py" ]; then
  check "python's ssl loads the bundle" "$py" -c "
import os, ssl
ctx = ssl.create_default_context()
assert os.environ['SSL_CERT_FILE'] == '$bundle'
assert ctx.cert_store_stats()['x509_ca'] > 100, ctx.cert_store_stats()"
  if "$py" -m pip --version >/dev/null 2>&1; then
    check "pip reads the cert and index from config" sh -c \
      "'$py' -m pip config list | grep -q \"cert='$bundle'\" && '$py' -m pip config list | grep -q 'index-url='"
  fi
fi

if [ "$fails" -gt 0 ]; then echo "check_root: $fails check(s) failed"; exit 1; fi
echo "check_root: all checks passed"

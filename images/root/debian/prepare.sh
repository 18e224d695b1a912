#!/usr/bin/env bash
# Produce the build inputs of the debian root image, in the current directory:
#   rootfs.tar.gz        a minimal Debian rootfs (debootstrap --variant=minbase), the way the
#                        official debian images are made: FROM scratch + ADD rootfs.tar.gz /
#   ca-certificates.crt  the organisation's CA bundle ($BBC_CA_BUNDLE, default: the host's)
#                        minus the roots Debian's ca-certificates already holds
# Settings (environment): DEBIAN_SUITE (bookworm), DEBIAN_MIRROR (http://deb.debian.org/debian),
# DEBIAN_SECURITY_MIRROR (http://deb.debian.org/debian-security),
# SOURCE_DATE_EPOCH (fixed mtime of every file in the tarball), BBC_DEBOOTSTRAP_CACHE (where
# downloaded .debs are kept between runs; empty disables the cache).
# Idempotent: each output is written to a temp file and renamed, so a failed run leaves the
# previous outputs untouched and a second run gives the same result. Needs root (debootstrap).
set -euo pipefail

suite=${DEBIAN_SUITE:-bookworm}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
ca_src=${BBC_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
epoch=${SOURCE_DATE_EPOCH:-1700000000}
cache=${BBC_DEBOOTSTRAP_CACHE-/var/cache/bbc/debootstrap/$suite}

die() { printf 'prepare: %s\n' "$*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "debootstrap needs root (run as root, e.g. in CI's build job)"
command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install debootstrap)"
command -v openssl >/dev/null || die "openssl is not installed (apt-get install openssl)"
[ -s "$ca_src" ] || die "CA bundle '$ca_src' is missing or empty (set BBC_CA_BUNDLE)"
grep -q 'BEGIN CERTIFICATE' "$ca_src" || die "CA bundle '$ca_src' holds no PEM certificate"

tmp=$(mktemp -d "${TMPDIR:-/var/tmp}/bbc-debian-rootfs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

rootfs="$tmp/rootfs"
cache_args=()
if [ -n "$cache" ]; then mkdir -p "$cache" && cache_args=(--cache-dir="$cache"); fi
# ca-certificates and tzdata are part of what a root image owns (trust store, UTC); the rest
# of minbase is Essential + apt. No recommends.
debootstrap --variant=minbase --include=ca-certificates,tzdata "${cache_args[@]}" \
  "$suite" "$rootfs" "$mirror" >"$tmp/debootstrap.log" 2>&1 || {
    tail -30 "$tmp/debootstrap.log" >&2; die "debootstrap failed (full log above)"; }

# Current security updates go into the base layer itself: an `apt-get upgrade` in the
# Dockerfile would store every upgraded file twice (~23 MB for libc & co.). The Dockerfile
# still upgrades, which is a no-op unless this tarball is older than the newest DSA.
security=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
rm -f "$rootfs/etc/apt/sources.list"
printf '%s\n' \
  "Types: deb" "URIs: $mirror" "Suites: $suite $suite-updates" "Components: main" \
  "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg" "" \
  "Types: deb" "URIs: $security" "Suites: $suite-security" "Components: main" \
  "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg" \
  >"$rootfs/etc/apt/sources.list.d/debian.sources"
cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
{ chroot "$rootfs" apt-get update -q && \
  DEBIAN_FRONTEND=noninteractive chroot "$rootfs" apt-get upgrade -y -q; } \
  >"$tmp/upgrade.log" 2>&1 || { tail -30 "$tmp/upgrade.log" >&2; die "apt-get upgrade in the rootfs failed"; }
grep -E '^[0-9]+ upgraded' "$tmp/upgrade.log" | sed 's/^/prepare: security updates: /' >&2
: >"$rootfs/etc/resolv.conf"

# The org bundle minus what Debian's ca-certificates already trusts: the image keeps one
# copy of each root, and update-ca-certificates links each org CA by hash.
awk '/-----BEGIN CERTIFICATE-----/{n++; f=sprintf("%s/org-%03d.pem", dir, n)} f{print > f}
     /-----END CERTIFICATE-----/{close(f); f=""}' dir="$tmp" "$ca_src"
for f in "$rootfs"/usr/share/ca-certificates/mozilla/*.crt; do
  openssl x509 -noout -fingerprint -sha256 -in "$f"
done >"$tmp/known-fingerprints"
: >"$tmp/ca-certificates.crt"
for f in "$tmp"/org-*.pem; do
  fp=$(openssl x509 -noout -fingerprint -sha256 -in "$f") || die "$ca_src: unreadable certificate ($f)"
  grep -qxF "$fp" "$tmp/known-fingerprints" || cat "$f" >>"$tmp/ca-certificates.crt"
done
mv -f "$tmp/ca-certificates.crt" ca-certificates.crt

# Keep docs, man pages and translations out now and for every later apt-get install in the
# hierarchy (like the official -slim images). Copyright files stay: licences must ship.
cat >"$rootfs/etc/dpkg/dpkg.cfg.d/01-bbc-nodoc" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
CFG
cat >"$rootfs/etc/apt/apt.conf.d/01-bbc-lean" <<'CFG'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
# Never keep downloaded .debs (the same hooks the official images use).
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
CFG
# What debootstrap installed before the exclusions existed, minus copyright files.
find "$rootfs/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$rootfs"/usr/share/{man,info,groff,lintian,linda,locale}/* \
  "$rootfs"/var/cache/apt/* "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/* \
  "$rootfs"/dev/* "$rootfs"/proc/* "$rootfs"/sys/* "$rootfs"/run/* "$rootfs"/tmp/*
mkdir -p "$rootfs/var/lib/apt/lists/partial" "$rootfs/var/cache/apt/archives/partial"
# A container gets its own hostname and machine id; don't bake the build host's in.
: >"$rootfs/etc/hostname"; : >"$rootfs/etc/machine-id"
chmod 1777 "$rootfs/tmp"

# Deterministic-ish: sorted names, one mtime, numeric owners, no gzip timestamp.
tar --create --directory "$rootfs" --sort=name --mtime="@$epoch" --numeric-owner \
  --xattrs --xattrs-include='security.capability' . \
  | gzip -n -6 >"$tmp/rootfs.tar.gz"
mv -f "$tmp/rootfs.tar.gz" rootfs.tar.gz
printf 'prepare: wrote rootfs.tar.gz (%s) and ca-certificates.crt (%s org CAs)\n' \
  "$(du -h rootfs.tar.gz | cut -f1)" "$(grep -c BEGIN ca-certificates.crt || true)" >&2

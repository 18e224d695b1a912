#!/usr/bin/env bash
# Produce rootfs-<arch>.tar.gz for the static root (amd64 and arm64), in the current directory:
# a distroless-style filesystem for frozen or compiled programs, with no shell and no package manager.
# Its files come from the current Debian packages (suite + security, fetched with a private
# apt state, unpacked with dpkg-deb, never installed): the glibc loader and libc/libm/
# libpthread/libdl/librt, libgcc_s, libstdc++, and tzdata's zoneinfo. Added: the org CA
# bundle ($BBC_CA_BUNDLE, default: the host's) as the trust store, /etc/passwd and
# /etc/group with the non-root user app (10001), nsswitch.conf, os-release, /tmp, and
# /var/lib/dpkg/status.d/<package> so image scanners see which Debian versions are inside.
# Settings (environment): DEBIAN_SUITE (bookworm), DEBIAN_MIRROR, DEBIAN_SECURITY_MIRROR,
# SOURCE_DATE_EPOCH (fixed mtime). Idempotent (temp dir + rename); root not needed.
set -euo pipefail

suite=${DEBIAN_SUITE:-bookworm}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
ca_src=${BBC_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
epoch=${SOURCE_DATE_EPOCH:-1700000000}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
packages=(libc6 libgcc-s1 libstdc++6 tzdata)
app_uid=10001

die() { printf 'prepare: %s\n' "$*" >&2; exit 1; }
for tool in apt-get dpkg-deb dpkg; do command -v "$tool" >/dev/null || die "$tool is missing (a Debian host is needed)"; done
[ -r "$keyring" ] || die "$keyring is missing (apt-get install debian-archive-keyring)"
[ -s "$ca_src" ] || die "CA bundle '$ca_src' is missing or empty (set BBC_CA_BUNDLE)"
grep -q 'BEGIN CERTIFICATE' "$ca_src" || die "CA bundle '$ca_src' holds no PEM certificate"

# One rootfs per architecture (the image is built for each platform, `ADD rootfs-${TARGETARCH}`):
# with no argument, this script runs itself once per architecture in $STATIC_ARCHS.
if [ $# -eq 0 ]; then
  for a in ${STATIC_ARCHS:-amd64 arm64}; do "$0" "$a"; done
  exit 0
fi
arch=$1
case "$arch" in
  amd64) triplet=x86_64-linux-gnu; loader=/lib64/ld-linux-x86-64.so.2 ;;
  arm64) triplet=aarch64-linux-gnu; loader=/lib/ld-linux-aarch64.so.1 ;;
  *) die "architecture $arch is not supported (amd64, arm64)" ;;
esac

tmp=$(mktemp -d "${TMPDIR:-/var/tmp}/bbc-static-rootfs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# A private apt: own sources, lists and cache; the host's apt config and state are not used.
a="$tmp/apt"
mkdir -p "$a/etc" "$a/state/lists/partial" "$a/cache/archives/partial" "$tmp/debs"
: >"$a/state/status"
printf 'deb [signed-by=%s] %s %s main\n' "$keyring" "$mirror" "$suite" "$keyring" "$mirror" "$suite-updates" \
  "$keyring" "$security" "$suite-security" >"$a/etc/sources.list"
apt_opts=(-q -o "APT::Architecture=$arch" -o "Dir::Etc=$a/etc" -o "Dir::Etc::sourcelist=$a/etc/sources.list"
  -o Dir::Etc::sourceparts=- -o Dir::Etc::parts=- -o Dir::Etc::preferencesparts=-
  -o "Dir::State=$a/state" -o "Dir::State::status=$a/state/status" -o "Dir::Cache=$a/cache"
  -o Debug::NoLocking=1 -o Acquire::Languages=none)
apt-get "${apt_opts[@]}" update >"$tmp/apt.log" 2>&1 || { tail -20 "$tmp/apt.log" >&2; die "apt-get update failed"; }
(cd "$tmp/debs" && apt-get "${apt_opts[@]}" download "${packages[@]}") >>"$tmp/apt.log" 2>&1 \
  || { tail -20 "$tmp/apt.log" >&2; die "apt-get download ${packages[*]} failed"; }

r="$tmp/rootfs"
mkdir -p "$r"/{etc/ssl/certs,home/app,tmp,var/lib/dpkg/status.d,usr/share/doc,usr/lib/"$triplet",lib/"$triplet"}
for deb in "$tmp"/debs/*.deb; do
  pkg=$(dpkg-deb -f "$deb" Package)
  mkdir -p "$tmp/x/$pkg" && dpkg-deb -x "$deb" "$tmp/x/$pkg"
  dpkg-deb -f "$deb" >"$r/var/lib/dpkg/status.d/$pkg"
  printf '%s %s\n' "$pkg" "$(dpkg-deb -f "$deb" Version)" >>"$tmp/versions"
  # licences ship with the files they cover; some packages (libgcc-s1, libstdc++6) point
  # their doc folder at the source's base package (gcc-12-base), so fetch its copyright.
  doc="$tmp/x/$pkg/usr/share/doc/$pkg"
  if [ -L "$doc" ]; then
    base=$(basename "$(readlink "$doc")")
    if [ ! -f "$r/usr/share/doc/$base/copyright" ]; then
      (cd "$tmp" && apt-get "${apt_opts[@]}" download "$base") >>"$tmp/apt.log" 2>&1 \
        || { tail -20 "$tmp/apt.log" >&2; die "apt-get download $base failed"; }
      mkdir -p "$tmp/x/$base" && dpkg-deb -x "$tmp/${base}_"*.deb "$tmp/x/$base"
      install -D -m 0644 "$tmp/x/$base/usr/share/doc/$base/copyright" "$r/usr/share/doc/$base/copyright"
    fi
    ln -sfn "$base" "$r/usr/share/doc/$pkg"
  else
    install -D -m 0644 "$doc/copyright" "$r/usr/share/doc/$pkg/copyright"
  fi
done

# take PATTERN FROM: copy matching files (and symlinks) keeping their paths; must match.
take() {
  local found
  found=$(cd "$2" && compgen -G "${1#/}") || die "no $1 in $(basename "$2")"
  # shellcheck disable=SC2086  # $found is a list of paths without spaces
  (cd "$2" && cp -a --parents $found "$r/") || die "copying $1 failed"
}
x="$tmp/x"
take "$loader" "$x/libc6"
for lib in ld-linux-*.so.* libc.so.6 libm.so.6 libpthread.so.0 libdl.so.2 librt.so.1; do
  take "/lib/$triplet/$lib" "$x/libc6"
done
libgcc=/lib/$triplet/libgcc_s.so.1  # /usr/lib in releases after bookworm
[ -e "$x/libgcc-s1$libgcc" ] || libgcc=/usr/lib/$triplet/libgcc_s.so.1
take "$libgcc" "$x/libgcc-s1"
take "/usr/lib/$triplet/libstdc++.so.6*" "$x/libstdc++6"
# zoneinfo without right/ (leap-second variants nobody uses in containers: ~half the size)
(cd "$x/tzdata" && cp -a --parents usr/share/zoneinfo "$r/") && rm -rf "$r/usr/share/zoneinfo/right"
[ -f "$r/usr/share/zoneinfo/UTC" ] || die "tzdata has no zoneinfo/UTC"
ln -s ../usr/share/zoneinfo/UTC "$r/etc/localtime"
echo UTC >"$r/etc/timezone"

cp "$ca_src" "$r/etc/ssl/certs/ca-certificates.crt"
cat >"$r/etc/passwd" <<PASSWD
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
app:x:$app_uid:$app_uid:app:/home/app:/sbin/nologin
PASSWD
cat >"$r/etc/group" <<GROUP
root:x:0:
nogroup:x:65534:
app:x:$app_uid:
GROUP
printf '%s\n' 'passwd: files' 'group: files' 'hosts: files dns' 'networks: files' >"$r/etc/nsswitch.conf"
printf '%s\n' 'PRETTY_NAME="bbc static (Debian GNU/Linux 12 libraries, no shell)"' 'NAME="Debian GNU/Linux"' \
  'ID=debian' 'VERSION_ID="12"' "VERSION_CODENAME=$suite" >"$r/etc/os-release"
chmod 1777 "$r/tmp"; chmod 0755 "$r/home/app"
find "$r" -type d -empty ! -path "$r/tmp" ! -path "$r/home/app" -delete

# root owns everything but the user's home; sorted, fixed mtime, no gzip timestamp.
common=(--sort=name --mtime="@$epoch" --numeric-owner --format=gnu)
tar --create --file "$tmp/rootfs.tar" --directory "$r" "${common[@]}" --owner=0 --group=0 \
  --exclude=./home/app .
tar --append --file "$tmp/rootfs.tar" --directory "$r" "${common[@]}" --owner="$app_uid" \
  --group="$app_uid" ./home/app
gzip -n -9 <"$tmp/rootfs.tar" >"$tmp/rootfs.tar.gz"
mv -f "$tmp/rootfs.tar.gz" "rootfs-$arch.tar.gz"
printf 'prepare: wrote rootfs-%s.tar.gz (%s) from %s\n' "$arch" "$(du -h "rootfs-$arch.tar.gz" | cut -f1)" \
  "$(paste -sd, "$tmp/versions")" >&2

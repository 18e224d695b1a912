"""Assemble a distroless-style runtime root from the build stage (ml + apt): DEST gets

- the files of the Debian packages the interpreter needs at run time (the Depends closure of
  ROOTS below, as dpkg lists them), without docs but their copyright, man pages, locales,
  glibc's iconv modules or __pycache__, and one /var/lib/dpkg/status.d/<package> stanza each,
  so image scanners and SBOM tools still see every Debian package and version inside;
- busybox as /bin/sh and the few tools the inherited check scripts use (no package manager:
  no dpkg, apt, perl, coreutils);
- /opt/venv without pip (apps install in a build stage and copy the result), shared objects
  of the packages stripped of their symbol tables (not the auditwheel-vendored *.libs: strip
  breaks their patchelf'd segments, numpy then fails to import);
- the root's users, trust store (org CAs included), pip.conf, timezone.

Run as root in the build stage: python3 assemble.py DEST
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

# What the interpreter and the wheels in the venv load; their Depends closure comes along.
ROOTS = ("python3-minimal", "python3.11-minimal", "libpython3.11-stdlib", "libstdc++6", "libgcc-s1", "tzdata",
         "busybox")
# Depends that only matter to a system that installs packages (maintainer scripts, debconf).
NOT_AT_RUN_TIME = {"dpkg", "debconf", "debconf-2.0", "perl-base", "cdebconf"}
SKIP_PREFIXES = ("/usr/share/doc/", "/usr/share/man/", "/usr/share/info/", "/usr/share/locale/",
                 "/usr/share/lintian/", "/usr/lib/x86_64-linux-gnu/gconv/", "/usr/lib/aarch64-linux-gnu/gconv/",
                 "/usr/share/zoneinfo/right/", "/usr/share/bug/", "/usr/share/menu/")
# The applets the inherited check scripts (debian, python) and a debugging session use.
APPLETS = ("sh", "cat", "date", "env", "find", "grep", "head", "id", "ls", "readlink", "sed", "stat", "tail",
           "test", "[", "wc", "ps", "sleep", "kill", "tr", "cut", "sort", "uname", "mkdir", "rm", "cp", "mv")
VENV = Path("/opt/venv")
MERGED = ("bin", "sbin", "lib", "lib64")  # bookworm is merged-/usr: /bin -> usr/bin, ...


def dpkg_query(fmt: str, package: str) -> str:
    return subprocess.run(["dpkg-query", "-W", f"-f={fmt}", package], check=True, capture_output=True,
                          text=True).stdout


def closure(roots: tuple[str, ...]) -> list[str]:
    seen: list[str] = []
    todo = list(roots)
    while todo:
        pkg = todo.pop()
        if pkg in seen or pkg in NOT_AT_RUN_TIME:
            continue
        seen.append(pkg)
        deps = dpkg_query("${Pre-Depends}, ${Depends}", pkg)
        for dep in deps.split(","):
            name = dep.split("|")[0].split("(")[0].strip().split(":")[0]
            if name:
                todo.append(name)
    return sorted(seen)


def canonical(path: str) -> Path:
    """`/lib/x86_64-linux-gnu/libc.so.6` -> `/usr/lib/...`: copy under the real directory."""
    p = Path(path)
    return Path(os.path.realpath(p.parent)) / p.name


def copy_entry(src: Path, dest_root: Path) -> None:
    target = dest_root / src.relative_to("/")
    if target.exists() or target.is_symlink():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    if src.is_symlink():
        os.symlink(os.readlink(src), target)
    elif src.is_dir():
        target.mkdir()
        shutil.copystat(src, target)
    else:
        shutil.copy2(src, target)


def packages_into(dest: Path, packages: list[str]) -> int:
    status_d = dest / "var/lib/dpkg/status.d"
    status_d.mkdir(parents=True)
    total = 0
    for pkg in packages:
        (status_d / pkg).write_text(subprocess.run(["dpkg-query", "-s", pkg], check=True, capture_output=True,
                                                   text=True).stdout)
        files = subprocess.run(["dpkg-query", "-L", pkg], check=True, capture_output=True, text=True).stdout
        for name in files.splitlines():
            if name in ("/.", "") or "/__pycache__" in name:
                continue
            if name.startswith(SKIP_PREFIXES) and not name.endswith("/copyright"):
                continue
            src = canonical(name)
            if not (src.exists() or src.is_symlink()) or (src.is_dir() and not src.is_symlink()):
                continue  # directories come with their files; removed files (python's test/) stay out
            copy_entry(src, dest)
            total += src.lstat().st_size
    return total


def strip_extensions(site: Path) -> None:
    sos = [p for p in site.rglob("*.so") if not p.relative_to(site).parts[0].endswith(".libs")]
    subprocess.run(["strip", "--strip-unneeded", *map(str, sos)], check=True)


def main(dest: Path) -> int:
    dest.mkdir(parents=True)
    for d in MERGED:
        (dest / "usr" / d).mkdir(parents=True, exist_ok=True)
        os.symlink(f"usr/{d}", dest / d)
    packages = closure(ROOTS)
    size = packages_into(dest, packages)
    print(f"assemble: {len(packages)} Debian packages, {size / 1e6:.1f} MB: {' '.join(packages)}")

    busybox = dest / "usr/bin/busybox"
    for applet in APPLETS:
        link = dest / "usr/bin" / applet
        if not (link.exists() or link.is_symlink()):
            os.symlink("busybox", link)
    subprocess.run([str(busybox), "true"], check=True)

    # The venv as ml has it, minus pip (apps bring theirs into a build stage only).
    shutil.copytree(VENV, dest / VENV.relative_to("/"), symlinks=True)
    site = dest / VENV.relative_to("/") / "lib/python3.11/site-packages"
    for p in [*site.glob("pip"), *site.glob("pip-*.dist-info"), *(dest / "opt/venv/bin").glob("pip*")]:
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        else:
            p.unlink()
    strip_extensions(site)
    for p in [*dest.rglob("__pycache__")]:
        shutil.rmtree(p)

    # What the root set up and every image keeps (not /etc/hosts: the engine writes it per container).
    for name in ("/etc/passwd", "/etc/group", "/etc/nsswitch.conf", "/etc/pip.conf", "/etc/timezone",
                 "/etc/localtime", "/etc/ssl/certs/ca-certificates.crt", "/usr/local/share/ca-certificates",
                 "/opt/bbc", "/etc/debian_version", "/etc/host.conf"):
        src = Path(name)
        if src.is_dir() and not src.is_symlink():
            shutil.copytree(src, dest / src.relative_to("/"), symlinks=True, dirs_exist_ok=True)
        elif src.exists() or src.is_symlink():
            copy_entry(src, dest)
    (dest / "etc/os-release").write_text(
        'PRETTY_NAME="bbc ml-runtime (Debian GNU/Linux 12 packages, no package manager)"\n'
        'NAME="Debian GNU/Linux"\nID=debian\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\n')
    for d, mode in (("tmp", 0o1777), ("home/app", 0o755), ("var/tmp", 0o1777), ("root", 0o700)):
        (dest / d).mkdir(parents=True, exist_ok=True)
        (dest / d).chmod(mode)
    for p in [dest / "opt/venv", dest / "home/app", *(dest / "opt/venv").rglob("*")]:
        os.lchown(p, 10001, 10001)
    os.chown(dest / "home/app", 10001, 10001)
    if not (dest / "usr/bin/busybox").stat().st_mode & stat.S_IXUSR:
        print("assemble: usr/bin/busybox is not executable")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))

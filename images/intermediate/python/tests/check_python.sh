#!/bin/sh
# What every image that descends from `python` keeps: the venv on PATH, owned by the
# non-root user, pip configured from the root's /etc/pip.conf. Runs with network none.
set -u
fails=0
ok()   { printf 'ok   %s\n' "$*"; }
fail() { printf 'FAIL %s\n' "$*"; fails=$((fails + 1)); }
check() { desc=$1; shift; if "$@" >/dev/null 2>&1; then ok "$desc"; else fail "$desc"; fi; }

check "python on PATH is the venv's" test "$(command -v python)" = /opt/venv/bin/python
check "python is 3.11" python -c "import sys; assert sys.version_info[:2] == (3, 11), sys.version"
check "VIRTUAL_ENV is /opt/venv" test "${VIRTUAL_ENV:-}" = /opt/venv
check "the interpreter runs inside the venv" python -c "import sys; assert sys.prefix == '/opt/venv' != sys.base_prefix"
check "standard library imports (ssl, sqlite3, json, venv, zoneinfo)" \
  python -c "import ssl, sqlite3, json, venv, ctypes, decimal, zoneinfo; zoneinfo.ZoneInfo('Europe/Amsterdam')"
check "/opt/venv is owned by app" test "$(stat -c %U:%G /opt/venv)" = app:app
others=$(find /opt/venv ! -user app 2>/dev/null | head -n 3)
check "everything under /opt/venv is owned by app (${others:-ok})" test -z "$others"
check "the venv is writable by the current user" test -w /opt/venv/lib/python3.11/site-packages

# Where pip is (build-capable images: python, ml, ml-xgb), it works with no network:
# version, config, consistency of what is installed. Runtime images (ml-runtime and its
# apps) have none: their build stages run pip from a wheel (/opt/bbc/pip.py).
if [ -e /opt/venv/bin/pip ]; then
  check "pip runs" pip --version
  check "pip is the venv's" sh -c 'pip --version | grep -q "/opt/venv/lib/python3.11/site-packages/pip"'
  cfg=$(pip config list 2>/dev/null)
  check "pip config: index-url from /etc/pip.conf" sh -c "echo \"\$0\" | grep -q \"^global.index-url='https\\?://\"" "$cfg"
  check "pip config: cert is the CA bundle" sh -c "echo \"\$0\" | grep -q \"^global.cert='/etc/ssl/certs/ca-certificates.crt'\"" "$cfg"
  check "pip config: no cache" sh -c "echo \"\$0\" | grep -q \"^global.no-cache-dir='true'\"" "$cfg"
  check "pip check: installed packages are consistent" pip check
  check "pip download cache is disabled" sh -c 'pip cache dir 2>&1 | grep -qi disabled'
else
  check "no pip: the venv has no pip module either" python -c "import importlib.util as u; assert u.find_spec('pip') is None"
  check "/opt/bbc/pip.py is there for build stages" test -s /opt/bbc/pip.py
fi

if [ "$fails" -gt 0 ]; then echo "check_python: $fails check(s) failed"; exit 1; fi
echo "check_python: all checks passed"

"""What a registry's TLS certificate is checked against: what docker checks it against.

The system bundle (OpenSSL's default paths, so `SSL_CERT_FILE`/`SSL_CERT_DIR` too), plus the
host's own folder as dockerd reads it: `/etc/docker/certs.d/<host[:port]>/` — every `*.crt` is
a CA, every `*.cert` with its `*.key` a client certificate. Podman's `/etc/containers/certs.d`
and rootless docker's `$XDG_CONFIG_HOME/docker/certs.d` are read the same way.
`DOCKER_CERT_PATH`/`DOCKER_TLS_VERIFY` are about the engine's own socket (docker.from_env
reads them), never about a registry, as for the docker CLI.
"""

from __future__ import annotations

import os
import ssl
from pathlib import Path

from bbc.errors import RegistryError


def cert_roots() -> tuple[Path, ...]:
    """The folders holding one sub-folder per registry host, in the order they are read."""
    xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return (Path("/etc/docker/certs.d"), Path("/etc/containers/certs.d"), Path(xdg) / "docker/certs.d")


def cert_dirs(host: str) -> list[Path]:
    """The existing certs.d folders for `host` (`host:port` exactly as written, as dockerd)."""
    return [root / host for root in cert_roots() if (root / host).is_dir()]


def has_ca(host: str) -> bool:
    """Whether a CA was installed for `host` the docker way (a `*.crt` in its certs.d folder)."""
    return any(any(d.glob("*.crt")) for d in cert_dirs(host))


def context(host: str, *, verify: bool = True) -> ssl.SSLContext:
    """An SSL context for `host`: the system bundle, its certs.d CAs and client certificate.
    `verify=False` is what dockerd does for a registry it calls insecure (no CA of its own)."""
    ctx = ssl.create_default_context()
    for folder in cert_dirs(host):
        for ca in sorted(folder.glob("*.crt")):
            try:
                ctx.load_verify_locations(cafile=str(ca))
            except (ssl.SSLError, OSError) as exc:
                raise RegistryError(f"registry {host}: {ca}: not a PEM certificate ({exc})",
                                    tip=f"put the PEM of the CA that signs {host}'s certificate there") from None
        for cert in sorted(folder.glob("*.cert")):
            key = cert.with_suffix(".key")
            if not key.is_file():
                raise RegistryError(f"registry {host}: client certificate {cert} has no {key.name} beside it",
                                    tip="dockerd needs the pair too: add the key or remove the certificate")
            try:
                ctx.load_cert_chain(str(cert), str(key))
            except (ssl.SSLError, OSError) as exc:
                raise RegistryError(f"registry {host}: client certificate {cert}: {exc}") from None
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def untrusted(host: str, why: object) -> RegistryError:
    """The one line for a certificate bbc cannot verify: which host, and what to install where."""
    return RegistryError(
        f"registry {host}: its TLS certificate is not trusted ({why})",
        tip=f"install the CA that signed it as /etc/docker/certs.d/{host}/ca.crt (docker reads it there too) "
            "or into the system bundle (update-ca-certificates)")

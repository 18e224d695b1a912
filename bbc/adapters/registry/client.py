"""A small Docker Registry HTTP API v2 client: list tags, read manifests and labels, retag.

Retagging is done registry-side (PUT the same manifest bytes under a new tag), so a
release never pulls or pushes layers. Credentials come from the Docker config exactly as
`docker login` stored them (credsStore / credHelpers included, bbc/adapters/registry/auth.py)
and never appear in messages. Requests go through bbc/adapters/registry/transport.py (TLS as
docker checks it, timeouts, retries, a bounded number in flight); answers named by digest can
be kept on disk (`cache`), since they never change.
"""

from __future__ import annotations

import hashlib
import json
import re
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bbc.adapters.registry import auth, cache, tls, transport
from bbc.adapters.registry.names import (DOCKER_LIST, DOCKER_MANIFEST, INDEX_TYPES, MANIFEST_TYPES, OCI_INDEX,
                                         OCI_MANIFEST, Manifest, check_reference, check_repository,
                                         split_image_name)
from bbc.errors import RegistryError

DEFAULT_TIMEOUT = 10.0
_TIP = "is the registry running? `scripts/engine up`"


class Registry:
    """One registry host, e.g. `Registry("127.0.0.1:5000")`.

    `scheme` defaults to https; for localhost / 127.0.0.1 and what the engine lists as an
    insecure registry (its `insecure-registries`) to what the port speaks, https first, as
    dockerd does. `auth` overrides the Docker config (keys `username`/`password` or
    `identitytoken`, any case); by default it is read from the Docker config on the first 401
    only. `cache`: a folder keeping manifests and blobs fetched by digest across runs.
    """

    def __init__(
        self,
        host: str,
        *,
        scheme: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        auth: Mapping[str, str] | None = None,
        cache: Path | None = None,
    ) -> None:
        self.host = host
        self._scheme = scheme
        self.timeout = timeout
        self._auth = {k.lower(): v for k, v in auth.items()} if auth is not None else None
        self._basic = False  # the registry asked for Basic auth once: send it up front
        self.cache = cache

    @property
    def scheme(self) -> str:
        return self._scheme or transport.scheme_of(self.host, self.timeout)

    def __repr__(self) -> str:
        return f"Registry({self.host!r}, scheme={self._scheme or 'as the port speaks'!r})"  # no probe from repr

    # -- public API ---------------------------------------------------------------

    def tags(self, repository: str) -> list[str]:
        """All tags of `repository`, sorted; [] when the repository does not exist."""
        check_repository(self.host, repository)
        tags: list[str] = []
        path: str | None = f"/v2/{repository}/tags/list"
        while path is not None:
            status, headers, body = self._request("GET", path, repository, "")
            if status == 404:
                return []
            self._expect(status, (200,), body, repository, "")
            tags.extend(self._json(body, repository, "").get("tags") or [])
            path = _next_page(headers.get("Link"))
        return sorted(set(tags))

    def manifest(self, repository: str, reference: str) -> Manifest | None:
        """The manifest (or index) for a tag or digest; None when it does not exist."""
        check_repository(self.host, repository)
        check_reference(self.host, repository, reference)
        kept = cache.read(self.cache, "manifests", reference)
        if kept is not None:
            return Manifest(digest=reference, media_type=kept[0], raw=kept[1])
        status, headers, body = self._request(
            "GET",
            f"/v2/{repository}/manifests/{reference}",
            repository,
            reference,
            headers={"Accept": ", ".join(MANIFEST_TYPES)},
        )
        if status == 404:
            return None
        self._expect(status, (200,), body, repository, reference)
        media_type = (headers.get("Content-Type") or "").split(";")[0].strip()
        if not media_type:
            media_type = str(self._json(body, repository, reference).get("mediaType", ""))
        digest = headers.get("Docker-Content-Digest") or _sha256(body)
        if reference.startswith("sha256:"):
            cache.write(self.cache, "manifests", reference, body, media_type)
        return Manifest(digest=digest, media_type=media_type, raw=body)

    def digest(self, repository: str, reference: str) -> str | None:
        """The digest a tag names now, by HEAD (Docker Hub counts a manifest GET as a pull);
        None when there is no such tag. A registry that sends no digest on HEAD is asked by GET."""
        check_repository(self.host, repository)
        check_reference(self.host, repository, reference)
        status, headers, body = self._request("HEAD", f"/v2/{repository}/manifests/{reference}", repository,
                                              reference, headers={"Accept": ", ".join(MANIFEST_TYPES)})
        if status == 404:
            return None
        self._expect(status, (200,), body, repository, reference)
        found = headers.get("Docker-Content-Digest")
        if found:
            return found
        manifest = self.manifest(repository, reference)
        return manifest.digest if manifest is not None else None

    def config_labels(self, repository: str, reference: str) -> dict[str, str]:
        """The image config's Labels for a tag or digest (linux/amd64 of an index)."""
        labels = self.labels_if_present(repository, reference)
        if labels is None:
            raise self._error(repository, reference, "manifest unknown",
                              tip="check the tag with `bbc status` or push the image first")
        return labels

    def labels_if_present(self, repository: str, reference: str,
                          platform: str | None = None) -> dict[str, str] | None:
        """config_labels(), or None when the registry has no such tag (one manifest fetch); of
        an index, the image for `platform` (default linux/amd64), None when it has none."""
        manifest = self.manifest(repository, reference)
        if manifest is None:
            return None
        if manifest.media_type in INDEX_TYPES:
            found = self._platform_manifest(repository, reference, manifest, platform)
            if found is None:
                return None
            manifest = found
        if manifest.media_type not in (DOCKER_MANIFEST, OCI_MANIFEST):
            raise self._error(repository, reference,
                              f"unsupported manifest type {manifest.media_type!r}")
        config = manifest.json().get("config") or {}
        digest = config.get("digest") if isinstance(config, dict) else None
        if not isinstance(digest, str):
            raise self._error(repository, reference, "manifest has no config digest")
        kept = cache.read(self.cache, "blobs", digest)
        if kept is not None:
            body = kept[1]
        else:
            status, _, body = self._request("GET", f"/v2/{repository}/blobs/{digest}", repository, reference)
            self._expect(status, (200,), body, repository, reference)
            if _sha256(body) != digest:
                raise self._error(repository, reference, f"config blob does not match {digest}")
            cache.write(self.cache, "blobs", digest, body)
        labels = (self._json(body, repository, reference).get("config") or {}).get("Labels")
        return {str(k): str(v) for k, v in (labels or {}).items()}

    def put_tag(self, repository: str, manifest: Manifest, tag: str) -> None:
        """Point `tag` at `manifest` by PUTting the same bytes: a retag without pull/push."""
        stored, _ = self.put_manifest(repository, tag, manifest.media_type, manifest.raw)
        if stored != manifest.digest:
            raise self._error(repository, tag,
                              f"registry stored digest {stored}, expected {manifest.digest}")

    # -- artifacts (issue 13: an SBOM published with its image) --------------------

    def put_blob(self, repository: str, data: bytes) -> str:
        """Upload `data` as a blob (monolithic POST then PUT); its digest. A blob the registry
        already holds is not sent again."""
        check_repository(self.host, repository)
        digest = _sha256(data)
        status, _, _ = self._request("HEAD", f"/v2/{repository}/blobs/{digest}", repository, digest)
        if status == 200:
            return digest
        status, headers, body = self._request("POST", f"/v2/{repository}/blobs/uploads/", repository, "",
                                              idempotent=True)  # a second upload started is only unused
        self._expect(status, (202,), body, repository, "")
        location = headers.get("Location") or ""
        if location.startswith("/"):
            location = f"{self.scheme}://{self.host}{location}"
        path = location.split(self.host, 1)[-1]
        path += ("&" if "?" in path else "?") + urllib.parse.urlencode({"digest": digest})
        status, _, body = self._request("PUT", path, repository, digest,
                                        headers={"Content-Type": "application/octet-stream"}, body=data)
        if status == 404:  # a retried PUT of an upload its first try completed: the blob is there
            status = 201 if self._request("HEAD", f"/v2/{repository}/blobs/{digest}", repository,
                                          digest)[0] == 200 else status
        self._expect(status, (201,), body, repository, digest)
        return digest

    def put_manifest(self, repository: str, reference: str, media_type: str, raw: bytes) -> tuple[str, bool]:
        """PUT a manifest under a tag or its digest: (digest, whether the registry took its
        `subject` as a referrer, by the OCI-Subject answer header of distribution-spec 1.1)."""
        check_repository(self.host, repository)
        check_reference(self.host, repository, reference)
        status, headers, body = self._request("PUT", f"/v2/{repository}/manifests/{reference}", repository, reference,
                                              headers={"Content-Type": media_type}, body=raw)
        self._expect(status, (200, 201), body, repository, reference)
        return headers.get("Docker-Content-Digest") or _sha256(raw), bool(headers.get("OCI-Subject"))

    def blob(self, repository: str, digest: str) -> bytes:
        """A blob's bytes, checked against `digest` (issue 23: signatures and bundles are read back)."""
        check_repository(self.host, repository)
        check_reference(self.host, repository, digest)
        status, _, body = self._request("GET", f"/v2/{repository}/blobs/{digest}", repository, digest)
        self._expect(status, (200,), body, repository, digest)
        if _sha256(body) != digest:
            raise self._error(repository, digest, "blob does not match its digest")
        return body

    def referrers(self, repository: str, digest: str) -> dict[str, Any] | None:
        """The OCI index listing the manifests whose `subject` is `digest`, by distribution-spec
        1.1's referrers API; None where the registry has no such API (404: distribution 2.8)."""
        check_repository(self.host, repository)
        check_reference(self.host, repository, digest)
        status, _, body = self._request("GET", f"/v2/{repository}/referrers/{digest}", repository, digest,
                                        headers={"Accept": OCI_INDEX})
        if status == 404:
            return None
        self._expect(status, (200,), body, repository, digest)
        return self._json(body, repository, digest)

    # -- internals ----------------------------------------------------------------

    def _platform_manifest(self, repository: str, reference: str, index: Manifest,
                           platform: str | None = None) -> Manifest | None:
        """The index's image for `platform`; without one named, linux/amd64 (an error if absent)."""
        from bbc.model import platforms

        for entry in index.json().get("manifests") or []:
            if platforms.matches(platforms.of_oci(entry.get("platform") or {}), platform or "linux/amd64"):
                found = self.manifest(repository, str(entry.get("digest")))
                if found is None:
                    break
                return found
        if platform is not None:
            return None
        raise self._error(repository, reference, "index has no linux/amd64 image")

    def put_index(self, repository: str, tag: str, entries: list[tuple[Manifest, str]]) -> Manifest:
        """Write one OCI image index under `tag` (or its own digest) holding each (manifest,
        platform), in order. Deterministic: the same manifests give the same bytes, so the same digest."""
        index = index_of(entries)
        self.put_tag(repository, index, tag or index.digest)
        return index

    def _request(
        self,
        method: str,
        path: str,
        repository: str,
        reference: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        idempotent: bool = False,
    ) -> tuple[int, Mapping[str, str], bytes]:
        """Send a request, answering one auth challenge; 4xx/5xx are returned, not raised."""
        url = f"{self.scheme}://{self.host}{path}"
        auth_header = self._authorization(repository, method)
        status, got, data = self._send(method, url, headers, body, auth_header, repository, reference, idempotent)
        if status == 401 and "WWW-Authenticate" in got:
            auth_header = self._answer(got["WWW-Authenticate"], repository, reference)
            status, got, data = self._send(method, url, headers, body, auth_header, repository, reference,
                                           idempotent)
        if status == 401:
            raise self._error(repository, reference, "authentication failed (401)",
                              tip=f"run `docker login {self.host}`")
        if status == 403:
            raise self._error(repository, reference, "access denied (403)",
                              tip=f"check your permissions on {self.host}/{repository}")
        return status, got, data

    def _send(self, method: str, url: str, headers: Mapping[str, str] | None, body: bytes | None,
              auth_header: str | None, repository: str, reference: str,
              idempotent: bool = False) -> tuple[int, Mapping[str, str], bytes]:
        sent = dict(headers or {})
        if auth_header:
            sent["Authorization"] = auth_header  # urllib3 drops it on a redirect to another host
        try:
            answer = transport.request(self.host, method, url, headers=sent, body=body, timeout=self.timeout,
                                       idempotent=idempotent)
        except transport.Unreachable as exc:
            if exc.certificate:
                raise tls.untrusted(self.host, exc.reason) from None
            tries = f" ({exc.tries} tries)" if exc.tries > 1 else ""
            raise self._error(repository, reference, f"{method} {url} failed: {exc.reason}{tries}",
                              tip=_TIP) from None
        if answer.status in transport.STATUSES and answer.tries > 1:
            raise self._error(repository, reference, f"HTTP {answer.status}{_registry_message(answer.body)} "
                              f"after {answer.tries} tries", tip="the registry is failing or throttling; "
                              "run bbc again later (BBC_REGISTRY_TRIES sets how many tries)")
        return answer.status, answer.headers, answer.body

    def _authorization(self, repository: str, method: str) -> str | None:
        token = auth.cached_token(self.host, auth.scope(repository, method))
        if token is not None:
            return f"Bearer {token}"
        if self._basic:
            return self._basic_header(repository)
        return None

    def _answer(self, challenge: str, repository: str, reference: str) -> str:
        scheme, params = auth.challenge(challenge)
        if scheme == "basic":
            self._basic = True
            return self._basic_header(repository, reference)
        if scheme != "bearer" or "realm" not in params:
            raise self._error(repository, reference, f"unsupported auth challenge {scheme!r}")
        scope = params.get("scope") or auth.scope(repository, "GET")
        answer = self._fetch_token(params["realm"], params.get("service"), scope, repository, reference)
        return f"Bearer {auth.keep_token(self.host, scope, answer)}"

    def _fetch_token(self, realm: str, service: str | None, scope: str,
                     repository: str, reference: str) -> dict[str, Any]:
        creds = self._credentials(repository, reference)
        query = {k: v for k, v in (("service", service), ("scope", scope)) if v}
        headers: dict[str, str] = {}
        if "identitytoken" in creds:
            # An identity token is an OAuth2 refresh token (docker login with a helper).
            form = {"grant_type": "refresh_token", "refresh_token": creds["identitytoken"],
                    "client_id": "bbc", **query}
            method, url, body = "POST", realm, urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        else:
            method, url, body = "GET", f"{realm}?{urllib.parse.urlencode(query)}", None
            if "username" in creds:
                headers["Authorization"] = auth.basic(creds["username"], creds.get("password", ""))
        try:
            answer = transport.request(self.host, method, url, headers=headers, body=body, timeout=self.timeout,
                                       idempotent=True)  # a token request changes nothing
        except transport.Unreachable as exc:
            if exc.certificate:
                raise tls.untrusted(urllib.parse.urlsplit(realm).netloc, exc.reason) from None
            raise self._error(repository, reference, f"token request to {realm} failed: {exc.reason}") from None
        if answer.status != 200:
            raise self._error(repository, reference, f"token request to {realm} refused ({answer.status})",
                              tip=f"run `docker login {self.host}`")
        try:
            data = json.loads(answer.body)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise self._error(repository, reference, f"token server {realm} sent no token")
        return data

    def _basic_header(self, repository: str, reference: str = "") -> str:
        creds = self._credentials(repository, reference)
        if "username" not in creds:
            raise self._error(repository, reference, "authentication required, no credentials",
                              tip=f"run `docker login {self.host}`")
        return auth.basic(creds["username"], creds.get("password", ""))

    def _credentials(self, repository: str, reference: str) -> dict[str, str]:
        if self._auth is None:
            self._auth = auth.credentials(self.host)
        return self._auth

    def _expect(self, status: int, ok: tuple[int, ...], body: bytes,
                repository: str, reference: str) -> None:
        if status in ok:
            return
        raise self._error(repository, reference, f"HTTP {status}{_registry_message(body)}")

    def _json(self, body: bytes, repository: str, reference: str) -> dict[str, Any]:
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise self._error(repository, reference, "the registry sent a non-JSON answer")
        return data

    def _error(self, repository: str, reference: str, what: str,
               tip: str | None = None) -> RegistryError:
        where = f"{repository}:{reference}" if reference and ":" not in reference else (
            f"{repository}@{reference}" if reference else repository)
        return RegistryError(f"registry {self.host}: {where}: {what}", tip=tip)


def index_of(entries: list[tuple[Manifest, str]]) -> Manifest:
    """The OCI image index holding each (manifest, platform), in order; the same entries, the same bytes."""
    from bbc.model import platforms

    document = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [{"mediaType": m.media_type, "digest": m.digest, "size": len(m.raw),
                       "platform": platforms.oci(p)} for m, p in entries],
    }
    raw = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    return Manifest(digest=_sha256(raw), media_type=OCI_INDEX, raw=raw)



def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _next_page(link: str | None) -> str | None:
    """The path of a `Link: </v2/...?last=x&n=y>; rel="next"` header, if any."""
    if not link:
        return None
    m = re.match(r'\s*<([^>]+)>\s*;\s*rel="?next"?', link)
    if not m:
        return None
    url = urllib.parse.urlsplit(m.group(1))
    return f"{url.path}?{url.query}" if url.query else url.path


def _registry_message(body: bytes) -> str:
    """`: CODE message` from a registry error body, when it has one."""
    try:
        errors = json.loads(body).get("errors") or []
        first = errors[0]
        return f": {first.get('code', '')} {first.get('message', '')}".rstrip()
    except (ValueError, AttributeError, IndexError, TypeError):
        return ""


__all__ = ["DEFAULT_TIMEOUT", "DOCKER_LIST", "DOCKER_MANIFEST", "INDEX_TYPES", "MANIFEST_TYPES", "OCI_INDEX",
           "OCI_MANIFEST", "Manifest", "Registry", "split_image_name"]

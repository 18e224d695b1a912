"""Scanner reports read into one shape: trivy JSON, grype JSON, and OSV-format JSON (osv-scanner's
`--format json`, or a list of OSV records). bbc does not scan; it routes what a scanner found."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bbc.errors import BbcError

SEVERITIES = ("unknown", "negligible", "low", "medium", "high", "critical")


@dataclass(frozen=True)
class Finding:
    id: str
    package: str
    version: str  # installed, as the scanner saw it ("" when it did not say)
    fixed: str  # the first fixed version ("" when none is known)
    severity: str  # one of SEVERITIES


def rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else 0


def load(path: Path) -> tuple[str, list[Finding]]:
    """(format, findings) of the report at `path`; the format is told from its shape."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BbcError(f"cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise BbcError(f"{path}: not JSON ({exc})", tip="pass the scanner's JSON output (trivy/grype/osv-scanner --format json)") from None
    if isinstance(data, dict) and "Results" in data:
        return "trivy", _trivy(data)
    if isinstance(data, dict) and "matches" in data:
        return "grype", _grype(data)
    if isinstance(data, dict) and "results" in data:
        return "osv", _osv_scanner(data)
    if isinstance(data, list) or (isinstance(data, dict) and "affected" in data):
        records = data if isinstance(data, list) else [data]
        return "osv", [f for r in records for f in _osv_record(r, None)]
    raise BbcError(f"{path}: not a trivy, grype or OSV report (no Results, matches, results or affected key)")


def _sev(value: Any) -> str:
    text = str(value or "").strip().lower()
    if text in SEVERITIES:
        return text
    try:
        score = float(text)
    except ValueError:
        return "unknown"
    # CVSS v3 bands
    return "critical" if score >= 9 else "high" if score >= 7 else "medium" if score >= 4 else "low" if score > 0 else "unknown"


def _trivy(data: dict[str, Any]) -> list[Finding]:
    return [Finding(str(v.get("VulnerabilityID", "")), str(v.get("PkgName", "")), str(v.get("InstalledVersion", "")),
                    str(v.get("FixedVersion", "")).split(",")[0].strip(), _sev(v.get("Severity")))
            for result in data.get("Results") or () for v in result.get("Vulnerabilities") or ()]


def _grype(data: dict[str, Any]) -> list[Finding]:
    out = []
    for m in data.get("matches") or ():
        vuln, artifact = m.get("vulnerability") or {}, m.get("artifact") or {}
        fixes = (vuln.get("fix") or {}).get("versions") or []
        out.append(Finding(str(vuln.get("id", "")), str(artifact.get("name", "")), str(artifact.get("version", "")),
                           str(fixes[0]) if fixes else "", _sev(vuln.get("severity"))))
    return out


def _osv_scanner(data: dict[str, Any]) -> list[Finding]:
    out = []
    for result in data.get("results") or ():
        for pkg in result.get("packages") or ():
            info = pkg.get("package") or {}
            scores = {i: g.get("max_severity") for g in pkg.get("groups") or () for i in g.get("ids") or ()}
            for vuln in pkg.get("vulnerabilities") or ():
                out += _osv_record(vuln, info, scores.get(vuln.get("id")))
    return out


def _osv_record(vuln: dict[str, Any], info: dict[str, Any] | None, score: Any = None) -> list[Finding]:
    severity = _sev(score) if score else _sev((vuln.get("database_specific") or {}).get("severity"))
    out = []
    for affected in vuln.get("affected") or ([{}] if info else []):
        package = (affected.get("package") or {}).get("name") or (info or {}).get("name", "")
        if info and package != info.get("name"):
            continue
        fixed = next((e["fixed"] for r in affected.get("ranges") or () for e in r.get("events") or () if "fixed" in e), "")
        versions = affected.get("versions") or []
        out.append(Finding(str(vuln.get("id", "")), str(package), str((info or {}).get("version") or (versions[0] if versions else "")),
                           str(fixed), severity))
    return out

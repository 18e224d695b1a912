"""The commands that look without changing anything: graph, dependents, ancestry, sbom, why,
scan, report, check, verify."""

from __future__ import annotations

from pathlib import Path

import click

from bbc.cli import options as opt
from bbc.cli.context import Ctx
from bbc.cli.group import cli, done
from bbc.cli.options import pass_ctx


@cli.command()
@opt.fmt(("tree", "dot", "mermaid", "json"))
@pass_ctx
def graph(obj: Ctx, fmt: str) -> None:
    """Print the hierarchy."""
    from bbc.commands import graph as cmd

    done(cmd.graph(obj.hierarchy, fmt=fmt))


@cli.command()
@click.argument("image")
@click.option("--transitive", is_flag=True, help="All descendants, not only the children.")
@click.option("--built-on", "built_on", metavar="RANGE",
              help="Instead: local builds whose ancestry holds IMAGE at a version in RANGE, e.g. '<2.3.0' "
                   "or '>=1.0.0,<2.0.0' (read from image labels).")
@opt.fmt()
@pass_ctx
def dependents(obj: Ctx, image: str, transitive: bool, built_on: str | None, fmt: str) -> None:
    """The images below IMAGE and the projects (bbc.yaml) that build on them."""
    from bbc.commands import dependents as cmd

    if built_on is not None:
        done(cmd.built_on(obj.hierarchy, obj.engine, image, built_on, fmt=fmt))
    done(cmd.dependents(obj.hierarchy, image, transitive=transitive, fmt=fmt))


@cli.command()
@click.argument("ref")
@opt.fmt()
@pass_ctx
def ancestry(obj: Ctx, ref: str, fmt: str) -> None:
    """What the built image REF is built on, read from its labels down to the root."""
    from bbc.commands import dependents as cmd

    done(cmd.ancestry(obj.engine(), ref, fmt=fmt))


# --- what is inside (issue 13): bbc sbom, bbc why, bbc scan --------------------------------
@cli.command()
@click.argument("image")
@opt.fmt(("cyclonedx", "table"))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write here instead of stdout.")
@pass_ctx
def sbom(obj: Ctx, image: str, fmt: str, output: Path | None) -> None:
    """The SBOM of IMAGE's build: every package, its purl and the image that introduced it."""
    from bbc.commands import sbom as cmd

    done(cmd.sbom(obj.hierarchy, obj.engine(), image, fmt=fmt, output=output))


@cli.command()
@click.argument("package")
@click.option("--image", metavar="IMAGE", help="Only this image (default: every built image).")
@opt.fmt()
@pass_ctx
def why(obj: Ctx, package: str, image: str | None, fmt: str) -> None:
    """Which images carry PACKAGE, at which version, and which image introduced or changed it."""
    from bbc.commands import why as cmd

    done(cmd.why(obj.hierarchy, obj.engine(), package, image=image, fmt=fmt))


@cli.command()
@click.argument("image")
@click.option("--report", "report_file", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A scanner's JSON report on IMAGE: trivy, grype or OSV format.")
@click.option("--fail-on", type=click.Choice(["low", "medium", "high", "critical"]), default="high", show_default=True,
              help="Exit 1 when a finding at or above this severity has an owner in the hierarchy.")
@opt.fmt()
@pass_ctx
def scan(obj: Ctx, image: str, report_file: Path, fail_on: str, fmt: str) -> None:
    """Route a scanner's findings on IMAGE to the images (and owners) that introduced each package."""
    from bbc.commands import scan as cmd

    done(cmd.scan(obj.hierarchy, obj.engine(), image, report_file, fail_on=fail_on, fmt=fmt))


@cli.command("report")
@click.option("--html", "as_html", is_flag=True, help="Write the self-contained HTML page (same as --format html).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Write here instead of standard output (needed for --html).")
@click.option("--offline", is_flag=True, help="Ask no registry or package index; say what is unknown.")
@click.option("--scan", "scans", multiple=True, metavar="[IMAGE=]FILE",
              help="A scanner's JSON report (trivy, grype, OSV) to route to owners (repeatable; the image "
                   "is read from trivy's and grype's reports when not named).")
@opt.levels()
@opt.fmt(("table", "json", "html"))
@pass_ctx
def report_command(obj: Ctx, as_html: bool, output: Path | None, offline: bool, scans: tuple[str, ...], level: str,
                   index_url: str | None, fmt: str) -> None:
    """The hierarchy's state in one page: a graph coloured by state, a table per image (release,
    sizes, owner, outdated bases and packages, tests, signatures), downstream projects' pins
    and scan findings by owner."""
    from bbc.commands import report as cmd

    done(cmd.report(obj.hierarchy, obj.engine(), fmt="html" if as_html else fmt, output=output, offline=offline,
                    scans=scans, level=opt.level(level), index_url=index_url))


@cli.command()
@pass_ctx
def check(obj: Ctx) -> None:
    """Validate bbc.yaml (and every Dockerfile it names) without building; list unpinned
    bases and drift (a FROM naming another parent, Dockerfiles no image covers)."""
    from bbc.commands import check as cmd

    done(cmd.check(obj.hierarchy))


@cli.command()
@click.argument("ref")
@click.option("--key", "key_files", multiple=True, type=click.Path(dir_okay=False, path_type=Path), metavar="PEM",
              help="A trusted public key (repeatable; default: bbc.yaml's signing.public_keys).")
@opt.fmt()
@pass_ctx
def verify(obj: Ctx, ref: str, key_files: tuple[Path, ...], fmt: str) -> None:
    """Check that REF (registry/repo:tag or @sha256:...) is a signed bbc release: its signature,
    provenance and SBOM attestation, and that the provenance's parent and base are what the
    image was built on. Exit 0 when all hold, 1 with the reasons otherwise."""
    from bbc.commands import verify as cmd

    done(cmd.verify(ref, key_files or obj.hierarchy.config.signing.public_keys, fmt=fmt))

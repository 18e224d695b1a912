"""JUnit XML for CI dashboards: one testsuite per image, one testcase per test (own and
inherited), a failure with the reason and the command's output."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from bbc.plan.testing import CheckStatus, ImageResult


def document(results: list[ImageResult]) -> ET.Element:
    top = ET.Element("testsuites", name="bbc test")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    seconds = 0.0
    for result in results:
        suite = ET.SubElement(top, "testsuite", name=result.image)
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        if result.status == CheckStatus.FAILED and not any(c.status == CheckStatus.FAILED for c in result.checks):
            # the test image could not be built (or its release build failed): no test ran
            case = ET.SubElement(suite, "testcase", classname=result.image, name="build", time="0")
            head, _, rest = result.message.partition("\n")
            error = ET.SubElement(case, "error", message=head)
            error.text = rest
            counts["tests"] += 1
            counts["errors"] += 1
        for check in result.checks:
            name = check.name + (" (own)" if check.own else "")
            case = ET.SubElement(suite, "testcase", classname=result.image, name=name, time=f"{check.seconds:.3f}")
            counts["tests"] += 1
            if check.status == CheckStatus.FAILED:
                failure = ET.SubElement(case, "failure", message=check.message)
                failure.text = check.output
                counts["failures"] += 1
            elif check.status == CheckStatus.SKIPPED:
                ET.SubElement(case, "skipped", message=check.message)
                counts["skipped"] += 1
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
        suite.set("time", f"{result.seconds:.3f}")
        seconds += result.seconds
    for key, value in totals.items():
        top.set(key, str(value))
    top.set("time", f"{seconds:.3f}")
    return top


def write(results: list[ImageResult], path: Path) -> None:
    """Written whole or not at all (state.atomic_write): a reader never sees half a report."""
    import io

    from bbc.adapters import state

    tree = ET.ElementTree(document(results))
    ET.indent(tree)
    path = path.resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    out = io.BytesIO()
    tree.write(out, encoding="utf-8", xml_declaration=True)
    state.atomic_write(path, out.getvalue(), mode=0o644)

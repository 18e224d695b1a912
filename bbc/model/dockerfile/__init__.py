"""Dockerfiles as the builder reads them: the one reader (reader.py: instructions, ARGs,
stages, external bases, image references; reads.py: every image a build reads, FROM,
COPY --from and RUN --mount=from alike) and the rewriters that change only what they must
(rewrite.py: pin a base by digest, the parent through a build arg, labels as one LABEL).
Everything is re-exported here: `from bbc.model import dockerfile; dockerfile.stages(text)`."""

from __future__ import annotations

from bbc.model.dockerfile.reader import (DIGEST, Base, Reference, Stage, assignments, escape_char, expand,
                                         external_bases, global_args, instructions, parent_on_build_platform,
                                         parse_reference, stages, uses_arg_in_from)
from bbc.model.dockerfile.reads import Read, external_reads, on_build_platform, reads, reads_key, written
from bbc.model.dockerfile.rewrite import PARENT_ARG, pin_text, with_labels, with_parent, with_written

__all__ = ["DIGEST", "PARENT_ARG", "Base", "Read", "Reference", "Stage", "assignments", "escape_char", "expand",
           "external_bases", "external_reads", "global_args", "instructions", "on_build_platform",
           "parent_on_build_platform", "parse_reference", "pin_text", "reads", "reads_key", "stages",
           "uses_arg_in_from", "with_labels", "with_parent", "with_written", "written"]

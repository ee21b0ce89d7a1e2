"""The version range that ``management create pipeline`` writes into ``requirements.txt``.

outflow's distributions (the kernel ``outflow`` and its plugins ``outflow-*``) share
one version line, which starts at 1.0: an unrelated ``outflow`` 0.9 exists on the
public package index, and a bare ``outflow`` in a requirements file installs it. The
generated file therefore pins every distribution of ours to
``>=THIS_KERNEL_VERSION,<NEXT_MAJOR``, e.g. ``>=1.0.0.dev0,<2``.

While the kernel is a pre-release (``1.0.0.dev0``), the lower bound is one too: pip
then considers pre-releases for that requirement (a specifier that itself names a
pre-release enables them), so ``pip install -r requirements.txt`` accepts our dev
version, and still never 0.9.
"""

from __future__ import annotations

import re

from outflow.core import __version__ as KERNEL_VERSION
from outflow.core.errors import OutflowError

#: A PEP 440 public version: optional epoch, release numbers, then anything (pre, post, dev).
_PUBLIC_VERSION = re.compile(r"^(?:(?P<epoch>\d+)!)?(?P<major>\d+)(?:\.\d+)*(?:[-_.]?[a-z0-9.]*)?$",
                             re.IGNORECASE)


class VersionError(OutflowError, ValueError):
    """A kernel version that gives no version range (a packaging bug)."""


def outflow_specifier(version: str = KERNEL_VERSION) -> str:
    """``>=VERSION,<MAJOR+1`` for a kernel ``VERSION`` (its local part ``+...`` dropped).

    ``1.0.0.dev0`` -> ``>=1.0.0.dev0,<2``; ``1.4.2`` -> ``>=1.4.2,<2``.
    """
    public = version.strip().split("+", 1)[0]
    match = _PUBLIC_VERSION.match(public)
    if match is None:
        raise VersionError(f"outflow's version {version!r} is not a PEP 440 version")
    epoch = f"{match.group('epoch')}!" if match.group("epoch") else ""
    return f">={public},<{epoch}{int(match.group('major')) + 1}"


def pipeline_variables(pipeline_name: str, version: str = KERNEL_VERSION) -> dict[str, str]:
    """The variables of the pipeline template (see ``templates/README.md``)."""
    return {"pipeline_name": pipeline_name, "outflow_specifier": outflow_specifier(version)}

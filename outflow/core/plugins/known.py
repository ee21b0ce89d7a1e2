"""The project's own plugin distributions, and what each provides.

Why a table: when a user asks for a backend that is not there, the right hint depends
on who provides it. A name of ours (``parallel``) is provided by a distribution of ours
(``outflow-multiprocessing``): say which, and how to install or enable it. Any other
name gets no ``pip install`` hint at all: suggesting ``pip install outflow-<typo>``
invites installing whatever someone publishes under that name.

Only distributions that exist are listed; a new one adds its line when it ships.
"""

from __future__ import annotations

#: distribution -> (entry-point plugin name, {kind: names it provides})
KNOWN_DISTRIBUTIONS: dict[str, tuple[str, dict[str, tuple[str, ...]]]] = {
    "outflow-sequential": ("sequential", {"backends": ("default", "sequential")}),
    "outflow-multiprocessing": ("multiprocessing",
                                {"backends": ("parallel", "multiprocessing")}),
    "outflow-slurm": ("slurm", {"backends": ("slurm",)}),
    "outflow-mpi": ("mpi", {"backends": ("mpi",)}),
    "outflow-management": ("management", {"commands": ("management",)}),
    "outflow-library": ("library", {"blocks": ("MapWorkflow",)}),
}


def provider_of(kind: str, name: str) -> tuple[str, str] | None:
    """``(distribution, plugin name)`` of ours that provides ``kind`` ``name``, or None."""
    for distribution, (plugin, provides) in KNOWN_DISTRIBUTIONS.items():
        if name in provides.get(kind, ()):
            return distribution, plugin
    return None


__all__ = ["KNOWN_DISTRIBUTIONS", "provider_of"]

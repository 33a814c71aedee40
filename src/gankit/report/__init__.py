"""The HTML report: one self-contained page for a run, several runs side by side, or a study.

``build_report([Path("runs/a")])`` writes runs/a/report.html; ``gankit report PATH... [-o FILE]``
does the same from the command line. The page needs no network: pictures are data: URIs,
charts inline SVG, styles and scripts inline.
"""

from .page import build_report, render

__all__ = ["build_report", "render"]

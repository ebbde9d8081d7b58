"""How the graph is drawn, in one place for the explorer page and `aidgraph draw`: colour and shape by node kind, line by relationship.

>>> KIND_STYLE["Household"]["shape"]
'diamond'
"""

from __future__ import annotations

__all__ = ["EDGE_STYLE", "FINDING_COLOUR", "KIND_STYLE"]

KIND_STYLE: dict[str, dict[str, str]] = {
    "Household": {"color": "#1f77b4", "shape": "diamond", "label": "household"},
    "Person": {"color": "#2ca02c", "shape": "dot", "label": "person"},
    "Program": {"color": "#9467bd", "shape": "box", "label": "programme"},
    "Department": {"color": "#7f7f7f", "shape": "box", "label": "department"},
    "AidRecord": {"color": "#bcbd22", "shape": "square", "label": "aid record"},
    "Need": {"color": "#ff7f0e", "shape": "triangle", "label": "need"},
    "Service": {"color": "#17becf", "shape": "triangleDown", "label": "service"},
    "Resource": {"color": "#8c564b", "shape": "star", "label": "charity / volunteer / service org"},
}
EDGE_STYLE: dict[str, dict[str, object]] = {
    "MEMBER_OF": {"color": "#2ca02c", "dashes": False},
    "KIN": {"color": "#98df8a", "dashes": True},
    "OBLIGED_TO_SUPPORT": {"color": "#d62728", "dashes": [8, 4]},
    "RECEIVES": {"color": "#bcbd22", "dashes": False},
    "PAID_BY": {"color": "#9467bd", "dashes": False},
    "ADMINISTERS": {"color": "#7f7f7f", "dashes": True},
    "HAS_NEED": {"color": "#ff7f0e", "dashes": False},
    "FOR_NEED": {"color": "#ffbb78", "dashes": True},
    "SERVES": {"color": "#17becf", "dashes": False},
    "PROVIDES": {"color": "#8c564b", "dashes": False},
}
#: The border of a node that a duplicate-aid or missed-aid finding is about.
FINDING_COLOUR = "#d62728"

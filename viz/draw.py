"""`aidgraph draw`: a household's chain as one self-contained HTML file for a case file.

pyvis writes the page with vis-network inlined (``cdn_resources="in_line"``): it opens and draws
with no network. The picture is the explorer's: same colours, shapes and lines, findings in red.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

from pyvis.network import Network

from viz.style import EDGE_STYLE, FINDING_COLOUR, KIND_STYLE

__all__ = ["draw_chain"]


def draw_chain(chain: dict[str, Any], findings: list[dict[str, Any]], out: Path) -> dict[str, int]:
    """Write ``chain`` (a masked ``ChainResult`` as JSON data) to ``out``; return the node and edge counts.

    ``findings`` (masked audit findings about the household) outline their nodes in red and are
    listed under the picture.
    """
    flagged = set()
    for f in findings:
        flagged |= {f"Household:{x}" for x in f["households"]} | {f"Person:{x}" for x in f["persons"]}
        flagged |= {f"AidRecord:{x}" for x in f["records"]} | {f"Need:{x}" for x in f["needs"]} | {f"Service:{x}" for x in f["services"]}
    net = Network(height="760px", width="100%", directed=True, cdn_resources="in_line", heading="")
    for n in chain["nodes"]:
        style = KIND_STYLE.get(n["kind"], {})
        title = "\n".join(f"{k}: {v}" for k, v in sorted(n["props"].items()) if not isinstance(v, dict | list))
        net.add_node(
            n["id"],
            label=str(n["label"]),
            title=f"{n['kind']}\n{title}",
            shape=style.get("shape", "dot"),
            color={"background": style.get("color"), "border": FINDING_COLOUR if n["id"] in flagged else style.get("color")},
            borderWidth=4 if n["id"] in flagged else 1,
        )
    known = {n["id"] for n in chain["nodes"]}
    for e in chain["edges"]:
        for end in (e["src"], e["dst"]):
            if end not in known:  # an obligor's dependant is a member: present; anything else gets a plain node
                net.add_node(end, label=end.split(":", 1)[-1], shape="dot")
                known.add(end)
        style = EDGE_STYLE.get(e["rel"], {})
        net.add_edge(e["src"], e["dst"], label=e["rel"], color=style.get("color"), dashes=style.get("dashes", False))
    # pyvis's template also links Bootstrap from a CDN (for widgets we do not use): a case file
    # must open with no network, so those tags go.
    page = re.sub(r"<link[^>]*https://[^>]*>|<script[^>]*src=\"https://[^\"]*\"[^>]*>\s*</script>", "", net.generate_html())
    household = chain["view"]["household"]["household_id"]
    legend = "".join(
        f'<span style="display:inline-block;margin-right:12px"><span style="display:inline-block;width:12px;height:12px;background:{s["color"]}"></span> {k} ({s["shape"]})</span>'
        for k, s in KIND_STYLE.items()
    )
    listed = "".join(f"<li><b>{html.escape(f['kind'])}</b>: {html.escape(f['rule'])}</li>" for f in findings) or "<li>none</li>"
    header = (
        f"<h2>Household {html.escape(household)}: referral level {html.escape(chain['referral_level'])}</h2>"
        f"<p>{legend}</p><p>Findings (outlined in red):</p><ul>{listed}</ul>"
    )
    page = page.replace("<body>", "<body>" + header, 1)
    out.write_text(page, encoding="utf-8")
    return {"nodes": len(net.nodes), "edges": len(net.edges)}

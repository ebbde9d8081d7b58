// The chain graph of the workbench: vis-network, served locally. Loads a household's graph (or a
// finding's, given inline), adds further households to the view, expands a relative's household
// and collapses it again, removes nodes, hides aid, and fits the view once the layout has settled.
/* global vis */
"use strict";
window.AidGraphView = (function () {
  let network, nodes, edges, view, base, texts, started;
  const origins = new Map();  // node id -> Set of the households whose loading brought it
  const loaded = new Set();   // households drawn
  let hideAid = false;

  function $(id) { return document.getElementById(id); }
  function say(template, values) {
    return template.replace(/\{(\w+)\}/g, (_, k) => (values[k] === undefined ? "" : String(values[k])));
  }
  function status(text, state) {
    $("graph-status").textContent = text;
    if (state) $("graph").dataset.state = state;
  }

  function settle() {
    network.setOptions({ physics: false });
    network.fit({ animation: false });
    const ms = Math.round(performance.now() - started);
    $("graph").dataset.ms = String(ms);
    status(say(texts.dataset.settled, { nodes: view.length, ms: ms }), "settled");
  }

  function relayout() {
    started = performance.now();
    status(texts.dataset.loading, "loading");
    network.setOptions({ physics: { enabled: true, stabilization: { enabled: true, iterations: 250, fit: true } } });
    network.stabilize(250);
  }

  function add(data, origin) {
    const fresh = data.nodes.filter((n) => !nodes.get(n.id));
    nodes.add(fresh);
    for (const n of data.nodes) {
      if (!origins.has(n.id)) origins.set(n.id, new Set());
      origins.get(n.id).add(origin);
    }
    const known = new Set(edges.getIds());
    edges.add(data.edges.map((e) => ({ ...e, id: e.from + "|" + e.rel + "|" + e.to })).filter((e) => !known.has(e.id)));
    loaded.add(origin);
  }

  async function load(url, origin) {
    status(texts.dataset.loading, "loading");
    let response;
    try {
      response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    } catch (err) {
      status(say(texts.dataset.error, { error: String(err) }), "error");
      return false;
    }
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      status(say(texts.dataset.error, { error: body.error || response.status }), "error");
      return false;
    }
    add(body, origin);
    relayout();
    return true;
  }

  // The findings about the household come after the drawing (the whole audit may still be computing):
  // the nodes they name are outlined in red when they arrive.
  async function outline(url) {
    const response = await fetch(url, { credentials: "same-origin" }).catch(() => null);
    if (!response || !response.ok) return;
    const body = await response.json();
    const flagged = new Set(body.flagged || []);
    const hit = nodes.get({ filter: (n) => (n.keys || []).some((k) => flagged.has(k)) });
    nodes.update(hit.map((n) => ({ id: n.id, borderWidth: 4, color: { background: n.color.background, border: body.colour } })));
    $("graph").dataset.flags = String(hit.length);
  }

  function householdUrl(id) {
    return base + "/households/" + encodeURIComponent(id) + "/graph.json";
  }

  function select(id) {
    const box = $("graph-selected");
    const n = id && nodes.get(id);
    if (!n) { box.hidden = true; return; }
    box.hidden = false;
    box.dataset.node = id;
    $("graph-selected-text").textContent = n.title || n.label;
    const other = n.kind === "Person" && n.person_household && !loaded.has(n.person_household);
    $("graph-expand").hidden = !other;
    $("graph-expand").dataset.household = other ? n.person_household : "";
    const expanded = n.kind === "Household" && loaded.has(n.label) && n.id !== view.root;
    $("graph-collapse").hidden = !expanded;
    $("graph-collapse").dataset.household = expanded ? n.label : "";
  }

  function collapse(household) {
    const gone = [];
    for (const [id, from] of origins) {
      from.delete(household);
      if (from.size === 0) gone.push(id);
    }
    gone.forEach((id) => origins.delete(id));
    nodes.remove(gone);
    loaded.delete(household);
    select(null);
    relayout();
  }

  function reset() {
    nodes.clear(); edges.clear(); origins.clear(); loaded.clear(); select(null);
  }

  function start(options) {
    base = options.base || "";
    texts = $("graph-texts");
    started = performance.now();
    nodes = new vis.DataSet([]);
    edges = new vis.DataSet([]);
    const aid = new Set(["AidRecord", "Program", "Department"]);
    view = new vis.DataView(nodes, { filter: (n) => !(hideAid && aid.has(n.kind)) });
    view.root = null;
    network = new vis.Network($("graph"), { nodes: view, edges: edges }, {
      autoResize: true,
      nodes: { font: { size: 13, face: "WenQuanYi Zen Hei, Noto Sans CJK SC, sans-serif" }, size: 14 },
      edges: { arrows: { to: { enabled: true, scaleFactor: 0.5 } }, smooth: false, font: { size: 10 } },
      physics: { solver: "barnesHut", barnesHut: { gravitationalConstant: -4000, springLength: 110 },
                 stabilization: { enabled: true, iterations: 250, fit: true } },
      interaction: { hover: true, tooltipDelay: 150 },
    });
    network.on("stabilizationIterationsDone", settle);
    network.on("click", (p) => select(p.nodes[0]));
    network.on("doubleClick", (p) => {
      const n = p.nodes[0] && nodes.get(p.nodes[0]);
      if (n && n.kind === "Person" && n.person_household && !loaded.has(n.person_household)) load(householdUrl(n.person_household), n.person_household);
    });
    $("graph-fit").addEventListener("click", () => network.fit({ animation: false }));
    $("graph-hide-aid").addEventListener("change", (ev) => {
      hideAid = ev.target.checked;
      view.refresh();
      relayout();
    });
    $("graph-expand").addEventListener("click", (ev) => load(householdUrl(ev.target.dataset.household), ev.target.dataset.household));
    $("graph-collapse").addEventListener("click", (ev) => collapse(ev.target.dataset.household));
    $("graph-remove").addEventListener("click", () => {
      const id = $("graph-selected").dataset.node;
      nodes.remove(id); origins.delete(id); select(null);
    });
    const form = $("graph-add");
    if (form) {
      const go = async (fresh) => {
        const id = $("graph-add-id").value.trim();
        if (!id) return;
        if (fresh) reset();
        if (await load(householdUrl(id), id) && fresh) view.root = "Household:" + id;
      };
      form.addEventListener("submit", (ev) => { ev.preventDefault(); go(false); });
      $("graph-new").addEventListener("click", () => go(true));
    }
    if (options.data) {
      view.root = options.data.root;
      add(options.data, "finding");
      relayout();
    } else {
      view.root = "Household:" + options.household;
      load(options.source, options.household).then((drawn) => { if (drawn && options.flags) outline(options.flags); });
    }
  }

  // For the browser tests and for keyboard users' scripts: select a node by id, list what is drawn.
  function nodeIds() { return nodes ? nodes.getIds() : []; }
  return { start: start, select: select, nodeIds: nodeIds };
})();

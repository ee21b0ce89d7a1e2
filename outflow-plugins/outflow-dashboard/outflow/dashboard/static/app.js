// outflow dashboard: the runs page and a run's page, filled from /api/runs.
// Values are set as text (never as HTML): what a run recorded cannot run here.
"use strict";

const REFRESH_MS = 2000;

function element(tag, attributes, children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (name === "text") node.textContent = value;
    else node.setAttribute(name, value);
  }
  for (const child of children || []) node.appendChild(child);
  return node;
}

function seconds(value) {
  if (value === null || value === undefined) return "-";
  if (value < 1) return (value * 1000).toFixed(0) + " ms";
  if (value < 60) return value.toFixed(1) + " s";
  return Math.floor(value / 60) + " min " + String(Math.round(value % 60)).padStart(2, "0") + " s";
}

function stateCell(state) {
  return element("td", {class: "state state-" + state, text: state});
}

async function fetchJson(url) {
  const response = await fetch(url, {credentials: "same-origin"});
  if (!response.ok) throw new Error(url + ": " + response.status);
  return response.json();
}

function stamp() {
  document.getElementById("updated").textContent =
    "updated " + new Date().toLocaleTimeString();
}

// -- the runs page ---------------------------------------------------------------------
async function refreshRuns() {
  const form = document.getElementById("filters");
  const query = new URLSearchParams();
  for (const name of ["state", "command"]) {
    const value = form.elements[name].value;
    if (value) query.set(name, value);
  }
  const documentRuns = await fetchJson("/api/runs?" + query.toString());
  const body = document.querySelector("#runs tbody");
  body.replaceChildren(...documentRuns.runs.map((run) => element("tr", {"data-run": run.id}, [
    element("td", {}, [element("a", {href: "/runs/" + run.id, text: String(run.id)})]),
    stateCell(run.state),
    element("td", {text: run.command}),
    element("td", {text: run.backend}),
    element("td", {text: run.user + "@" + run.host}),
    element("td", {text: (run.start || "").replace("T", " ").slice(0, 19)}),
    element("td", {class: "number", text: seconds(run.duration)}),
    element("td", {class: "number items", text: String(run.items)}),
    element("td", {class: "number items-failed", text: String(run.items_failed)}),
  ])));
  document.getElementById("empty").hidden = documentRuns.runs.length > 0;
  stamp();
}

function runsPage() {
  const form = document.getElementById("filters");
  form.addEventListener("input", () => refreshRuns());
  form.addEventListener("submit", (event) => event.preventDefault());
  refreshRuns();
  setInterval(refreshRuns, REFRESH_MS);
}

// -- a run's page ----------------------------------------------------------------------
function drawGraph(graph) {
  // Layers by the longest path from a block without upstream edges; one column each.
  const depth = new Map(graph.nodes.map((node) => [node.id, 0]));
  for (let round = 0; round < graph.nodes.length; round++) {
    let changed = false;
    for (const [up, down] of graph.edges) {
      if (depth.get(down) < depth.get(up) + 1) { depth.set(down, depth.get(up) + 1); changed = true; }
    }
    if (!changed) break;
  }
  const shown = graph.nodes.filter((node) => node.parent !== null || graph.nodes.length === 1);
  const rows = new Map();
  const position = new Map();
  for (const node of shown) {
    const column = depth.get(node.id);
    const row = rows.get(column) || 0;
    rows.set(column, row + 1);
    position.set(node.id, {x: 20 + column * 200, y: 20 + row * 60});
  }
  const width = 40 + 200 * (Math.max(0, ...rows.keys()) + 1);
  const height = 40 + 60 * Math.max(1, ...rows.values());
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);
  const make = (tag, attributes, text) => {
    const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
    if (text !== undefined) node.textContent = text;
    return node;
  };
  for (const [up, down] of graph.edges) {
    const from = position.get(up), to = position.get(down);
    if (from && to) svg.appendChild(make("line", {x1: from.x + 160, y1: from.y + 18,
                                                  x2: to.x, y2: to.y + 18}));
  }
  for (const node of shown) {
    const at = position.get(node.id);
    const group = make("g", {class: "node", "data-block": node.name, "data-state": node.state});
    group.appendChild(make("rect", {class: "block " + node.state, x: at.x, y: at.y, width: 160,
                                    height: 36, rx: 4}));
    group.appendChild(make("text", {x: at.x + 8, y: at.y + 15}, node.kind + " " + node.name));
    group.appendChild(make("text", {x: at.x + 8, y: at.y + 30, class: "muted"}, node.state));
    svg.appendChild(group);
  }
  document.getElementById("graph").replaceChildren(svg);
}

function fillRun(run) {
  document.title = "outflow run " + run.run.id;
  document.getElementById("title").textContent = "run " + run.run.id + ": " + run.run.command;
  const state = document.getElementById("state");
  state.textContent = run.run.state;
  state.className = "state state-" + run.run.state;
  document.getElementById("summary").textContent =
    run.run.user + "@" + run.run.host + ", backend " + run.run.backend + ", started " +
    (run.run.start || "").replace("T", " ").slice(0, 19) + " UTC, duration " +
    seconds(run.run.duration) + ", " + run.run.items + " items, " + run.run.items_failed +
    " failed, " + run.run.blocks_done + " blocks done" +
    (run.run.cache_hits ? ", " + run.run.cache_hits + " from the cache" : "");
  drawGraph(run.graph);
  document.querySelector("#tasks tbody").replaceChildren(...run.tasks.map((task) =>
    element("tr", {"data-block": task.name}, [
      element("td", {text: task.kind + " " + task.name}),
      element("td", {class: "number", text: String(task.runs)}),
      element("td", {class: "number", text: String(task.success)}),
      element("td", {class: "number", text: String(task.failed)}),
      element("td", {class: "number", text: seconds(task.total_seconds)}),
      element("td", {class: "number", text: seconds(task.mean_seconds)}),
      element("td", {class: "number", text: seconds(task.longest_seconds)}),
    ])));
  document.getElementById("maps-section").hidden = run.maps.length === 0;
  document.getElementById("maps").replaceChildren(...run.maps.map((map) => element("div", {}, [
    element("h3", {text: map.name + ": " + map.count + " items, " + map.failed + " failed"}),
    element("div", {class: "items"}, map.items.map((item) => element("span", {
      class: "item " + item.state, "data-index": item.index,
      title: "item " + item.index + ": " + item.state + ", " + seconds(item.seconds)}))),
  ])));
  document.getElementById("failures-section").hidden = run.failures.length === 0;
  document.getElementById("failures").replaceChildren(...run.failures.map((failure) =>
    element("div", {class: "failure"}, [
      element("h3", {text: failure.block + (failure.index !== null ? " (item " + failure.index + ")" : "")}),
      element("p", {class: "error", text: failure.error || "failed because a block inside it failed"}),
      element("ul", {}, Object.entries(failure.inputs).map(([name, value]) =>
        element("li", {class: "input", text: name + " = " + value}))),
      element("pre", {class: "traceback", text: failure.traceback}),
    ])));
  document.getElementById("configuration").textContent =
    JSON.stringify(run.configuration, null, 2);
  document.getElementById("log-path").textContent = run.log ? run.log.path : "no log file";
  document.getElementById("log").textContent = run.log ? run.log.text : "";
  stamp();
  return run.run.state;
}

async function runPage() {
  const id = window.location.pathname.split("/").pop();
  const refresh = async () => {
    const state = fillRun(await fetchJson("/api/runs/" + id));
    if (state === "running") setTimeout(refresh, REFRESH_MS);
  };
  refresh();
}

document.addEventListener("DOMContentLoaded", () => {
  if (document.body.dataset.page === "runs") runsPage();
  else runPage();
});

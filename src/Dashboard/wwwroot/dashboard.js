// The run dashboard's page: polls the JSON endpoints of the dashboard server and renders with DOM calls only (text is
// always set as text, never parsed as HTML; the charts are SVG rendered by the server). No library, works offline.
"use strict";
const state = { runs: [], overlay: new Set(), selected: null, step: null, chartsKey: "", trajectoriesKey: "", colour: "mask" };
const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

async function api(path) {
  let response;
  try {
    response = await fetch(path, { cache: "no-store" });
  } catch (e) {
    throw new Error("the dashboard server does not answer (" + e.message + "); is agentrl dashboard still running?");
  }
  let body;
  try { body = await response.json(); } catch { body = null; }
  if (!response.ok) throw new Error((body && body.error) || ("HTTP " + response.status + " for " + path));
  return body;
}

function showError(message) {
  const box = $("error");
  box.hidden = !message;
  box.textContent = message || "";
}

const pct = (v) => (v === null || v === undefined ? "–" : (100 * v).toFixed(1) + "%");
function eta(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  const s = Math.round(seconds);
  return s >= 3600 ? Math.floor(s / 3600) + "h " + Math.floor((s % 3600) / 60) + "m" : s >= 60 ? Math.floor(s / 60) + "m " + (s % 60) + "s" : s + "s";
}

async function refreshRuns() {
  try {
    const data = await api("api/runs");
    showError(null);
    $("run-dir").textContent = "run directory: " + data.runDir;
    $("updated").textContent = "updated " + new Date().toLocaleTimeString();
    state.runs = data.runs;
    if (state.overlay.size === 0) data.runs.slice(0, 4).forEach((r) => state.overlay.add(r.runId));
    if (!state.selected && data.runs.length > 0) state.selected = (data.runs.find((r) => r.live) || data.runs[0]).runId;
    renderRuns();
    await refreshCharts();
    await refreshTrajectories();
  } catch (e) {
    showError(e.message);
  }
}

function renderRuns() {
  const body = $("runs").querySelector("tbody");
  body.replaceChildren(...state.runs.map((r) => el("tr", { class: r.runId === state.selected ? "selected" : null, "data-run": r.runId },
    el("td", {}, el("input", { type: "checkbox", checked: state.overlay.has(r.runId), title: "overlay " + r.runId + " in the charts",
      onchange: (e) => { e.target.checked ? state.overlay.add(r.runId) : state.overlay.delete(r.runId); refreshCharts(); } })),
    el("td", { class: "run" }, el("a", { onclick: () => selectRun(r.runId) }, r.runId)),
    el("td", {}, el("span", { class: "state " + r.state, title: r.error || null }, r.state), r.live ? el("span", { class: "live", title: "live" }) : null,
      r.phase ? el("span", { class: "phase" }, r.phase) : null),
    el("td", {}, r.step + (r.steps ? " / " + r.steps : "")),
    el("td", {}, pct(r.accuracy)),
    el("td", {}, pct(r.evalAccuracy)),
    el("td", {}, eta(r.etaSeconds)),
    el("td", {}, r.algorithm || "–"),
    el("td", {}, r.swarm || "–"))));
  $("no-runs").hidden = state.runs.length > 0;
  const swarms = {};
  state.runs.filter((r) => r.swarm).forEach((r) => (swarms[r.swarm] = swarms[r.swarm] || []).push(r));
  $("swarms").replaceChildren(...Object.entries(swarms).map(([pool, members]) => el("div", { class: "swarm" },
    "swarm (pool " + pool + "): ", members.map((m) => m.runId + " " + m.state + " step " + m.step + (m.steps ? "/" + m.steps : "")).join(" · "))));
}

async function refreshCharts() {
  const runs = state.runs.map((r) => r.runId).filter((id) => state.overlay.has(id));
  const key = runs.join(",") + "|" + state.runs.filter((r) => runs.includes(r.runId)).map((r) => r.step + r.state).join(",");
  if (key === state.chartsKey) return;
  if (runs.length === 0) { $("charts").replaceChildren(el("p", { class: "hint" }, "Tick a run to draw its curves.")); state.chartsKey = key; return; }
  const data = await api("api/charts?runs=" + encodeURIComponent(runs.join(",")));
  const parser = new DOMParser();
  $("charts").replaceChildren(...data.charts.map((c) => {
    const svg = parser.parseFromString(c.svg, "image/svg+xml").documentElement;
    svg.setAttribute("data-column", c.column);
    return document.importNode(svg, true);
  }));
  state.chartsKey = key;
}

function selectRun(runId) {
  state.selected = runId;
  state.step = null;
  state.trajectoriesKey = "";
  renderRuns();
  refreshTrajectories().catch((e) => showError(e.message));
}

async function refreshTrajectories() {
  if (!state.selected) return;
  const run = state.runs.find((r) => r.runId === state.selected);
  const key = state.selected + "|" + state.step + "|" + (run ? run.step + run.state : "") + "|" + state.colour;
  if (key === state.trajectoriesKey) return;
  const page = await api("api/runs/" + encodeURIComponent(state.selected) + "/trajectories" + (state.step !== null ? "?step=" + state.step : ""));
  state.trajectoriesKey = key;
  $("trajectory-run").textContent = "of " + page.runId + (page.algorithm ? " (" + page.algorithm + ")" : "");
  const select = $("step");
  select.replaceChildren(...page.steps.map((s) => el("option", { value: s, selected: s === page.step }, "step " + s)));
  if (page.groups.length === 0) {
    $("trajectories").replaceChildren(el("p", { class: "hint" }, "This run has logged no trajectories yet."));
    return;
  }
  $("trajectories").replaceChildren(...page.groups.map(renderGroup));
  renderLegend();
}

function renderGroup(group) {
  const byPath = Object.fromEntries(group.nodes.map((n) => [n.branchPath, n]));
  const head = el("h3", {}, "group " + group.groupId,
    el("span", { class: "tag" }, group.isTree ? "rollout tree · " + group.nodes.length + " trajectories · attribution " + (group.attribution || "?") : group.nodes.length + " trajectories"));
  const outline = group.isTree ? el("div", { class: "tree-outline" }, group.nodes.map((n) =>
    "  ".repeat(n.depth) + (n.depth > 0 ? "└─ " : "") + n.branchPath +
    (n.parentPath !== null && n.parentPath !== undefined ? "  fork @" + n.forkPosition + " ΔH " + fmtDelta(n.forkEntropyDelta) : "") +
    "  reward " + n.reward.toFixed(3) + (n.isLeaf ? "  (leaf)" : "") + "\n").join("")) : null;
  const nodes = group.nodes.map((n) => renderNode(n, byPath));
  return el("div", { class: "group" + (group.isTree ? " tree" : ""), "data-group": group.groupId }, head, outline, nodes);
}

const fmtDelta = (d) => (d === null || d === undefined ? "?" : (d >= 0 ? "+" : "") + d.toFixed(3));

function renderNode(node, byPath) {
  const parts = node.rewardParts ? Object.entries(node.rewardParts).map(([k, v]) => k + " " + (+v).toFixed(2)).join(", ") : "";
  const head = el("div", { class: "node-head" },
    el("span", { class: "path" }, node.branchPath),
    node.parentPath !== null && node.parentPath !== undefined
      ? el("span", { class: "fork" }, "forked from " + node.parentPath + " at token " + node.forkPosition + " · ΔH " + fmtDelta(node.forkEntropyDelta)) : null,
    el("span", { class: "reward" }, "reward " + node.reward.toFixed(3)),
    parts ? el("span", { class: "parts" }, "(" + parts + ")") : null,
    el("span", { class: "finish" }, "finish: " + (node.finishReason || "?")),
    node.goldAnswer ? el("span", { class: "parts" }, "gold " + node.goldAnswer) : null,
    node.isLeaf && node.depth + node.children.length > 0 ? el("span", { class: "badge leaf" }, "leaf") : null,
    node.sharedMessages > 0 ? el("span", { class: "shared" }, node.sharedMessages + " messages shared with " + node.parentPath + " (shown there)") : null,
    node.error ? el("span", { class: "badge" }, "error: " + node.error) : null);
  const indent = node.depth * 22;
  return el("div", { class: "node" + (node.depth > 0 ? " child" : ""), "data-path": node.branchPath, style: "margin-left:" + indent + "px" },
    head, node.messages.map((m, i) => renderMessage(m, i, node.messages)));
}

function renderMessage(m, i, messages) {
  // An assistant turn answered by a tool turn although no call parsed: the model wrote a call the parser could not read.
  const unparsed = m.role === "assistant" && !(m.toolCalls || []).length && messages[i + 1] && messages[i + 1].role === "tool";
  return el("div", { class: "msg " + m.role },
    el("span", { class: "role" }, m.role + (m.role === "tool" ? " result" + (m.toolName ? " · " + m.toolName : " · no tool ran") : "")),
    m.content ? el("pre", {}, m.content) : el("pre", { class: "empty" }, m.role === "system" ? "(no text: the chat template renders the tool list; its tokens are below)" : "(empty)"),
    (m.toolCalls || []).map((c) => el("div", { class: "toolcall" }, "→ tool call ", el("b", {}, c.name), " " + c.arguments)),
    unparsed ? el("div", { class: "toolcall unparsed" }, "→ a tool call the parser could not read (see the result below)") : null,
    m.ids && m.ids.length ? renderTokens(m) : null);
}

function tokenColour(mask, entropy) {
  if (state.colour === "mask") return mask === 1 ? "#0072B2" : "#c9d1d9";
  if (mask !== 1) return "#eceff2";
  const t = Math.max(0, Math.min(1, (entropy || 0) / 3));   // 0 … 3 nats
  const r = 255, g = Math.round(240 - 190 * t), b = Math.round(200 - 190 * t);
  return "rgb(" + r + "," + g + "," + b + ")";
}

function renderTokens(m) {
  return el("div", { class: "tokens", title: m.ids.length + " tokens" }, m.ids.map((id, i) => {
    const mask = m.mask ? m.mask[i] : null;
    const h = m.entropies ? m.entropies[i] : null;
    return el("span", { class: "tok", style: "background:" + tokenColour(mask, h),
      title: "token " + (m.tokenStart + i) + ": id " + id + ", loss mask " + mask + (h !== null ? ", entropy " + h.toFixed(3) + " nats" : "") });
  }));
}

function renderLegend() {
  const swatch = (colour, text) => el("span", {}, el("i", { style: "background:" + colour }), text);
  $("token-legend").replaceChildren(...(state.colour === "mask"
    ? [swatch("#0072B2", "generated (trained on, mask 1)"), swatch("#c9d1d9", "prompt / tool output (mask 0)")]
    : [swatch(tokenColour(1, 0), "H 0"), swatch(tokenColour(1, 1.5), "1.5"), swatch(tokenColour(1, 3), "≥ 3 nats"), swatch("#eceff2", "not generated")]));
}

$("step").addEventListener("change", (e) => { state.step = Number(e.target.value); refreshTrajectories().catch((x) => showError(x.message)); });
document.querySelectorAll("input[name=colour]").forEach((radio) => radio.addEventListener("change", (e) => {
  state.colour = e.target.value;
  refreshTrajectories().catch((x) => showError(x.message));
}));
// One refresh at a time, the next 2 s after the last one ended (a slow cluster never piles requests up).
async function poll() {
  await refreshRuns();
  setTimeout(poll, 2000);
}
poll();

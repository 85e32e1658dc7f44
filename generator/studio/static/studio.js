// punkgen studio: draws what the server's library calls return; every check and every number comes from there.
"use strict";
const TOKEN = document.querySelector('meta[name="studio-token"]').content;
const $ = (id) => document.getElementById(id);
let view = null;        // the last answer of the server
let report = null;      // the last report that checked (kept while an edit shows an error)
let built = "";         // the table structure the DOM was built for
const SHORT = { openrarity: "OpenRarity", statistical: "statistical", howrare: "HowRare", howrare_normalised: "HowRare norm." };

async function call(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: { "X-Studio-Token": TOKEN, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const answer = await response.json();
  return { ok: response.ok, answer };
}

async function edit(change) {
  const { ok, answer } = await call("POST", "/api/edit", change);
  if (ok) draw(answer); else showError(answer.error);
}

function showError(line) {
  $("error").hidden = !line;
  $("error").textContent = line || "";
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function debounced(work, ms) {
  let timer = null;
  return (...args) => { clearTimeout(timer); timer = setTimeout(() => work(...args), ms); };
}

function draw(answer) {
  view = answer;
  if (answer.report) report = answer.report;
  showError(answer.error);
  $("folder").textContent = answer.folder;
  $("unsaved").textContent = answer.changed.length ? `edited: ${answer.changed.join(", ")}` : "";
  $("review").disabled = !answer.changed.length;
  if (report) {
    $("summary").textContent = `${report.capacity.toLocaleString()} distinct valid sets · shares in a plan of ${report.size.toLocaleString()} tokens (${report.sampling} sampling)` + (answer.report ? "" : " · last valid figures");
  }
  $("warnings").replaceChildren(...(answer.report ? answer.report.warnings : []).map((line) => el("li", {}, "warning: " + line)));
  const shape = JSON.stringify([Object.entries(answer.tables).map(([key, t]) => [key, t.rows.map((r) => r.value)]), report && report.sampling]);
  if (shape !== built) { buildTables(answer); built = shape; }
  fillTables(answer);
  drawRules(answer.rules);
  if (answer.samples) drawSamples(answer);
  if (answer.ranks) drawRanks(answer.ranks);
}

function buildTables(answer) {
  const exact = report && report.sampling === "exact";
  const cards = Object.entries(answer.tables).map(([key, table]) => {
    const head = el("tr", {}, el("th"), el("th", {}, "value"), el("th", { class: "num" }, "weight"));
    if (exact) head.append(el("th", { class: "num" }, "quota"));
    head.append(el("th", { class: "num" }, "configured"), el("th", { class: "num" }, "expected"), el("th"), el("th"), el("th", {}, "prompt fragment"));
    const rows = table.rows.map((row) => {
      const tr = el("tr", { "data-table": key, "data-value": row.value });
      const layer = answer.layers && answer.layers[key] && answer.layers[key][row.value];
      tr.append(el("td", { class: "thumb" }, layer ? el("img", { src: `/folder/${encodeURI(layer)}?token=${TOKEN}`, alt: "" }) : ""));
      tr.append(el("td", { class: "value" }, row.value));
      tr.append(el("td", { class: "num" }, cellInput(key, row.value, "weight", "weight")));
      if (exact) {
        const quota = el("input", { class: "quota", "data-col": "quota", inputmode: "numeric" });
        quota.addEventListener("change", () => edit({ kind: "quota", table: key, value: row.value, tokens: Number(quota.value) }));
        tr.append(el("td", { class: "num" }, quota));
      }
      tr.append(el("td", { class: "num configured" }), el("td", { class: "num expected" }), el("td", {}, el("div", { class: "bar" }, el("span"), el("i"))), el("td", { class: "mark" }));
      tr.append(el("td", { class: "prompt" }, cellInput(key, row.value, "prompt", "prompt")));
      return tr;
    });
    return el("section", { class: "card" }, el("h2", {}, key, " ", el("small", {}, `${key}.csv`)), el("table", {}, el("thead", {}, head), el("tbody", {}, ...rows)));
  });
  $("tables").replaceChildren(...cards);
}

function cellInput(table, value, column, cls) {
  const input = el("input", { class: cls, "data-col": column, spellcheck: "false", size: "6" });
  const send = () => { if (input.value !== input.dataset.shown) edit({ kind: "cell", table, value, column, text: input.value }); };
  input.addEventListener("change", send);
  if (column === "weight") input.addEventListener("input", debounced(send, 250));
  return input;
}

function fillTables(answer) {
  for (const [key, table] of Object.entries(answer.tables)) {
    const shares = report && report.shares[key] ? Object.fromEntries(report.shares[key].map((s) => [s.value, s])) : {};
    const impossible = (answer.impossible || {})[key] || {};
    for (const row of table.rows) {
      const tr = document.querySelector(`tr[data-table="${CSS.escape(key)}"][data-value="${CSS.escape(row.value)}"]`);
      if (!tr) continue;
      for (const input of tr.querySelectorAll("input[data-col]")) {
        const shown = input.dataset.col === "quota" ? String(shares[row.value] ? shares[row.value].quota : "") : row[input.dataset.col];
        input.dataset.shown = shown;
        if (document.activeElement !== input) input.value = shown;
      }
      const share = shares[row.value];
      tr.querySelector(".configured").textContent = share ? share.shown[0] : "";
      tr.querySelector(".expected").textContent = share ? share.shown[1] : "";
      tr.querySelector(".bar span").style.width = share ? `${Math.min(100, share.expected * 100 / maxShare(shares))}%` : "0";
      tr.querySelector(".bar i").style.left = share ? `${Math.min(100, share.configured * 100 / maxShare(shares))}%` : "0";
      tr.classList.toggle("drifts", Boolean(share && share.drifts));
      tr.classList.toggle("impossible", row.value in impossible);
      const mark = tr.querySelector(".mark");
      const rules = (impossible[row.value] || []).map((n) => "#" + n).join(", ");
      mark.textContent = row.value in impossible ? `never: ${rules}` : share && share.drifts ? "← drift" : "";
      mark.title = row.value in impossible ? `[[rules]] ${rules} leave this value no valid trait set` : "";
    }
  }
}

function maxShare(shares) {
  return Math.max(...Object.values(shares).map((s) => Math.max(s.expected, s.configured)), 1e-9);
}

function drawRules(rules) {
  const list = $("rules");
  if (list.contains(document.activeElement) && list.children.length === rules.length) return;
  list.replaceChildren(...rules.map((rule, index) => {
    const text = el("textarea", { rows: String(rule.text.split("\n").length), spellcheck: "false", "data-rule": String(index), title: rule.note });
    text.value = rule.text;
    text.addEventListener("change", () => edit({ kind: "rule", index, text: text.value }));
    const remove = el("button", { class: "quiet", type: "button", title: "remove this rule" }, "Remove");
    remove.addEventListener("click", () => edit({ kind: "rule", index, text: null }));
    return el("li", {}, el("div", { class: "note" }, rule.note), el("div", { class: "rule" }, text, remove));
  }));
}

function traitsText(traits) {
  return traits.map((t) => `${t.trait_type}: ${t.value}`).join(" · ");
}

function drawSamples(answer) {
  $("samples-note").textContent = answer.layers_drawn ? "(first tokens of the plan, seed fixed; drawn by the sprite layers)" : "(no sprite layers to draw them with)";
  $("samples").replaceChildren(...answer.samples.map((token) => el("figure", { title: traitsText(token.traits), "data-token": String(token.token) },
    token.image ? el("img", { src: token.image, alt: `token ${token.token}` }) : "", el("figcaption", {}, `#${token.token}`))));
}

function drawRanks(ranks) {
  $("ranks-note").textContent = `(a planned collection of ${ranks.tokens.toLocaleString()} tokens, nothing rendered)`;
  const names = ranks.methods.map((m) => m.name);
  const table = (rows, empty) => {
    if (!rows.length) return [el("tr", {}, el("td", {}, empty))];
    const head = el("tr", {}, el("th"), el("th", {}, "token"), ...names.map((n) => el("th", { class: "num" }, SHORT[n] || n)), el("th", { class: "num" }, "spread"));
    return [head, ...rows.map((row) => el("tr", { title: traitsText(row.traits) },
      el("td", {}, row.image ? el("img", { src: row.image, alt: "" }) : ""), el("td", {}, `#${row.token}`),
      ...names.map((n) => el("td", { class: "num" }, String(row.ranks[n]))), el("td", { class: "num" }, String(row.spread))))];
  };
  $("moved").replaceChildren(...table(ranks.moved, "no tokens"));
  $("one-of-ones").replaceChildren(...table(ranks.one_of_ones, "no 1/1s in this collection"));
  $("methods").replaceChildren(...ranks.methods.flatMap((m) => [el("dt", {}, m.name), el("dd", {}, m.about)]));
}

function toggles() {
  const read = (id) => ($(id).value === "" ? null : $(id).value === "true");
  edit({ kind: "toggles", none_as_value: read("none-as-value"), trait_count: read("trait-count") });
}

async function review() {
  const { ok, answer } = await call("GET", "/api/diff");
  $("diff").textContent = ok ? answer.diff : answer.error;
  $("save-error").hidden = true;
  $("reload").hidden = true;
  $("save-dialog").showModal();
}

async function save() {
  const { ok, answer } = await call("POST", "/api/save", {});
  if (!ok) { $("save-error").hidden = false; $("save-error").textContent = answer.error; $("reload").hidden = !answer.error.includes("changed on disk"); return; }
  $("save-dialog").close();
  draw(answer);
  $("unsaved").textContent = `saved: ${answer.saved.length} file(s)`;
}

document.addEventListener("DOMContentLoaded", async () => {
  $("add-rule").addEventListener("click", () => { const text = $("new-rule").value; if (text.trim()) { $("new-rule").value = ""; edit({ kind: "rule", index: null, text }); } });
  $("none-as-value").addEventListener("change", toggles);
  $("trait-count").addEventListener("change", toggles);
  $("review").addEventListener("click", review);
  $("cancel-save").addEventListener("click", () => $("save-dialog").close());
  $("confirm-save").addEventListener("click", save);
  $("reload").addEventListener("click", async () => {
    const { ok, answer } = await call("POST", "/api/reload", {});
    $("save-dialog").close();
    if (ok) { built = ""; draw(answer); } else showError(answer.error);
  });
  const { ok, answer } = await call("GET", "/api/state");
  if (ok) draw(answer); else showError(answer.error);
});

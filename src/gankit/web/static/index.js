/* The run list: a live table (polled every 2 s), the new-run form, links to the studies. */
"use strict";
(() => {
  const { el, $, api, fmt, badge, progress, showError, runApi, runPage, studyPage, metricName } = GK;
  const tbody = $("#runs tbody");
  const pending = new Map();  // id -> {id, name, preset, since}: started here, not yet listed
  const stopping = new Set();  // ids asked to stop, still running

  function lossCell(last, key) {
    return el("td", { class: `num ${key}`, text: last ? fmt(last[key]) : "–" });
  }
  function metricsCell(metrics) {
    const entries = Object.entries(metrics || {}).filter(([k]) => k.startsWith("eval_"));
    return el("td", { class: "metrics-list" },
      entries.length ? entries.map(([k, v], i) => [i ? ", " : "", `${metricName(k)} ${fmt(v)}`]) : "–");
  }
  async function stop(run, button) {
    button.disabled = true;
    try {
      await api(runApi(run.id, "/stop"), { method: "POST" });
      stopping.add(run.id);
      button.textContent = "Stopping…";
    } catch (err) {
      button.disabled = false;
      showError($("#page-error"), `${run.name || run.id}: ${err.message}`);
    }
  }
  function row(run) {
    const stopButton = GK.live(run.status) && run.started_here
      ? el("button", { type: "button", class: "secondary stop", text: "Stop" }) : null;
    if (stopButton && stopping.has(run.id)) Object.assign(stopButton, { disabled: true, textContent: "Stopping…" });
    if (stopButton) stopButton.addEventListener("click", () => stop(run, stopButton));
    return el("tr", { dataset: { id: run.id, status: run.status || "" } },
      el("td", {},
        el("a", { href: runPage(run.id), class: "run-link", text: run.name || run.id }),
        run.study ? el("div", { class: "muted small" }, "study ", el("a", { href: studyPage(run.study), text: run.study })) : null),
      el("td", { text: run.preset || "–" }),
      el("td", {}, progress(run.step, run.steps)),
      el("td", {}, badge(run.status),
        run.error ? el("div", { class: "row-error", title: run.error, text: GK.oneLine(run.error) }) : null),
      lossCell(run.last, "d_real"), lossCell(run.last, "d_fake"), lossCell(run.last, "g_loss"),
      metricsCell(run.metrics),
      el("td", {}, stopButton));
  }
  function render(runs) {
    const listed = new Set(runs.map((r) => r.id));
    runs.forEach((r) => { if (!GK.live(r.status)) stopping.delete(r.id); });
    for (const [id, p] of pending) if (listed.has(id) || Date.now() - p.since > 120000) pending.delete(id);
    const waiting = [...pending.values()].map((p) => Object.assign({ status: "starting", step: 0, steps: 0, last: null, metrics: {} }, p));
    const all = waiting.concat(runs);
    if (!all.length) {
      tbody.replaceChildren(el("tr", {}, el("td", { class: "empty", colspan: 9, text: "No runs yet: start one below." })));
      return;
    }
    tbody.replaceChildren(...all.map(row));
  }

  let polling = false;
  async function poll() {
    if (polling) return;
    polling = true;
    try {
      const body = await api("/api/runs");
      render(body.runs || []);
      showError($("#page-error"), null);
      $("#updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
    } catch (err) {
      showError($("#page-error"), err);
    } finally {
      polling = false;
    }
  }

  async function loadPresets() {
    const select = $("#preset");
    try {
      const body = await api("/api/presets");
      const names = body.presets || [];
      select.replaceChildren(...names.map((n) => el("option", { value: n, text: n, selected: n === "digits" })));
    } catch (err) {
      showError($("#form-error"), err);
    }
  }

  async function loadStudies() {
    const list = $("#studies");
    try {
      const body = await api("/api/studies");
      const studies = body.studies || [];
      list.replaceChildren(...(studies.length
        ? studies.map((s) => el("li", {}, el("a", { href: studyPage(s.name), text: s.title || s.name }),
            el("span", { class: "muted small", text: ` (${(s.arms || []).length} arms)` })))
        : [el("li", { class: "muted", text: "no studies" })]));
    } catch (err) {
      list.replaceChildren();
      showError($("#studies-error"), err);
    }
  }

  async function submit(event) {
    event.preventDefault();
    const form = event.target;
    const note = $("#form-note");
    const error = $("#form-error");
    showError(error, null);
    note.hidden = true;
    let overrides;
    try {
      overrides = GK.parseOverrides($("#overrides").value);
    } catch (err) {
      showError(error, `overrides: ${err.message}`);
      return;
    }
    const body = { preset: $("#preset").value, overrides };
    const name = $("#run-name").value.trim();
    if (name) body.name = name;
    const button = $("#start");
    button.disabled = true;
    try {
      const made = await api("/api/runs", { method: "POST", body });
      pending.set(made.id, { id: made.id, name: name || made.id, preset: body.preset, since: Date.now(), started_here: true });
      note.replaceChildren("Started ", el("a", { href: runPage(made.id), text: made.id }));
      note.hidden = false;
      form.querySelector("#run-name").value = "";
      await poll();
    } catch (err) {
      showError(error, err);
    } finally {
      button.disabled = false;
    }
  }

  $("#new-run").addEventListener("submit", submit);
  loadPresets();
  loadStudies();
  poll();
  setInterval(poll, 2000);
})();

/* One run: header with stop/resume, live curves from the stream, sample grids, play panel, tables. */
"use strict";
(() => {
  const { el, $, api, fmt, badge, progress, showError, runApi } = GK;
  const id = GK.idFromPath("/run/");
  const rows = new GK.Rows();
  const state = { info: null, status: null, step: 0, steps: 0, grids: [], stream: null, play: null };

  /* A card per training chart of the registry (GET /api/units: losses, D's outputs, gradient norms,
     with every quantity registered on it), then one for the evaluation metrics. */
  const charts = [];
  function makeCharts() {
    const card = (name) => {
      const host = el("div", { id: `chart-${name}`, class: "chart" });
      $("#charts").append(el("section", { class: "card", dataset: { chartCard: "" }, hidden: true }, host));
      return host;
    };
    GK.units().charts.forEach((chart) => charts.push(new GK.Chart(card(chart.name), { name: chart.name, chart: chart.name })));
    charts.push(new GK.Chart(card("eval"), { name: "eval", title: "Evaluation metrics", prefix: "eval_" }));
  }
  let drawPending = false;
  function redraw() {
    if (drawPending) return;
    drawPending = true;
    requestAnimationFrame(() => {
      drawPending = false;
      charts.forEach((c) => c.update(rows.list));
      const last = rows.last;
      if (last && last.step > state.step) { state.step = last.step; header(); }
      if (last && last.step > state.steps && GK.live(state.status)) refreshInfo();  // a resume raised train.steps
    });
  }

  /* ---------- header ---------- */
  function header() {
    const info = state.info || {};
    document.title = `gankit lab: ${info.name || id}`;
    $("#run-name").textContent = info.name || id;
    $("#run-status").replaceChildren(badge(state.status));
    $("#run-progress").replaceChildren(progress(state.step, state.steps));
    const running = GK.live(state.status);
    $("#stop").hidden = !running;
    if (!running) { $("#stop").disabled = false; $("#stop").textContent = "Stop"; }
    $("#resume").hidden = running || !state.status;
    $("#resume-overrides").hidden = running || !state.status;
  }

  async function stop() {
    const button = $("#stop");
    button.disabled = true;
    try {
      await api(runApi(id, "/stop"), { method: "POST" });
      button.textContent = "Stopping…";
      showError($("#page-error"), null);
    } catch (err) {
      showError($("#page-error"), err);
      button.disabled = false;
    }
  }
  async function resume() {
    const button = $("#resume");
    let overrides;
    try { overrides = GK.parseOverrides($("#resume-overrides").value); } catch (err) {
      showError($("#page-error"), `resume: ${err.message}`);
      return;
    }
    button.disabled = true;
    try {
      await api(runApi(id, "/resume"), { method: "POST", body: { overrides } });
      showError($("#page-error"), null);
      state.status = "starting";
      header();
      setTimeout(() => { refreshInfo(); openStream(); }, 800);
    } catch (err) {
      showError($("#page-error"), err);
    } finally {
      button.disabled = false;
    }
  }

  /* ---------- sample grids ---------- */
  function showGrids(grids) {
    const slider = $("#grid-slider");
    const atEnd = state.grids.length === 0 || Number(slider.value) >= state.grids.length - 1;
    const changed = grids.join(",") !== state.grids.join(",");
    state.grids = grids;
    $("#grid-none").hidden = grids.length > 0;
    slider.disabled = grids.length < 2;
    slider.max = String(Math.max(0, grids.length - 1));
    if (atEnd && changed) slider.value = slider.max;
    showGrid();
  }
  /* A grid is fetched with the token and shown from a blob: URL; a newer choice aborts an older fetch. */
  const gridView = { step: null, url: null, controller: null };
  async function showGrid() {
    const slider = $("#grid-slider");
    const step = state.grids[Number(slider.value)];
    const img = $("#grid-img");
    if (step === undefined) { img.hidden = true; $("#grid-step").textContent = "–"; return; }
    $("#grid-step").textContent = `step ${fmt(step)}`;
    slider.setAttribute("aria-valuetext", `step ${step}`);
    if (gridView.step === step) return;
    gridView.step = step;
    if (gridView.controller) gridView.controller.abort();
    const controller = new AbortController();
    gridView.controller = controller;
    try {
      const url = await GK.image(runApi(id, `/grid/${encodeURIComponent(step)}.png`), controller.signal);
      if (controller !== gridView.controller) { URL.revokeObjectURL(url); return; }
      if (gridView.url) URL.revokeObjectURL(gridView.url);
      gridView.url = url;
      img.src = url;
      img.dataset.step = String(step);
      img.hidden = false;
      showError($("#grid-error"), null);
    } catch (err) {
      if (!GK.isAbort(err)) { gridView.step = null; showError($("#grid-error"), err); }
    }
  }

  /* ---------- info (config, tables, grids) ---------- */
  function showInfo(info) {
    const first = !state.info;
    state.info = info;
    state.status = info.status;
    state.step = Math.max(info.step || 0, first ? 0 : state.step);
    state.steps = info.steps;
    const bits = [info.kind, info.objective, info.z_dim ? `z ${info.z_dim}` : null,
                  info.prior, info.num_classes > 0 ? `${info.num_classes} classes` : null].filter(Boolean);
    $("#run-meta").textContent = bits.join(" · ");
    header();
    if (info.error) showError($("#page-error"), info.error);
    showGrids(info.grids || []);
    $("#loss-table").replaceChildren(GK.table(info.loss_table || []));
    $("#config").textContent = info.config ? GK.toYaml(info.config) : "";
    if (info.has_generator && !state.play) {
      $("#play-card").hidden = false;
      state.play = new GK.PlayPanel($("#play"), id, info);
    }
  }
  let infoBusy = false;
  async function refreshInfo() {
    if (infoBusy) return;
    infoBusy = true;
    try {
      showInfo(await api(runApi(id)));
    } catch (err) {
      showError($("#page-error"), err);
    } finally {
      infoBusy = false;
    }
  }

  /* ---------- metrics: stream, with a catch-up request when it ends ---------- */
  async function catchUp() {
    const last = rows.last;
    try {
      const body = await api(runApi(id, last ? `/metrics?after=${last.step}` : "/metrics"));
      rows.add(body.rows || []);
      redraw();
    } catch (err) {
      showError($("#page-error"), err);
    }
  }
  function closeStream() {
    if (state.stream) state.stream.close();
    state.stream = null;
  }
  function onRows(data) {
    if (data && Array.isArray(data.rows)) rows.set(data.rows);
    else if (data && typeof data.step === "number") rows.add([data]);
    else return;
    redraw();
  }
  function onStatus(data) {
    const changed = data.status !== state.status;
    state.status = data.status || state.status;
    if (typeof data.step === "number") state.step = Math.max(state.step, data.step);
    header();
    if (!GK.live(state.status)) {
      closeStream();
      catchUp();
      refreshInfo();
    } else if (changed) {
      refreshInfo();
    }
  }
  function openStream() {
    closeStream();
    const stream = GK.stream(runApi(id, "/stream"), {
      onEvent: ({ event, data }) => {
        let parsed;
        try { parsed = JSON.parse(data); } catch { return; }
        if (event === "status") onStatus(parsed); else onRows(parsed);
      },
      onEnd: () => {
        // A stream that ends on a run that no longer trains is done; a live one reconnects.
        if (state.stream !== stream) return;
        state.stream = null;
        catchUp();
        if (GK.live(state.status)) setTimeout(() => { if (!state.stream) openStream(); }, 2000);
      },
    });
    state.stream = stream;
  }

  /* While the run trains, the info (new grids, loss table, status) is fetched again every 5 s. */
  setInterval(() => { if (GK.live(state.status)) refreshInfo(); }, 5000);

  $("#stop").addEventListener("click", stop);
  $("#resume").addEventListener("click", resume);
  $("#resume-overrides").addEventListener("keydown", (e) => { if (e.key === "Enter") resume(); });
  $("#grid-slider").addEventListener("input", showGrid);
  GK.fitImage($("#grid-img"), 440, 560);

  (async () => {
    await GK.ready;
    makeCharts();
    await refreshInfo();
    if (state.info) openStream();
  })();
})();

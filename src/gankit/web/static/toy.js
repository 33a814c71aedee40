/* GAN Lab mode: a 2-D GAN trained on the server step by step, drawn over D's map. */
"use strict";
(() => {
  const { $, api, fmt, showError } = GK;
  const canvas = $("#field");
  const PLACING_EXTENT = [-5, 5, -5, 5];
  const toy = { state: null, id: null, centres: [], playing: false, changing: 0 };
  GK.toy = toy;  // for tests and the console
  const chart = new GK.Chart($("#toy-chart"), { name: "toy", chart: "losses", height: 300 });
  const losses = new GK.Rows();

  /* Requests to the toy session run one after the other, never overlapping. */
  let queue = Promise.resolve();
  function enqueue(task) {
    const result = queue.then(task);
    queue = result.catch(() => {});
    return result;
  }
  const error = (err) => showError($("#toy-error"), err);

  function settings() {
    return { loss: $("#loss").value, regularizer: $("#regularizer").value,
             g_lr: Number($("#g-lr").value), d_lr: Number($("#d-lr").value) };
  }
  function adopt(state) {
    toy.state = state;
    toy.id = state.id;
    $("#counter").textContent = fmt(state.step || 0);
    canvas.dataset.step = String(state.step || 0);
    const incoming = (state.losses || []).filter((r) => typeof r.step === "number");
    if (incoming.length) {
      // The answer may hold every loss so far or only the newest: keep older ones it lacks.
      const first = incoming[0].step;
      losses.list = losses.list.filter((r) => r.step < first);
      losses.add(incoming);
    }
    chart.update(losses.list);
    const s = toy.changing ? {} : state.settings || {};  // a change on its way wins over older answers
    if (s.loss) $("#loss").value = s.loss;
    if (s.regularizer) $("#regularizer").value = s.regularizer;
    if (s.g_lr != null && document.activeElement !== $("#g-lr")) $("#g-lr").value = s.g_lr;
    if (s.d_lr != null && document.activeElement !== $("#d-lr")) $("#d-lr").value = s.d_lr;
    draw();
    if (state.diverged) { pause(); error(state.diverged); }
  }

  /* ---------- session ---------- */
  function forget() {
    if (toy.id) {
      const old = toy.id;
      fetch(`/api/toy/${encodeURIComponent(old)}`, { method: "DELETE", credentials: "omit", keepalive: true,
                                                     headers: GK.writeHeadersNow() }).catch(() => {});
    }
    toy.id = null;
    toy.state = null;
  }
  async function start() {
    pause();
    const mixture = $("#mixture").value;
    if (mixture === "custom" && !toy.centres.length) {
      error("place at least one centre on the field first");
      return;
    }
    const body = Object.assign({ mixture, seed: Number($("#seed").value) || 0 }, settings());
    if (mixture === "custom") body.points = toy.centres.map((p) => [p[0], p[1]]);
    await enqueue(async () => {
      forget();
      losses.set([]);
      try {
        adopt(await api("/api/toy", { method: "POST", body }));
        error(null);
        setPlacing(false);
      } catch (err) {
        error(err);
        draw();
      }
    });
  }
  async function step(steps) {
    if (!toy.id) return false;
    try {
      const state = await api(`/api/toy/${encodeURIComponent(toy.id)}/step`, { method: "POST", body: { steps } });
      if (!state.diverged) error(null);
      adopt(state);
      return !state.diverged;
    } catch (err) {
      error(err);
      return false;
    }
  }
  async function pushSettings() {
    if (!toy.id) return;
    const note = $("#settings-note");
    const body = settings();  // as chosen now: an answer arriving before it is sent must not undo it
    toy.changing += 1;
    await enqueue(async () => {
      toy.changing -= 1;
      if (!toy.id) return;
      try {
        adopt(await api(`/api/toy/${encodeURIComponent(toy.id)}/settings`, { method: "POST", body }));
        note.textContent = `settings applied at step ${fmt(toy.state.step)}`;
        error(null);
      } catch (err) {
        error(err);
      }
    });
  }

  /* ---------- play ---------- */
  function setPlayButton() {
    const button = $("#play");
    button.setAttribute("aria-pressed", String(toy.playing));
    button.textContent = toy.playing ? "Pause" : "Play";
  }
  function pause() { toy.playing = false; setPlayButton(); }
  async function play() {
    if (toy.playing) { pause(); return; }
    if (!toy.id) await start();
    if (!toy.id) return;
    toy.playing = true;
    setPlayButton();
    while (toy.playing && toy.id) {
      const perFrame = Math.max(1, Math.min(200, Number($("#per-frame").value) || 5));
      const ok = await enqueue(() => step(perFrame));
      if (!ok) { pause(); break; }
      await new Promise((resolve) => requestAnimationFrame(resolve));
    }
  }

  /* ---------- drawing ---------- */
  function extent() {
    const heat = toy.state && toy.state.heat;
    if (heat && Array.isArray(heat.extent) && heat.extent.length === 4) return heat.extent;
    const pts = toy.state ? (toy.state.real || []).concat(toy.state.fake || []) : [];
    if (!pts.length || $("#mixture").value === "custom" && !toy.state) return PLACING_EXTENT;
    let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
    pts.forEach(([x, y]) => { x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); });
    const pad = 0.1 * Math.max(x1 - x0, y1 - y0, 1);
    return [x0 - pad, x1 + pad, y0 - pad, y1 + pad];
  }
  /* D's output t in [0, 1]: 0 "fake" (purple) through white to 1 "real" (green), kept light. */
  function colour(t) {
    const lo = [123, 50, 148], mid = [247, 247, 247], hi = [0, 136, 55];
    const [a, b, u] = t < 0.5 ? [lo, mid, t * 2] : [mid, hi, (t - 0.5) * 2];
    return a.map((c, i) => Math.round(0.45 * 255 + 0.55 * (c + (b[i] - c) * u)));
  }
  function heatRange(values) {
    let lo = Infinity, hi = -Infinity;
    for (const v of values) { if (v < lo) lo = v; if (v > hi) hi = v; }
    if (lo >= 0 && hi <= 1) return [0, 1];
    return hi > lo ? [lo, hi] : [lo - 1, hi + 1];
  }
  function drawScale(range) {
    const scale = $("#heat-scale"), ctx = scale.getContext("2d");
    for (let x = 0; x < scale.width; x++) {
      ctx.fillStyle = `rgb(${colour(x / (scale.width - 1)).join(",")})`;
      ctx.fillRect(x, 0, 1, scale.height);
    }
    $("#heat-low").textContent = range ? `fake ${fmt(range[0])}` : "fake";
    $("#heat-high").textContent = range ? `${fmt(range[1])} real` : "real";
  }
  function niceStep(span) {
    const raw = span / 8, p = 10 ** Math.floor(Math.log10(raw));
    return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw);
  }
  function draw() {
    const size = Math.round((canvas.clientWidth || 560) * (window.devicePixelRatio || 1));
    if (canvas.width !== size) { canvas.width = size; canvas.height = size; }
    const ctx = canvas.getContext("2d");
    const [x0, x1, y0, y1] = extent();
    const px = (x) => ((x - x0) / (x1 - x0)) * size;
    const py = (y) => size - ((y - y0) / (y1 - y0)) * size;
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, size, size);

    const heat = toy.state && toy.state.heat;
    if (heat && heat.size > 0 && heat.values && heat.values.length === heat.size * heat.size) {
      const n = heat.size, range = heatRange(heat.values);
      const off = document.createElement("canvas");
      off.width = n; off.height = n;
      const octx = off.getContext("2d"), img = octx.createImageData(n, n);
      for (let j = 0; j < n; j++) {          // row j of the values is y0 + j (upwards)
        for (let i = 0; i < n; i++) {
          const t = (heat.values[j * n + i] - range[0]) / (range[1] - range[0]);
          const [r, g, b] = colour(Math.max(0, Math.min(1, t)));
          const k = ((n - 1 - j) * n + i) * 4;  // canvas rows go downwards
          img.data[k] = r; img.data[k + 1] = g; img.data[k + 2] = b; img.data[k + 3] = 255;
        }
      }
      octx.putImageData(img, 0, 0);
      ctx.imageSmoothingEnabled = true;
      const [hx0, hx1, hy0, hy1] = heat.extent || [x0, x1, y0, y1];
      ctx.drawImage(off, px(hx0), py(hy1), px(hx1) - px(hx0), py(hy0) - py(hy1));
      drawScale(range);
    } else {
      drawScale(null);
    }

    // axes: a light grid with labels
    const dpr = size / (canvas.clientWidth || size);
    ctx.strokeStyle = "rgba(0,0,0,.08)";
    ctx.fillStyle = "rgba(0,0,0,.45)";
    ctx.lineWidth = 1;
    ctx.font = `${11 * dpr}px system-ui, sans-serif`;
    const gs = niceStep(Math.max(x1 - x0, y1 - y0));
    for (let x = Math.ceil(x0 / gs) * gs; x <= x1; x += gs) {
      ctx.beginPath(); ctx.moveTo(px(x), 0); ctx.lineTo(px(x), size); ctx.stroke();
      ctx.fillText(fmt(Number(x.toFixed(6))), px(x) + 2 * dpr, size - 4 * dpr);
    }
    for (let y = Math.ceil(y0 / gs) * gs; y <= y1; y += gs) {
      ctx.beginPath(); ctx.moveTo(0, py(y)); ctx.lineTo(size, py(y)); ctx.stroke();
      ctx.fillText(fmt(Number(y.toFixed(6))), 3 * dpr, py(y) - 3 * dpr);
    }

    const dot = (pts, fill, r) => {
      ctx.fillStyle = fill;
      ctx.beginPath();
      for (const [x, y] of pts) { ctx.moveTo(px(x) + r, py(y)); ctx.arc(px(x), py(y), r, 0, 2 * Math.PI); }
      ctx.fill();
    };
    if (toy.state) {
      dot(toy.state.real || [], "rgba(0,0,0,.75)", 1.8 * dpr);
      dot(toy.state.fake || [], "rgba(255,127,14,.9)", 2.2 * dpr);
    }
    if (canvas.classList.contains("placing")) {
      ctx.strokeStyle = "#000";
      ctx.lineWidth = 2 * dpr;
      for (const [x, y] of toy.centres) {
        const r = 6 * dpr;
        ctx.beginPath();
        ctx.moveTo(px(x) - r, py(y)); ctx.lineTo(px(x) + r, py(y));
        ctx.moveTo(px(x), py(y) - r); ctx.lineTo(px(x), py(y) + r);
        ctx.stroke();
      }
    }
  }

  /* ---------- custom mixture: click to place centres ---------- */
  function setPlacing(on) {
    canvas.classList.toggle("placing", on);
    $("#placing-hint").hidden = !on;
    $("#start").textContent = on ? "Start" : "Restart";
  }
  canvas.addEventListener("click", (event) => {
    if (!canvas.classList.contains("placing")) return;
    const rect = canvas.getBoundingClientRect();
    const [x0, x1, y0, y1] = PLACING_EXTENT;
    const x = x0 + ((event.clientX - rect.left) / rect.width) * (x1 - x0);
    const y = y1 - ((event.clientY - rect.top) / rect.height) * (y1 - y0);
    const near = toy.centres.findIndex(([cx, cy]) => Math.hypot(cx - x, cy - y) < 0.25);
    if (near >= 0) toy.centres.splice(near, 1);
    else toy.centres.push([Number(x.toFixed(2)), Number(y.toFixed(2))]);
    draw();
  });
  $("#clear-centres").addEventListener("click", () => { toy.centres = []; draw(); });

  $("#mixture").addEventListener("change", () => {
    if ($("#mixture").value === "custom") {
      pause();
      enqueue(async () => { forget(); losses.set([]); chart.update([]); $("#counter").textContent = "0"; });
      setPlacing(true);
      queue.then(draw);
    } else {
      setPlacing(false);
      start();
    }
  });
  $("#start").addEventListener("click", start);
  $("#play").addEventListener("click", play);
  $("#step").addEventListener("click", () => { pause(); enqueue(() => step(1)); });
  ["#loss", "#regularizer", "#g-lr", "#d-lr"].forEach((sel) => $(sel).addEventListener("change", pushSettings));
  window.addEventListener("resize", GK.debounce(draw, 100));
  window.addEventListener("pagehide", forget);

  /** The loss picker: every registered loss, described by its docstring's first line. */
  function fillLosses() {
    const select = $("#loss");
    const losses = GK.units().losses || {};
    select.replaceChildren(...Object.entries(losses).map(([name, loss]) =>
      GK.el("option", { value: name, text: name, title: loss.description || "" })));
    if (select.dataset.default in losses) select.value = select.dataset.default;
  }

  draw();
  GK.ready.then(() => { fillLosses(); start(); });
})();

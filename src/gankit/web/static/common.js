/* gankit serve: what every page shares.
 *
 * The token (kept in this tab's session storage, sent as a header with every request), GK.api
 * (JSON requests whose errors are one line), GK.image (pictures fetched with the token),
 * GK.stream (the server-sent events of a run, fetched with the token), GK.el (DOM building),
 * formatting, the status badge and progress bar, GK.Chart (a uPlot chart fed with metrics rows)
 * and GK.PlayPanel (sampling a run's generator: prior, seed, class, count, interpolation).
 * A classic script: it defines the global GK and nothing else.
 */
"use strict";

const GK = (() => {
  const enc = encodeURIComponent;

  /* ---------- addresses ---------- */
  const runApi = (id, rest = "") => `/api/runs/${enc(id)}${rest}`;
  const runPage = (id) => `/run/${enc(id)}`;
  const studyPage = (name) => `/study/${enc(name)}`;
  /** The {id} of a page's path /prefix/{id}, decoded. */
  function idFromPath(prefix) {
    const rest = location.pathname.slice(prefix.length).replace(/\/+$/, "");
    try { return decodeURIComponent(rest); } catch { return rest; }
  }

  /* ---------- the token ----------
     Nothing the browser sends by itself opens the API: no cookie (a host's cookies reach every
     port of it, so any local account's web server would receive one). The address gankit serve
     prints carries the token after "#" (never sent to a server); the page moves it into this
     tab's session storage (no other port's page can read it) and cleans the address bar. A tab
     opened later asks the lab's other tabs for it (a BroadcastChannel reaches this origin only),
     or asks the person for it. */
  const TOKEN_KEY = "gankit-token";
  const channel = typeof BroadcastChannel === "function" ? new BroadcastChannel("gankit-token") : null;
  let token = "";
  function tokenFromAddress() {
    const hash = new URLSearchParams(location.hash.slice(1));
    const query = new URLSearchParams(location.search);
    const given = hash.get("token") || query.get("token");
    if (hash.has("token") || query.has("token")) {
      query.delete("token");
      const search = query.toString();
      history.replaceState(null, "", location.pathname + (search ? `?${search}` : ""));
    }
    return given || "";
  }
  function keepToken(value) {
    token = value || "";
    try {
      if (token) sessionStorage.setItem(TOKEN_KEY, token); else sessionStorage.removeItem(TOKEN_KEY);
    } catch { /* storage refused: the token lives as long as the page */ }
  }
  function storedToken() {
    try { return sessionStorage.getItem(TOKEN_KEY) || ""; } catch { return ""; }
  }
  if (channel) {
    channel.onmessage = (event) => {
      if (event.data && event.data.ask && token) channel.postMessage({ token });
    };
  }
  function askOtherTabs(ms) {
    if (!channel) return Promise.resolve("");
    return new Promise((resolve) => {
      const listener = (event) => {
        if (event.data && typeof event.data.token === "string") { finish(event.data.token); }
      };
      const finish = (value) => { channel.removeEventListener("message", listener); clearTimeout(timer); resolve(value); };
      const timer = setTimeout(() => finish(""), ms);
      channel.addEventListener("message", listener);
      channel.postMessage({ ask: true });
    });
  }
  /** A form at the top of the page that asks for the token (when this tab has none, or it was refused). */
  let signInShown = null;
  function askPerson(why) {
    if (signInShown) return signInShown;
    signInShown = new Promise((resolve) => {
      const show = () => {
        const input = el("input", { type: "password", id: "token-input", autocomplete: "off", "aria-label": "token",
                                    placeholder: "the token gankit serve printed" });
        const form = el("form", { id: "sign-in", class: "card sign-in" },
          el("p", { text: why }),
          el("p", { class: "muted small", text: "Open the address gankit serve printed (it ends in #token=...), or paste "
                                                 + "its token here. The page keeps it in this tab only." }),
          el("div", { class: "row" }, input, el("button", { type: "submit", text: "Open the lab" })));
        form.addEventListener("submit", (event) => {
          event.preventDefault();
          if (!input.value.trim()) return;
          keepToken(input.value.trim());
          form.remove();
          signInShown = null;
          resolve(token);
        });
        (document.querySelector("main") || document.body).prepend(form);
        input.focus();
      };
      if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", show); else show();
    });
    return signInShown;
  }
  /** The token of a tab that has none yet: another tab's, none for a server without one, or the person's. */
  async function findToken() {
    const found = await askOtherTabs(400);
    if (found) { keepToken(found); return found; }
    try {
      if ((await fetch("/api/units", { credentials: "omit" })).ok) return "";  // gankit serve --no-token
    } catch { /* unreachable: the requests will say so */ }
    return askPerson("This page needs the lab's token.");
  }
  keepToken(tokenFromAddress() || storedToken());
  let tokenReady = token ? Promise.resolve(token) : findToken();
  /** The headers that carry the token. */
  const authorization = () => (token ? { Authorization: `Bearer ${token}` } : {});

  /* ---------- requests ---------- */
  class ApiError extends Error {
    constructor(message, status) { super(message); this.status = status; }
  }
  /** First non-empty line of a message, so a page never shows a stack trace. */
  function oneLine(text) {
    const line = String(text).split(/\r?\n/).map((s) => s.trim()).find(Boolean) || "error";
    return line.length > 300 ? line.slice(0, 297) + "..." : line;
  }
  async function errorOf(resp) {
    let text = "";
    try { text = await resp.text(); } catch { /* body unreadable */ }
    try {
      const body = JSON.parse(text);
      if (body && body.error != null) return new ApiError(oneLine(body.error), resp.status);
    } catch { /* not JSON */ }
    return new ApiError(`${resp.status} ${resp.statusText || "error"} (${resp.url.replace(location.origin, "")})`, resp.status);
  }
  /** The headers of a request that changes something (JSON, with the token), for a page-hide request. */
  const writeHeadersNow = () => ({ "Content-Type": "application/json", ...authorization() });
  /* Every request carries the token in its Authorization header and no cookie; a refused token
     (the server restarted with a new one) is forgotten and asked for again. */
  async function send(path, { method = "GET", body, signal, accept = "application/json" } = {}) {
    for (;;) {
      await tokenReady;
      const opts = { method, credentials: "omit", signal, headers: { Accept: accept, ...authorization() } };
      if (method !== "GET" && method !== "HEAD") Object.assign(opts.headers, writeHeadersNow());
      if (body !== undefined) opts.body = JSON.stringify(body);
      let resp;
      try {
        resp = await fetch(path, opts);
      } catch (err) {
        if (err.name === "AbortError") throw err;
        throw new ApiError("the server cannot be reached", 0);
      }
      if (resp.status === 401 && token) {
        keepToken("");
        tokenReady = askPerson("The server refused this tab's token (it may have been restarted with a new one).");
        continue;
      }
      if (!resp.ok) throw await errorOf(resp);
      return resp;
    }
  }
  /**
   * A run's server-sent events, fetched with the token (an EventSource cannot send a header):
   * onEvent({event, data}) for each event; onEnd(error) once, when the stream ends or fails
   * (not after close()). Returns {close()}.
   */
  function stream(path, { onEvent, onEnd }) {
    const controller = new AbortController();
    let closed = false;
    (async () => {
      let failure = null;
      try {
        const resp = await send(path, { signal: controller.signal, accept: "text/event-stream" });
        const reader = resp.body.getReader();
        const decoder = new TextDecoder();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, { stream: true });
          const blocks = buffer.split(/\r?\n\r?\n/);
          buffer = blocks.pop();
          for (const block of blocks) {
            let event = "message";
            const data = [];
            for (const line of block.split(/\r?\n/)) {
              if (line.startsWith("event:")) event = line.slice(6).trim();
              else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
            }
            if (data.length) onEvent({ event, data: data.join("\n") });
          }
        }
      } catch (err) {
        failure = err;
      }
      if (!closed && !isAbort(failure)) onEnd(failure);
    })();
    return { close() { closed = true; controller.abort(); } };
  }
  /** A JSON request; throws ApiError whose message is the server's one-line error. */
  async function api(path, opts = {}) {
    const resp = await send(path, opts);
    const text = await resp.text();
    if (!text) return {};
    try { return JSON.parse(text); } catch { throw new ApiError("the server's answer is not JSON", resp.status); }
  }
  /** A picture as an object URL (the caller revokes it), errors as for api(). */
  async function image(path, signal) {
    const resp = await send(path, { signal, accept: "image/png,image/*" });
    return URL.createObjectURL(await resp.blob());
  }
  const isAbort = (err) => err && err.name === "AbortError";

  /* ---------- DOM ---------- */
  /** el("a", {href, class, text, onclick}, ...children) */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value == null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key === "dataset") Object.assign(node.dataset, value);
      else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
      else if (key === "value") node.value = value;
      else if (value === true) node.setAttribute(key, "");
      else node.setAttribute(key, value);
    }
    for (const child of children.flat(Infinity)) {
      if (child == null || child === false) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }
  const $ = (selector, root = document) => root.querySelector(selector);
  /** Show a picture at an integer zoom (or shrunk) to fit maxW x maxH: small grids are blown up, pixelated. */
  function fitImage(img, maxW, maxH) {
    const fit = () => {
      const w = img.naturalWidth, h = img.naturalHeight;
      if (!w || !h) return;
      const scale = Math.min(maxW / w, maxH / h);
      img.style.width = `${Math.round(w * (scale >= 1 ? Math.floor(scale) : scale))}px`;
    };
    img.addEventListener("load", fit);
    fit();
  }

  /** Show a one-line error in `node` (hidden when message is empty). */
  function showError(node, err) {
    if (!node) return;
    const message = err ? oneLine(err.message || err) : "";
    node.textContent = message;
    node.title = message;
    node.hidden = !message;
  }

  /* ---------- formatting ---------- */
  function fmt(value) {
    if (value == null || value === "") return "–";
    if (typeof value !== "number") return String(value);
    if (!Number.isFinite(value)) return String(value);
    if (Number.isInteger(value) && Math.abs(value) < 1e6) return String(value);
    const abs = Math.abs(value);
    if (abs >= 1000 && abs < 1e6) return String(Math.round(value));
    if (abs !== 0 && (abs < 1e-3 || abs >= 1e5)) return value.toExponential(2);
    return String(Number(value.toPrecision(4)));
  }
  /* ---------- labels and priors, from the registries (GET /api/units) ---------- */
  let UNITS = { quantities: {}, charts: [], losses: {}, priors: {} };
  let unitsVersion = 0;
  /** Resolves once the labels are loaded (or could not be: names then stand for themselves). */
  const ready = api("/api/units").then((units) => {
    UNITS = units;
    unitsVersion += 1;
    Object.values(charts).forEach((chart) => chart.redraw());
    document.querySelectorAll("[data-quantity]").forEach((cell) => {
      const quantity = UNITS.quantities[cell.dataset.quantity];
      if (quantity) Object.assign(cell, { textContent: quantity.short || quantity.label, title: quantity.description });
    });
  }).catch(() => {});
  /** A logged quantity's short label: "d_real" -> "D real", "eval_image_fd" -> "image FD". */
  function label(key) {
    const name = key.replace(/^eval_/, "");
    const quantity = UNITS.quantities[name];
    return quantity ? quantity.short || quantity.label : name;
  }
  /** An evaluation metric's name for people: eval_fid -> FID. */
  const metricName = (key) => label(key);

  /** Whether a run with this status trains (or is about to). */
  const live = (status) => status === "running" || status === "starting";
  function badge(status) {
    return el("span", { class: `badge ${status || ""}`, dataset: { status: status || "" }, text: status || "?" });
  }
  function progress(step, steps) {
    const frac = steps > 0 ? Math.max(0, Math.min(1, step / steps)) : 0;
    const fill = el("span");
    fill.style.width = `${(frac * 100).toFixed(1)}%`;
    return el("div", { class: "progress" },
      el("span", { class: "txt", dataset: { step: step ?? "" }, text: `${fmt(step ?? 0)} / ${fmt(steps ?? 0)}` }),
      el("div", { class: "bar", role: "progressbar", "aria-valuemin": 0, "aria-valuemax": steps || 0,
                  "aria-valuenow": step || 0 }, fill));
  }

  /** Lines (or space-separated pairs) of key=value into an object; values parsed as JSON when they parse. */
  function parseOverrides(text) {
    const out = {};
    const pieces = String(text).split(/\r?\n|\s+(?=[\w.-]+=)/);
    pieces.forEach((raw) => {
      const line = raw.trim();
      if (!line || line.startsWith("#")) return;
      const eq = line.indexOf("=");
      if (eq <= 0) throw new Error(`"${line}" is not key=value`);
      const key = line.slice(0, eq).trim();
      const valueText = line.slice(eq + 1).trim();
      let value = valueText;
      try { value = JSON.parse(valueText); } catch { /* a plain string */ }
      out[key] = value;
    });
    return out;
  }

  /** A config object as indented YAML-like text. */
  function yamlish(value, indent = "") {
    const scalar = (v) => {
      if (v === null || v === undefined) return "null";
      if (typeof v === "string") return /^[\w.\-/()+,: ]*$/.test(v) && v !== "" && !/^(true|false|null|[-\d.e+]+)$/i.test(v)
        ? v : JSON.stringify(v);
      return String(v);
    };
    if (Array.isArray(value)) {
      if (value.every((v) => v === null || typeof v !== "object")) return `[${value.map(scalar).join(", ")}]`;
      return value.map((v) => `\n${indent}- ${yamlish(v, indent + "  ").replace(/^\n\s*/, "")}`).join("");
    }
    if (value && typeof value === "object") {
      const keys = Object.keys(value);
      if (!keys.length) return "{}";
      return keys.map((k) => {
        const v = value[k];
        const nested = v && typeof v === "object" && !(Array.isArray(v) && v.every((x) => x === null || typeof x !== "object"));
        return `\n${indent}${k}:${nested ? yamlish(v, indent + "  ") : " " + yamlish(v, indent + "  ")}`;
      }).join("");
    }
    return scalar(value);
  }
  const toYaml = (obj) => yamlish(obj).replace(/^\n/, "");

  /** A table of row objects; columns are the union of the rows' keys. */
  function table(rows, { columns } = {}) {
    if (!rows || !rows.length) return el("p", { class: "empty", text: "no rows yet" });
    const cols = columns || [...new Set(rows.flatMap((r) => Object.keys(r)))];
    return el("table", {},
      el("thead", {}, el("tr", {}, cols.map((c) => el("th", { class: "num", text: c })))),
      el("tbody", {}, rows.map((r) => el("tr", {}, cols.map((c) => el("td", { class: "num", text: fmt(r[c]) }))))));
  }

  /* ---------- charts ---------- */
  const COLORS = {
    d_real: "#1f77b4", d_fake: "#d62728", g_loss: "#ff7f0e", d_loss: "#7f7f7f",
    d_x: "#1f77b4", d_g_z: "#d62728",
  };
  const PALETTE = ["#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#1f77b4", "#d62728"];
  const charts = {};  // by name, for tests and the console

  /** Whether a row's value says something: a finite number other than 0 (a penalty logged as 0
      without a regularizer does not). */
  const saysSomething = (value) => typeof value === "number" && Number.isFinite(value) && value !== 0;

  /**
   * A uPlot chart of some keys of metrics rows against "step".
   * chart: a chart of the registry (GET /api/units): its title, its axis and the quantities registered
   * on it that the rows hold (a loss's own, such as the Wasserstein estimate, dashed); or
   * keys: [{key, label, color}]; or prefix: "eval_" (one series per key with that prefix, found in the rows).
   * The host is hidden until some row has a value for one of the keys.
   */
  class Chart {
    constructor(host, { name, title = "", chart = null, keys = [], prefix = null, height = 230, yLabel = "" }) {
      this.host = host;
      this.title = title;
      this.chart = chart;
      this.keys = keys;
      this.prefix = prefix;
      this.height = height;
      this.yLabel = yLabel;
      this.plot = null;
      this.signature = "";
      this.name = name;
      if (name) charts[name] = this;
      if (typeof ResizeObserver === "function") {
        new ResizeObserver(() => this.resize()).observe(host);
      }
    }
    /** The registry's facts of this chart (title, axis), once the units are loaded. */
    facts() { return UNITS.charts.find((c) => c.name === this.chart) || {}; }
    seriesKeys(rows) {
      if (this.chart) {
        const found = new Set();
        rows.forEach((r) => Object.keys(r).forEach((k) => { if (saysSomething(r[k])) found.add(k); }));
        return Object.entries(UNITS.quantities).filter(([k, q]) => q.chart === this.chart && found.has(k))
          .map(([k, q]) => ({ key: k, dash: q.derived }));
      }
      if (!this.prefix) return this.keys;
      const found = new Set();
      rows.forEach((r) => Object.keys(r).forEach((k) => {
        if (k.startsWith(this.prefix) && typeof r[k] === "number") found.add(k);
      }));
      return [...found].sort().map((k, i) => ({ key: k, color: PALETTE[i % PALETTE.length] }));
    }
    /** Draw the last rows again (the labels have changed). */
    redraw() { if (this.rows) this.update(this.rows); }
    width() { return Math.max(200, this.host.clientWidth || this.host.parentElement.clientWidth || 600); }
    /** Draw these rows (sorted by step); cheap to call often. */
    update(rows) {
      this.rows = rows;
      const keys = this.seriesKeys(rows);
      const used = rows.filter((r) => keys.some((k) => typeof r[k.key] === "number"));
      const card = this.host.closest("[data-chart-card]") || this.host;
      card.hidden = used.length === 0;
      if (!used.length) return;
      const data = [used.map((r) => r.step)].concat(keys.map((k) => used.map((r) => (typeof r[k.key] === "number" && Number.isFinite(r[k.key]) ? r[k.key] : null))));
      const signature = keys.map((k) => k.key).join(",") + `@${unitsVersion}`;
      if (!this.plot || signature !== this.signature) {
        if (this.plot) this.plot.destroy();
        this.signature = signature;
        this.plot = new uPlot({
          title: this.title || this.facts().title || "",
          width: this.width(),
          height: this.height,
          scales: { x: { time: false } },
          cursor: { drag: { x: true, y: false } },
          axes: [{ label: "step" }, { label: this.yLabel || this.facts().axis || "", size: 60 }],
          series: [{ label: "step" }].concat(keys.map((k, i) => ({
            label: k.label || label(k.key), stroke: k.color || COLORS[k.key] || PALETTE[i % PALETTE.length],
            width: 1.5, spanGaps: true, dash: k.dash ? [6, 4] : undefined,
          }))),
        }, data, this.host);
      } else {
        this.plot.setData(data);
      }
    }
    resize() {
      if (this.plot && !this.host.hidden) {
        const w = this.width();
        if (Math.abs(w - this.plot.width) > 2) this.plot.setSize({ width: w, height: this.height });
      }
    }
    /** Number of data series (without the x axis). */
    get seriesCount() { return this.plot ? this.plot.series.length - 1 : 0; }
  }

  /** Rows kept sorted and unique by step: add() appends or replaces, set() starts over. */
  class Rows {
    constructor() { this.list = []; }
    set(rows) { this.list = []; this.add(rows); }
    add(rows) {
      for (const row of rows) {
        if (!row || typeof row.step !== "number") continue;
        const last = this.list[this.list.length - 1];
        if (!last || row.step > last.step) this.list.push(row);
        else {
          const i = this.list.findIndex((r) => r.step >= row.step);
          if (this.list[i].step === row.step) this.list[i] = Object.assign({}, this.list[i], row);
          else this.list.splice(i, 0, row);
        }
      }
    }
    get last() { return this.list[this.list.length - 1]; }
  }

  /* ---------- debounce ---------- */
  function debounce(fn, ms) {
    let timer = 0;
    return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
  }

  /* ---------- play panel ---------- */
  /** The prior families the server knows: {name: [{name, default, low, high, step}]}. */
  function priorFamilies() {
    const families = {};
    for (const [name, family] of Object.entries(UNITS.priors || {})) {
      families[name] = family.parameters.map((p) => ({
        name: p.name, min: p.low, max: p.high, step: p.step, value: p.default === null ? (p.low + p.high) / 2 : p.default,
      }));
    }
    return families;
  }
  const COUNTS = { images: [16, 36, 64, 100], sequences: [4, 8, 16, 32], points: [64, 256, 1024, 2048] };

  /** "normal(0,1)" -> {family: "normal", params: [0, 1]} (null if it does not parse). */
  function parsePrior(text) {
    const m = /^\s*([a-z]+)\s*\(([^)]*)\)\s*$/.exec(text || "");
    const specs = priorFamilies()[m ? m[1] : ""];
    if (!specs) return null;
    const params = m[2].split(",").map((s) => Number(s.trim())).filter((x) => Number.isFinite(x));
    while (params.length < specs.length && UNITS.priors[m[1]].parameters[params.length].default !== null) {
      params.push(UNITS.priors[m[1]].parameters[params.length].default);
    }
    return params.length === specs.length ? { family: m[1], params } : null;
  }
  /** A slider with a number box beside it; both edit one value. */
  function numberSlider({ name, min, max, step, value }, onChange) {
    const range = el("input", { type: "range", min, max, step, value, "aria-label": name, class: `p-${name}` });
    const box = el("input", { type: "number", step, value, "aria-label": `${name} value` });
    range.addEventListener("input", () => { box.value = range.value; onChange(); });
    box.addEventListener("input", () => { if (box.value !== "" && Number.isFinite(Number(box.value))) { range.value = box.value; onChange(); } });
    return { row: el("div", { class: "param" }, el("label", { text: name }), range, box), get: () => Number(box.value), range, box };
  }

  /**
   * Sampling a run's generator: a prior family with its parameters, a seed, a class (conditional
   * runs), a count; the picture follows the controls (50 ms debounce, a stale request is aborted).
   * Under it, an interpolation between two seeds, animated frame by frame.
   */
  class PlayPanel {
    constructor(host, runId, info) {
      this.host = host;
      this.runId = runId;
      this.info = info;
      this.controller = null;
      this.url = null;
      this.params = [];
      this.build();
      this.refresh = debounce(() => this.load(), 50);
      this.refreshStrip = debounce(() => this.loadStrip(), 150);
      this.load();
      this.loadStrip();
    }
    build() {
      const info = this.info;
      const prior = parsePrior(info.prior) || { family: "normal", params: [0, 1] };
      this.family = el("select", { "aria-label": "prior family", class: "prior-family" },
        Object.keys(priorFamilies()).map((f) => el("option", { value: f, text: f, selected: f === prior.family })));
      this.paramsHost = el("div", { class: "params" });
      this.priorText = el("div", { class: "prior-text mono" });
      this.family.addEventListener("change", () => { this.buildParams(null); this.refresh(); });
      this.buildParams(prior.family === this.family.value ? prior.params : null);

      this.seed = numberSlider({ name: "seed", min: 0, max: 999, step: 1, value: 0 }, () => this.refresh());
      this.seed.range.classList.add("seed");
      this.label = null;
      if (info.num_classes > 0) {
        this.label = el("select", { "aria-label": "class", class: "label" },
          el("option", { value: "", text: "all" }),
          Array.from({ length: info.num_classes }, (_, i) => el("option", { value: String(i), text: String(i) })));
        this.label.addEventListener("change", () => { this.refresh(); this.refreshStrip(); });
      }
      const counts = COUNTS[info.kind] || COUNTS.images;
      const initial = counts.includes(64) ? 64 : counts[1];
      this.count = el("select", { "aria-label": "count", class: "count" },
        counts.map((n) => el("option", { value: String(n), text: String(n), selected: n === initial })));
      this.count.addEventListener("change", () => this.refresh());
      this.raw = el("input", { type: "checkbox", class: "raw" });
      this.raw.addEventListener("change", () => this.refresh());

      this.img = el("img", { class: "samples", alt: "samples from the generator" });
      fitImage(this.img, 420, 480);
      this.error = el("div", { class: "error", hidden: true });

      const a = el("input", { type: "number", min: 0, step: 1, value: 0, "aria-label": "seed A", class: "seed-a" });
      const b = el("input", { type: "number", min: 0, step: 1, value: 1, "aria-label": "seed B", class: "seed-b" });
      const frames = el("select", { "aria-label": "frames", class: "frames" },
        [8, 16, 32].map((n) => el("option", { value: String(n), text: `${n} frames`, selected: n === 16 })));
      [a, b, frames].forEach((c) => c.addEventListener("input", () => this.refreshStrip()));
      this.strip = { a, b, frames };
      this.playButton = el("button", { type: "button", class: "secondary interp-play", "aria-pressed": "true", text: "Pause",
                                        onclick: () => this.toggleAnimation() });
      this.frameCanvas = el("canvas", { class: "frame", width: 160, height: 160, "aria-label": "current interpolation frame" });
      this.stripImg = el("img", { class: "strip", alt: "interpolation strip" });
      fitImage(this.stripImg, 640, 120);
      this.highlight = el("div", { class: "highlight", hidden: true });
      this.frameLabel = el("span", { class: "muted small frame-label" });
      this.stripError = el("div", { class: "error", hidden: true });

      const controls = el("div", { class: "controls" },
        el("div", { class: "field" }, el("label", { text: "prior" }), this.family), this.paramsHost, this.priorText,
        this.seed.row,
        el("div", { class: "row" },
          this.label && el("div", { class: "field" }, el("label", { text: "class" }), this.label),
          el("div", { class: "field" }, el("label", { text: "count" }), this.count),
          el("label", { class: "row", title: "the generator's raw weights instead of the moving average" }, this.raw, "raw G")));
      this.host.replaceChildren(
        el("div", { class: "play" }, controls, el("div", {}, this.img, this.error)),
        el("div", { class: "interp" },
          el("h3", { text: "Latent interpolation" }),
          el("div", { class: "row" },
            el("div", { class: "field" }, el("label", { text: "seed A" }), a),
            el("div", { class: "field" }, el("label", { text: "seed B" }), b),
            el("div", { class: "field" }, el("label", { text: "frames" }), frames),
            this.playButton, this.frameLabel),
          el("div", { class: "row" }, this.frameCanvas),
          el("div", { class: "strip-wrap" }, this.stripImg, this.highlight),
          this.stripError));
      this.stripImg.addEventListener("load", () => this.startAnimation());
    }
    buildParams(values) {
      const specs = priorFamilies()[this.family.value] || [];
      this.params = specs.map((spec, i) => numberSlider(
        Object.assign({}, spec, { value: values ? values[i] : spec.value }),
        () => this.refresh()));
      this.paramsHost.replaceChildren(...this.params.map((p) => p.row));
    }
    prior() {
      const values = this.params.map((p) => p.get());
      return `${this.family.value}(${values.join(",")})`;
    }
    labelValue() { return this.label ? this.label.value : ""; }
    /** The samples picture for the current controls; a newer call aborts an older one. */
    async load() {
      if (this.controller) this.controller.abort();
      const controller = new AbortController();
      this.controller = controller;
      const prior = this.prior();
      this.priorText.textContent = `z ~ ${prior}`;
      const query = new URLSearchParams({ prior, seed: String(this.seed.get()), label: this.labelValue(),
                                          n: this.count.value, raw: this.raw.checked ? "1" : "0" });
      this.img.classList.add("busy");
      try {
        const url = await image(runApi(this.runId, `/samples.png?${query}`), controller.signal);
        if (controller !== this.controller) { URL.revokeObjectURL(url); return; }
        if (this.url) URL.revokeObjectURL(this.url);
        this.url = url;
        this.img.src = url;
        this.img.dataset.query = query.toString();
        showError(this.error, null);
      } catch (err) {
        if (!isAbort(err)) showError(this.error, err);
      } finally {
        if (controller === this.controller) this.img.classList.remove("busy");
      }
    }
    async loadStrip() {
      if (this.stripController) this.stripController.abort();
      const controller = new AbortController();
      this.stripController = controller;
      const query = new URLSearchParams({ seed_a: this.strip.a.value || "0", seed_b: this.strip.b.value || "1",
                                          frames: this.strip.frames.value, label: this.labelValue() });
      try {
        const url = await image(runApi(this.runId, `/interpolation.png?${query}`), controller.signal);
        if (controller !== this.stripController) { URL.revokeObjectURL(url); return; }
        if (this.stripUrl) URL.revokeObjectURL(this.stripUrl);
        this.stripUrl = url;
        this.stripImg.src = url;
        showError(this.stripError, null);
      } catch (err) {
        if (!isAbort(err)) showError(this.stripError, err);
      }
    }
    /* The strip holds `frames` pictures side by side (or stacked, if taller than wide). */
    startAnimation() {
      this.frame = 0;
      this.frames = Number(this.strip.frames.value);
      this.direction = 1;
      if (!this.timer && this.playButton.getAttribute("aria-pressed") === "true") {
        this.timer = setInterval(() => this.tick(), 110);
      }
      this.drawFrame();
    }
    toggleAnimation() {
      const playing = this.playButton.getAttribute("aria-pressed") === "true";
      this.playButton.setAttribute("aria-pressed", String(!playing));
      this.playButton.textContent = playing ? "Play" : "Pause";
      clearInterval(this.timer);
      this.timer = 0;
      if (!playing) this.timer = setInterval(() => this.tick(), 110);
    }
    tick() {
      if (!this.frames || !this.host.isConnected) return;
      if (this.frame + this.direction >= this.frames || this.frame + this.direction < 0) this.direction *= -1;
      this.frame += this.direction;
      this.drawFrame();
    }
    drawFrame() {
      const img = this.stripImg;
      if (!img.naturalWidth || !this.frames) return;
      const n = this.frames, W = img.naturalWidth, H = img.naturalHeight;
      const vertical = H > W;
      const [long, short] = vertical ? [H, W] : [W, H];
      // A grid of square frames with a padding p between and around them (torchvision's
      // make_grid): long = n (short - p) + p. Otherwise: n equal slices.
      const p = n > 1 ? (n * short - long) / (n - 1) : 0;
      const padded = Number.isInteger(p) && p > 0 && p < short / 4;
      const stride = padded ? short - p : long / n, size = padded ? short - 2 * p : long / n;
      const along = (padded ? p : 0) + this.frame * stride, across = padded ? p : 0;
      const [sx, sy] = vertical ? [across, along] : [along, across];
      const fw = vertical ? (padded ? size : W) : size;
      const fh = vertical ? size : (padded ? size : H);
      const canvas = this.frameCanvas;
      const scale = Math.max(1, Math.floor(160 / Math.max(fw, fh)));
      canvas.width = Math.round(fw * scale);
      canvas.height = Math.round(fh * scale);
      const ctx = canvas.getContext("2d");
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(img, sx, sy, fw, fh, 0, 0, canvas.width, canvas.height);
      const k = img.getBoundingClientRect().width / W;  // shown pixels per picture pixel
      const h = this.highlight;
      h.hidden = false;
      if (vertical) {
        Object.assign(h.style, { left: "0px", right: "0px", width: "", top: `${sy * k}px`, height: `${fh * k}px`, bottom: "" });
      } else {
        Object.assign(h.style, { left: `${sx * k}px`, width: `${fw * k}px`, top: "0px", bottom: "0px", height: "", right: "" });
      }
      this.frameLabel.textContent = `frame ${this.frame + 1} / ${this.frames}`;
    }
  }

  return {
    runApi, runPage, studyPage, idFromPath, api, image, stream, isAbort, ApiError, oneLine, writeHeadersNow,
    el, $, fitImage, showError, fmt, label, metricName, ready, units: () => UNITS, live, badge, progress,
    parseOverrides, toYaml, table,
    Chart, Rows, charts, debounce, PlayPanel, parsePrior,
  };
})();

/* A study: its arms, each with its runs (status, progress, last losses, metrics) and a play
 * panel on the arm's first run. */
"use strict";
(() => {
  const { el, $, api, fmt, badge, progress, showError, runApi, runPage, metricName } = GK;
  const name = GK.idFromPath("/study/");
  const LOSS_COLUMNS = ["d_real", "d_fake", "g_loss"];

  function runsTable(ids, byId) {
    return el("div", { class: "table-wrap" }, el("table", {},
      el("thead", {}, el("tr", {}, ["Run", "Progress", "Status", ...LOSS_COLUMNS.map(GK.label), "Evaluation"]
        .map((h, i) => el("th", { class: i >= 3 && i <= 5 ? "num" : null, text: h })))),
      el("tbody", {}, ids.map((id) => {
        const run = byId.get(id) || { id };
        const last = run.last || {};
        const metrics = Object.entries(run.metrics || {}).filter(([k]) => k.startsWith("eval_"));
        return el("tr", { dataset: { id } },
          el("td", {}, el("a", { href: runPage(id), class: "run-link", text: run.name || id })),
          el("td", {}, run.steps ? progress(run.step, run.steps) : "–"),
          el("td", {}, run.status ? badge(run.status) : "–"),
          LOSS_COLUMNS.map((k) => el("td", { class: "num", text: fmt(last[k]) })),
          el("td", { class: "metrics-list", text: metrics.map(([k, v]) => `${metricName(k)} ${fmt(v)}`).join(", ") || "–" }));
      }))));
  }

  // A verdict with its strength: the claim, the word, the evidence, and settled or open and why.
  function verdictItem(v) {
    const strength = v.settled === undefined || v.settled === null ? null
      : `${v.settled ? "settled" : "open"}${v.seeds ? ` with ${v.seeds} seeds` : ""}${v.reason ? `: ${v.reason}` : ""}`;
    return el("li", { class: `verdict ${v.verdict || ""}` },
      el("span", { class: "claim", text: v.claim || "" }), " ", badge(v.verdict),
      v.evidence ? el("p", { class: "evidence small", text: v.evidence }) : null,
      strength ? el("p", { class: "strength muted small", text: strength }) : null);
  }

  /** The claims and their verdicts, as the summary's typed reader gave them (GET /api/studies). */
  function showVerdicts(study) {
    const verdicts = study.verdicts || [];
    if (!verdicts.length) return;
    const card = $("#verdicts");
    card.querySelector("ul").replaceChildren(...verdicts.map(verdictItem));
    card.querySelector(".design").textContent = study.design ? `Judged: ${study.design}` : "";
    card.hidden = false;
  }

  async function playFor(host, id) {
    try {
      const info = await api(runApi(id));
      if (!info.has_generator) { host.replaceChildren(el("p", { class: "muted", text: "This run has no generator saved yet." })); return; }
      host.replaceChildren(el("p", { class: "muted small" }, "Sampling ", el("a", { href: runPage(id), text: info.name || id })));
      const panel = el("div");
      host.append(panel);
      new GK.PlayPanel(panel, id, info);
    } catch (err) {
      const line = el("div", { class: "error" });
      host.replaceChildren(line);
      showError(line, err);
    }
  }

  (async () => {
    try {
      await GK.ready;
      const [studies, runs] = await Promise.all([api("/api/studies"), api("/api/runs")]);
      const study = (studies.studies || []).find((s) => s.name === name);
      if (!study) throw new Error(`no study named '${name}'`);
      document.title = `gankit lab: ${study.title || study.name}`;
      $("#study-title").textContent = study.title || study.name;
      $("#study-name").textContent = study.title && study.title !== study.name ? study.name : "";
      const byId = new Map((runs.runs || []).map((r) => [r.id, r]));
      showVerdicts(study);
      $("#arms").replaceChildren(...(study.arms || []).map((arm) => {
        const ids = arm.runs || [];
        const play = el("div", { class: "arm-play" });
        if (ids.length) playFor(play, ids[0]);
        else play.append(el("p", { class: "muted", text: "No runs in this arm yet." }));
        return el("section", { class: "card arm", dataset: { arm: arm.name } },
          el("h2", {}, arm.label || arm.name, arm.label && arm.label !== arm.name ? el("span", { class: "muted small", text: arm.name }) : null),
          ids.length ? runsTable(ids, byId) : null,
          play);
      }));
    } catch (err) {
      showError($("#page-error"), err);
    }
  })();
})();

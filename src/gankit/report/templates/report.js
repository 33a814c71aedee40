/* Grid viewers: one slider (keyboard usable), a play/pause button and clickable thumbnails.
   A panel lacking the selected step shows its latest earlier grid, labelled with its own step. */
(function () {
  "use strict";
  var PLAY_MS = 700;

  function framesOf(panel) {
    var seen = {};
    var frames = [];
    panel.querySelectorAll("img[data-step]").forEach(function (img) {
      var step = Number(img.getAttribute("data-step"));
      if (!seen[step]) { seen[step] = true; frames.push({ step: step, src: img.getAttribute("src") }); }
    });
    frames.sort(function (a, b) { return a.step - b.step; });
    return frames;
  }

  function frameAt(frames, step) {
    var chosen = frames[0];
    frames.forEach(function (f) { if (f.step <= step) { chosen = f; } });
    return chosen;
  }

  function caption(frame, step) {
    if (frame.step === step) { return "step " + frame.step; }
    if (frame.step < step) { return "step " + frame.step + " (no grid at step " + step + ")"; }
    return "step " + frame.step + " (no grid before)";
  }

  function setup(viewer) {
    var slider = viewer.querySelector(".viewer-slider");
    var label = viewer.querySelector(".viewer-step");
    var play = viewer.querySelector(".viewer-play");
    var steps = viewer.getAttribute("data-steps").split(",").map(Number);
    var timer = null;
    var panels = Array.prototype.map.call(viewer.querySelectorAll(".viewer-panel"), function (el) {
      return { big: el.querySelector("img.viewer-big"), caption: el.querySelector(".viewer-caption"),
               thumbs: el.querySelectorAll("button.thumb"), frames: framesOf(el) };
    });

    function show(index) {
      index = Math.max(0, Math.min(steps.length - 1, index));
      var step = steps[index];
      if (Number(slider.value) !== index) { slider.value = String(index); }
      slider.setAttribute("aria-valuetext", "step " + step);
      label.textContent = "step " + step;
      panels.forEach(function (p) {
        if (!p.frames.length) { return; }
        var frame = frameAt(p.frames, step);
        if (p.big.getAttribute("src") !== frame.src) { p.big.setAttribute("src", frame.src); }
        p.big.setAttribute("data-shown", String(frame.step));
        p.big.setAttribute("alt", "sample grid at step " + frame.step);
        p.caption.textContent = caption(frame, step);
        p.thumbs.forEach(function (t) {
          t.setAttribute("aria-current", Number(t.getAttribute("data-step")) === frame.step ? "true" : "false");
        });
      });
    }

    function stop() {
      if (timer !== null) { clearInterval(timer); timer = null; }
      play.textContent = "\u25B6 Play";
      play.setAttribute("aria-pressed", "false");
    }

    function start() {
      if (Number(slider.value) >= steps.length - 1) { show(0); }
      timer = setInterval(function () {
        var next = Number(slider.value) + 1;
        show(next >= steps.length ? 0 : next);
      }, PLAY_MS);
      play.textContent = "\u275A\u275A Pause";
      play.setAttribute("aria-pressed", "true");
    }

    slider.addEventListener("input", function () { show(Number(slider.value)); });
    slider.addEventListener("change", function () { show(Number(slider.value)); });
    play.addEventListener("click", function () { if (timer === null) { start(); } else { stop(); } });
    viewer.querySelectorAll("button.thumb").forEach(function (t) {
      t.addEventListener("click", function () {
        stop();
        var index = steps.indexOf(Number(t.getAttribute("data-step")));
        if (index >= 0) { show(index); slider.focus(); }
      });
    });
    play.disabled = steps.length < 2;
    show(Number(slider.value));
  }

  document.querySelectorAll(".viewer").forEach(setup);
})();

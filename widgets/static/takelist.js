// rasv take list: the review page. One widget draws every take of the page as a card with a
// spectrogram (drawn on a canvas from uint8 mel bands sent as binary), stars, tags and a
// remark; clicks and edits go to Python as messages. The focused take follows Python's
// `current` and is scrolled into view.

// A perceptual dark-to-bright colour map (inferno-like), 256 entries, built once.
const LUT = (() => {
  const stops = [[0, 0, 4], [40, 11, 84], [101, 21, 110], [159, 42, 99], [212, 72, 66],
                 [245, 125, 21], [250, 193, 39], [252, 255, 164]];
  const out = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i++) {
    const x = (i / 255) * (stops.length - 1);
    const k = Math.min(Math.floor(x), stops.length - 2);
    const f = x - k;
    for (let c = 0; c < 3; c++) out[i * 3 + c] = stops[k][c] + (stops[k + 1][c] - stops[k][c]) * f;
  }
  return out;
})();

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = text;
  return e;
}

function bytesOf(value) {
  if (!value) return new Uint8Array(0);
  if (value instanceof DataView) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  return new Uint8Array(0);
}

let scratch = null;

function drawSpectrogram(canvas, bytes, meta) {
  const { offset, bands, frames } = meta;
  const img = new ImageData(frames, bands);
  for (let b = 0; b < bands; b++) {
    const row = bands - 1 - b; // low frequencies at the bottom
    for (let f = 0; f < frames; f++) {
      const v = bytes[offset + b * frames + f];
      const p = (row * frames + f) * 4;
      img.data[p] = LUT[v * 3];
      img.data[p + 1] = LUT[v * 3 + 1];
      img.data[p + 2] = LUT[v * 3 + 2];
      img.data[p + 3] = 255;
    }
  }
  // One scratch canvas for every card: the image is scaled from it onto the card's canvas.
  if (!scratch) scratch = document.createElement("canvas");
  scratch.width = frames;
  scratch.height = bands;
  scratch.getContext("2d").putImageData(img, 0, 0);
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(scratch, 0, 0, canvas.width, canvas.height);
}

function render({ model, el: root }) {
  root.classList.add("rasv-takes");
  const list = el("div", "rasv-takes-list");
  root.append(list);
  const send = (msg) => model.send(msg);

  const paintState = () => {
    const current = model.get("current");
    const playing = model.get("playing");
    for (const card of list.querySelectorAll(".rasv-take")) {
      card.classList.toggle("current", card.dataset.id === current);
      card.classList.toggle("playing", card.dataset.id === playing);
      const btn = card.querySelector(".rasv-take-play");
      if (btn) btn.textContent = card.dataset.id === playing ? "❚❚" : "▶";
    }
    const cur = list.querySelector(`.rasv-take[data-id="${CSS.escape(current)}"]`);
    if (cur) cur.scrollIntoView({ block: "nearest" });
  };

  const starsBox = (item) => {
    const box = el("span", "rasv-take-stars");
    const zero = el("span", "rasv-star-zero" + (item.stars === 0 ? " on" : ""), "0");
    zero.title = "0";
    zero.addEventListener("click", (e) => { e.stopPropagation(); send({ type: "stars", id: item.id, value: 0 }); });
    box.append(zero);
    // An unscored take the model has a prediction for: its stars dimmed, the number and the
    // interval on hover (the listener's own stars always win).
    const unscored = item.stars === null || item.stars === undefined;
    const guess = unscored && item.predicted !== null && item.predicted !== undefined ? Number(item.predicted) : null;
    if (guess !== null && item.predicted_hint) box.title = item.predicted_hint;
    for (let i = 1; i <= 5; i++) {
      const on = !unscored && i <= item.stars;
      const dim = guess !== null && i <= Math.round(guess);
      const s = el("span", "rasv-star pick" + (on ? " on" : dim ? " predicted" : ""), "★");
      s.title = String(i);
      s.addEventListener("click", (e) => {
        e.stopPropagation();
        send({ type: "stars", id: item.id, value: item.stars === i ? null : i });
      });
      box.append(s);
    }
    if (guess !== null) box.append(el("span", "rasv-star-guess", `≈${guess.toFixed(1)}`));
    return box;
  };

  const card = (item, index, bytes, metaById) => {
    const c = el("div", "rasv-take");
    c.dataset.id = item.id;
    if (item.status !== "done") c.classList.add("failed");
    if (item.stars !== null && item.stars !== undefined) c.classList.add("scored");
    c.addEventListener("click", () => send({ type: "focus", id: item.id }));
    c.addEventListener("dblclick", () => send({ type: "play", id: item.id }));

    const left = el("div", "rasv-take-left");
    const num = el("div", "rasv-take-num", String(index + 1));
    const play = el("button", "rasv-take-play", "▶");
    play.type = "button";
    play.disabled = item.status !== "done";
    play.addEventListener("click", (e) => { e.stopPropagation(); send({ type: "play", id: item.id }); });
    left.append(num, play);

    const mid = el("div", "rasv-take-mid");
    const head = el("div", "rasv-take-head");
    if (item.label) head.append(el("span", "rasv-take-label", item.label));
    if (item.detail) head.append(el("span", "rasv-take-detail", item.detail));
    mid.append(head);
    if (item.hint) {
      const hint = el("div", "rasv-take-hint", item.hint);
      hint.title = item.hint;
      mid.append(hint);
    }
    const meta = metaById.get(item.id);
    if (meta) {
      let canvas = drawn.get(item.id);
      if (!canvas) {
        canvas = el("canvas", "rasv-take-spec");
        canvas.width = 480;
        canvas.height = 56;
        drawSpectrogram(canvas, bytes, meta);
        drawn.set(item.id, canvas);
      }
      mid.append(canvas);
    } else if (item.error) {
      mid.append(el("div", "rasv-take-error", item.error));
    }

    const right = el("div", "rasv-take-right");
    const dur = el("div", "rasv-take-dur");
    if (item.duration_s !== null && item.duration_s !== undefined) {
      dur.append(el("b", null, `${Number(item.duration_s).toFixed(2)} s`));
      if (item.dur_z !== null && item.dur_z !== undefined) {
        const z = Number(item.dur_z);
        const badge = el("span", "rasv-z" + (Math.abs(z) >= 2 ? " far" : Math.abs(z) >= 1 ? " off" : ""), `z ${z >= 0 ? "+" : ""}${z.toFixed(1)}`);
        badge.title = model.get("text_z");
        dur.append(badge);
      }
    }
    right.append(dur, starsBox(item));
    const tags = el("div", "rasv-take-tags");
    const on = new Set(item.tags || []);
    const suggested = new Set(item.suggested || []);
    for (const t of model.get("tag_options")) {
      const chip = el("span", "rasv-tag" + (on.has(t.key) ? " on" : suggested.has(t.key) ? " suggested" : ""), t.label);
      chip.addEventListener("click", (e) => { e.stopPropagation(); send({ type: "tag", id: item.id, tag: t.key, on: !on.has(t.key) }); });
      tags.append(chip);
    }
    const remark = el("input", "rasv-take-remark");
    remark.type = "text";
    remark.placeholder = model.get("text_remark");
    remark.value = item.remark || "";
    remark.addEventListener("click", (e) => e.stopPropagation());
    remark.addEventListener("keydown", (e) => { e.stopPropagation(); if (e.key === "Enter") remark.blur(); });
    remark.addEventListener("change", () => send({ type: "remark", id: item.id, value: remark.value }));
    right.append(tags, remark);
    c.append(left, mid, right);
    return c;
  };

  // Spectrograms drawn for the page's arrays, by take id: a card redrawn for new stars, tags
  // or predictions moves its canvas over instead of drawing it again.
  let drawn = new Map();
  let drawnFor = null;

  const renderAll = () => {
    list.replaceChildren();
    const items = model.get("items");
    const bytes = bytesOf(model.get("spectra"));
    const metaById = new Map(model.get("spectra_meta").map((m) => [m.id, m]));
    if (drawnFor === null || drawnFor[0] !== model.get("spectra") ||
        drawnFor[1] !== model.get("spectra_meta")) {
      drawn = new Map();
      drawnFor = [model.get("spectra"), model.get("spectra_meta")];
    }
    if (!items.length) {
      list.append(el("div", "rasv-takes-empty", model.get("text_empty")));
      return;
    }
    let prev = [];
    items.forEach((item, i) => {
      const groups = item.groups || [];
      let changed = false;
      groups.forEach((g, level) => {
        if (changed || g !== prev[level]) {
          changed = true;
          list.append(el("div", `rasv-group rasv-group-${level}`, g));
        }
      });
      prev = groups;
      list.append(card(item, i + model.get("offset"), bytes, metaById));
    });
    paintState();
  };

  // A new page changes items, spectra and tag options in one message, which fires one change
  // event each: draw the page once, after the last of them.
  let queued = false;
  const renderSoon = () => {
    if (queued) return;
    queued = true;
    queueMicrotask(() => { queued = false; renderAll(); });
  };
  for (const name of ["items", "spectra_meta", "tag_options"]) model.on(`change:${name}`, renderSoon);
  for (const name of ["current", "playing"]) model.on(`change:${name}`, paintState);
  renderAll();
}

export default { render };

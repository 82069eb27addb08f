// rasv audio player: a compact transport the Python side drives (play, pause, seek) and
// listens to (playing, position, ended). Every player on the page shares one registry, so
// starting one pauses the others.
const REGISTRY = (globalThis.__rasvAudio ??= new Set());

function fmt(t) {
  if (!Number.isFinite(t) || t < 0) t = 0;
  const m = Math.floor(t / 60);
  const s = t - 60 * m;
  return `${m}:${s.toFixed(1).padStart(4, "0")}`;
}

function bytesOf(value) {
  if (!value) return null;
  if (value instanceof DataView) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  return null;
}

function render({ model, el }) {
  el.classList.add("rasv-player");
  const audio = document.createElement("audio");
  audio.preload = "auto";
  const button = document.createElement("button");
  button.className = "rasv-player-btn";
  button.type = "button";
  const bar = document.createElement("input");
  bar.type = "range";
  bar.min = "0";
  bar.step = "0.01";
  bar.value = "0";
  bar.className = "rasv-player-bar";
  const time = document.createElement("span");
  time.className = "rasv-player-time";
  const label = document.createElement("span");
  label.className = "rasv-player-label";
  el.append(button, bar, time, label, audio);

  let url = null;
  let lastSent = 0;
  let dragging = false;

  const paint = () => {
    const playing = !audio.paused && !audio.ended;
    button.textContent = playing ? "❚❚" : "▶";
    button.title = playing ? model.get("text_pause") : model.get("text_play");
    el.classList.toggle("rasv-playing", playing);
    const d = Number.isFinite(audio.duration) ? audio.duration : model.get("duration");
    if (!dragging) {
      bar.max = String(d || 0);
      bar.value = String(audio.currentTime || 0);
    }
    time.textContent = `${fmt(audio.currentTime)} / ${fmt(d)}`;
  };

  const push = (changes) => {
    for (const [k, v] of Object.entries(changes)) model.set(k, v);
    model.save_changes();
  };

  const load = () => {
    if (url) URL.revokeObjectURL(url);
    url = null;
    const bytes = bytesOf(model.get("audio"));
    if (bytes && bytes.byteLength) {
      url = URL.createObjectURL(new Blob([bytes], { type: model.get("mime") || "audio/wav" }));
      audio.src = url;
    } else {
      audio.removeAttribute("src");
      audio.load();
    }
    label.textContent = model.get("label") || model.get("text_empty");
    el.classList.toggle("rasv-empty", !url);
    paint();
  };

  const play = () => {
    if (!url) return;
    audio.play().catch((err) => push({ playing: false, error: String(err) }));
  };

  button.addEventListener("click", () => (audio.paused || audio.ended ? play() : audio.pause()));
  bar.addEventListener("input", () => {
    dragging = true;
    time.textContent = `${fmt(Number(bar.value))} / ${fmt(audio.duration)}`;
  });
  bar.addEventListener("change", () => {
    dragging = false;
    audio.currentTime = Number(bar.value);
  });

  audio.addEventListener("play", () => {
    for (const other of REGISTRY) if (other !== audio) other.pause();
    push({ playing: true, error: "" });
    paint();
  });
  audio.addEventListener("pause", () => {
    push({ playing: false, position: audio.currentTime });
    paint();
  });
  audio.addEventListener("loadedmetadata", () => {
    if (Number.isFinite(audio.duration)) push({ duration: audio.duration });
    paint();
  });
  audio.addEventListener("timeupdate", () => {
    paint();
    const now = performance.now();
    if (now - lastSent > 500) {
      lastSent = now;
      push({ position: audio.currentTime });
    }
  });
  audio.addEventListener("ended", () => {
    push({ playing: false, position: audio.duration || 0 });
    model.send({ type: "ended", key: model.get("key") });
    paint();
  });
  audio.addEventListener("error", () => {
    if (url) push({ playing: false, error: "the browser cannot decode this audio" });
  });

  model.on("change:audio", load);
  model.on("change:label", () => (label.textContent = model.get("label") || model.get("text_empty")));
  model.on("msg:custom", (msg) => {
    if (msg.cmd === "play") {
      if (typeof msg.at === "number") audio.currentTime = msg.at;
      play();
    } else if (msg.cmd === "pause") {
      audio.pause();
    } else if (msg.cmd === "toggle") {
      audio.paused || audio.ended ? play() : audio.pause();
    } else if (msg.cmd === "seek") {
      audio.currentTime = msg.at;
      paint();
    }
  });

  REGISTRY.add(audio);
  load();
  return () => {
    audio.pause();
    REGISTRY.delete(audio);
    if (url) URL.revokeObjectURL(url);
  };
}

export default { render };

// rasv keyboard: forwards chosen key presses made in its panel (the nearest ancestor with
// class "rasv-keyscope") to Python. Keys typed into inputs are left alone, and a hidden panel
// (another tab selected) hears nothing.
const EDITABLE = /^(INPUT|TEXTAREA|SELECT)$/;

function render({ model, el }) {
  el.classList.add("rasv-keys");
  const [hint, last] = [["span", "rasv-keys-hint"], ["kbd", "rasv-keys-last"]].map(
    ([tag, className]) => Object.assign(document.createElement(tag), { className }));
  el.append(hint, last);
  const paint = () => {
    hint.textContent = model.get("hint");
    el.classList.toggle("rasv-keys-off", !model.get("enabled"));
  };

  let scope = null;
  const findScope = () => {
    if (scope && scope.isConnected) return scope;
    scope = el.closest(".rasv-keyscope");
    if (scope) {
      // Focusable, so a click in the panel gives it the keys; and JupyterLab's own
      // command-mode shortcuts (j/k/space…) stand aside inside it.
      if (!scope.hasAttribute("tabindex")) scope.tabIndex = -1;
      scope.setAttribute("data-lm-suppress-shortcuts", "true");
    }
    return scope;
  };

  const onKey = (e) => {
    if (e.__rasvKey || !model.get("enabled")) return;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const s = findScope();
    if (!s || s.getClientRects().length === 0) return; // not shown (other tab)
    const active = document.activeElement;
    const inScope = active && s.contains(active);
    const nowhere = !active || active === document.body || active === document.documentElement;
    if (!inScope && !nowhere) return;
    const t = e.target;
    if (t && (t.isContentEditable || EDITABLE.test(t.tagName))) return;
    const key = e.key === " " ? "space" : e.key;
    if (!model.get("accept").includes(key)) return;
    e.__rasvKey = true;
    e.preventDefault();
    e.stopPropagation();
    last.textContent = key;
    last.classList.remove("rasv-flash");
    void last.offsetWidth;
    last.classList.add("rasv-flash");
    model.send({ type: "key", key, shift: e.shiftKey });
  };

  model.on("change:hint", paint);
  model.on("change:enabled", paint);
  paint();
  requestAnimationFrame(findScope);
  document.addEventListener("keydown", onKey, true);
  return () => document.removeEventListener("keydown", onKey, true);
}

export default { render };

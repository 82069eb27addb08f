// rasv page: what the dashboard needs to know about the browser tab it is drawn in.
// 1. "connected" when a page draws the workbench, so the kernel re-reads the workspace then
//    (a preheated kernel built its widgets before anyone asked for the page).
// 2. Voilà shuts a page's kernel down from its "beforeunload" beacon, which carries the
//    _xsrf cookie; Voilà never sets that cookie, so every beacon was refused (403) and every
//    closed or reloaded page left its kernel running. A random same-origin token is enough
//    for tornado's double-submit check.
function ensureXsrfCookie() {
  if (/(^|;\s*)_xsrf=/.test(document.cookie)) return;
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  document.cookie = `_xsrf=${hex}; path=/; SameSite=Strict`;
}

function render({ model, el }) {
  el.style.display = "none";
  ensureXsrfCookie();
  model.send({ type: "connected" });
}

export default { render };

// rasv table: one widget renders a whole page of rows (plain DOM, no widget per cell), so a
// 100-row page appears at once. Sorting, paging, inline edits, checkboxes, stars and row
// buttons go back to Python as trait changes or messages; Python re-queries and sends rows.

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = text;
  return e;
}

function fmtNum(v, digits) {
  if (v === null || v === undefined || v === "") return "";
  const n = Number(v);
  return Number.isFinite(n) ? n.toFixed(digits ?? 1) : String(v);
}

function stars(value, max, onPick) {
  const box = el("span", "rasv-stars");
  const v = value === null || value === undefined ? null : Number(value);
  for (let i = 1; i <= max; i++) {
    const s = el("span", "rasv-star" + (v !== null && i <= Math.round(v) ? " on" : ""), "★");
    if (onPick) {
      s.classList.add("pick");
      s.title = String(i);
      s.addEventListener("click", (e) => { e.stopPropagation(); onPick(i === v ? null : i); });
    }
    box.append(s);
  }
  if (v !== null && !onPick && !Number.isInteger(v)) box.append(el("span", "rasv-star-num", v.toFixed(1)));
  return box;
}

function render({ model, el: root }) {
  root.classList.add("rasv-table");
  const wrap = el("div", "rasv-table-wrap");
  const table = el("table");
  const thead = el("thead");
  const tbody = el("tbody");
  table.append(thead, tbody);
  wrap.append(table);
  const pager = el("div", "rasv-pager");
  root.append(wrap, pager);

  const send = (msg) => model.send(msg);
  const setTraits = (changes) => {
    for (const [k, v] of Object.entries(changes)) model.set(k, v);
    model.save_changes();
  };

  const header = () => {
    thead.replaceChildren();
    const tr = el("tr");
    if (model.get("selectable")) {
      const th = el("th", "rasv-col-select");
      const box = el("input");
      box.type = "checkbox";
      const ids = model.get("rows").map((r) => r.id);
      const sel = new Set(model.get("selected"));
      box.checked = ids.length > 0 && ids.every((id) => sel.has(id));
      box.addEventListener("change", () => {
        const next = new Set(model.get("selected"));
        for (const id of ids) box.checked ? next.add(id) : next.delete(id);
        setTraits({ selected: [...next] });
      });
      th.append(box);
      tr.append(th);
    }
    const sortKey = model.get("sort_key");
    const desc = model.get("sort_desc");
    for (const col of model.get("columns")) {
      const th = el("th", `rasv-kind-${col.kind || "text"}`, col.label);
      if (col.width) th.style.width = col.width;
      if (col.sortable) {
        th.classList.add("sortable");
        if (sortKey === col.key) th.append(el("span", "rasv-sort", desc ? " ▼" : " ▲"));
        th.addEventListener("click", () => {
          if (sortKey === col.key) setTraits({ sort_desc: !desc, page: 1 });
          else setTraits({ sort_key: col.key, sort_desc: !!col.desc_first, page: 1 });
        });
      }
      tr.append(th);
    }
    thead.append(tr);
  };

  const cell = (col, row) => {
    const td = el("td", `rasv-kind-${col.kind || "text"}`);
    const v = row[col.key];
    switch (col.kind) {
      case "num":
        td.textContent = fmtNum(v, col.digits);
        break;
      case "edit": {
        const input = el("input", "rasv-edit");
        input.type = "text";
        input.value = v ?? "";
        input.dataset.key = col.key;
        const commit = () => {
          if (input.value !== (row[col.key] ?? "")) {
            row[col.key] = input.value;
            send({ type: "edit", id: row.id, key: col.key, value: input.value });
          }
        };
        input.addEventListener("change", commit);
        input.addEventListener("keydown", (e) => { if (e.key === "Enter") input.blur(); e.stopPropagation(); });
        td.append(input);
        break;
      }
      case "select": {
        const select = el("select", "rasv-edit");
        const opts = col.options || [];
        if (v !== null && v !== undefined && !opts.includes(v)) opts.push(v);
        for (const o of opts) {
          const op = el("option", null, o);
          op.value = o;
          select.append(op);
        }
        select.value = v ?? "";
        select.addEventListener("change", () => send({ type: "edit", id: row.id, key: col.key, value: select.value }));
        td.append(select);
        break;
      }
      case "check": {
        const box = el("input");
        box.type = "checkbox";
        box.checked = !!v;
        box.disabled = !col.editable;
        box.addEventListener("change", () => send({ type: "edit", id: row.id, key: col.key, value: box.checked }));
        td.append(box);
        break;
      }
      case "flag":
        td.textContent = v ? "✓" : v === false ? "✗" : "";
        td.classList.add(v ? "ok" : "bad");
        break;
      case "stars":
        td.append(stars(v, col.max || 5, col.editable ? (n) => send({ type: "edit", id: row.id, key: col.key, value: n }) : null));
        break;
      case "play": {
        const b = el("button", "rasv-play", model.get("playing") === row.id ? "❚❚" : "▶");
        b.type = "button";
        b.title = col.label || "";
        b.addEventListener("click", (e) => { e.stopPropagation(); send({ type: "action", id: row.id, action: "play" }); });
        td.append(b);
        break;
      }
      case "buttons":
        for (const a of col.actions || []) {
          const b = el("button", "rasv-btn" + (a.danger ? " danger" : ""), a.label);
          b.type = "button";
          b.dataset.action = a.action;
          b.addEventListener("click", (e) => {
            e.stopPropagation();
            if (a.confirm && !b.classList.contains("confirming")) {
              b.classList.add("confirming");
              b.textContent = a.confirm;
              setTimeout(() => { b.classList.remove("confirming"); b.textContent = a.label; }, 3000);
              return;
            }
            send({ type: "action", id: row.id, action: a.action });
          });
          td.append(b);
        }
        break;
      default:
        td.textContent = v === null || v === undefined ? "" : String(v);
        if (col.title) td.title = td.textContent;
    }
    return td;
  };

  const body = () => {
    tbody.replaceChildren();
    const rows = model.get("rows");
    const cols = model.get("columns");
    const sel = new Set(model.get("selected"));
    const playing = model.get("playing");
    if (!rows.length) {
      const tr = el("tr", "rasv-empty-row");
      const td = el("td", null, model.get("empty_text"));
      td.colSpan = cols.length + (model.get("selectable") ? 1 : 0);
      tr.append(td);
      tbody.append(tr);
      return;
    }
    for (const row of rows) {
      const tr = el("tr");
      tr.dataset.id = String(row.id);
      if (row.id === playing) tr.classList.add("rasv-row-playing");
      if (row._muted) tr.classList.add("rasv-row-muted");
      if (model.get("selectable")) {
        const td = el("td", "rasv-col-select");
        const box = el("input");
        box.type = "checkbox";
        box.checked = sel.has(row.id);
        box.addEventListener("change", () => {
          const next = new Set(model.get("selected"));
          box.checked ? next.add(row.id) : next.delete(row.id);
          setTraits({ selected: [...next] });
        });
        td.append(box);
        tr.append(td);
      }
      for (const col of cols) tr.append(cell(col, row));
      tbody.append(tr);
    }
  };

  const pagerBar = () => {
    pager.replaceChildren();
    const pages = model.get("pages");
    const page = model.get("page");
    pager.hidden = pages <= 1 && model.get("total") <= Math.min(...model.get("page_sizes"));
    const prev = el("button", "rasv-btn", "‹");
    prev.type = "button";
    prev.disabled = page <= 1;
    prev.addEventListener("click", () => setTraits({ page: page - 1 }));
    const next = el("button", "rasv-btn", "›");
    next.type = "button";
    next.disabled = page >= pages;
    next.addEventListener("click", () => setTraits({ page: page + 1 }));
    const info = el("span", "rasv-pager-info", model.get("page_text"));
    const size = el("select");
    for (const n of model.get("page_sizes")) {
      const op = el("option", null, String(n));
      op.value = String(n);
      size.append(op);
    }
    size.value = String(model.get("page_size"));
    size.addEventListener("change", () => setTraits({ page_size: Number(size.value), page: 1 }));
    pager.append(prev, info, next, size);
  };

  const all = () => { header(); body(); pagerBar(); };
  const rows = () => { header(); body(); };
  // What each trait redraws.
  const redraw = {
    rows, columns: all, selected: rows, playing: body, sort_key: header, sort_desc: header,
    page_text: pagerBar, pages: pagerBar, page_size: pagerBar,
  };
  for (const [name, draw] of Object.entries(redraw)) model.on(`change:${name}`, draw);
  all();
}

export default { render };

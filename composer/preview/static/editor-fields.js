// The editor's inputs, built from a block's field declarations (GET /api/edit/session
// gives them, read from block.yaml). Nothing here knows any block: each widget is chosen
// by the field's type, so a new block folder gets its form with no code.
"use strict";

window.BulletinFields = (() => {
  const { h } = window.BulletinDom; // dom.js

  let counter = 0;
  const uid = (stem) => `f-${stem.replace(/[^a-z0-9]+/gi, "-")}-${++counter}`;

  // The CLI names a field `timeline[2].at` (rows from 1): the page uses the same names
  // so a message from the server lands on its input.
  const child = (path, name) => (path ? `${path}.${name}` : name);
  const row = (path, index) => `${path}[${index + 1}]`;

  const empty = (v) => v === undefined || v === null || v === "" || (Array.isArray(v) && !v.length) ||
    (typeof v === "object" && !Array.isArray(v) && Object.values(v).every(empty));

  // A field: its label, its input, its help and the place its message goes.
  function frame(field, path, input, id) {
    const help = field.help ? h("p", { className: "help", id: `${id}-help`, text: field.help }) : null;
    const message = h("p", { className: "field-error", id: `${id}-error`, "aria-live": "polite", hidden: true });
    if (input.matches && input.matches("input, textarea, select")) {
      input.setAttribute("aria-describedby", [help && `${id}-help`, `${id}-error`].filter(Boolean).join(" "));
    }
    const title = h("label", { className: "field-label", for: id, text: field.label });
    if (field.required) title.append(h("span", { className: "required", text: " (required)" }));
    // A list or a group says what it holds before its rows; a single input after it.
    const parts = field.widget === "list" || field.parts ? [title, help, input, message] : [title, input, help, message];
    return h("div", { className: `field widget-${field.widget}`, "data-field-path": path, "data-field": field.name }, ...parts);
  }

  // ---- one value ----------------------------------------------------------------

  function toLocal(value) {
    // "2026-06-25 12:00" (what the bulletin holds) → "2026-06-25T12:00" (the picker's form).
    const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2})/.exec(value || "");
    return m ? `${m[1]}T${m[2]}` : "";
  }

  function scalar(widget, value, id, set, ctx, path) {
    const types = { text: "text", url: "url", email: "email", date: "date", number: "number" };
    if (widget === "markdown") return markdown(value, id, set, ctx, path);
    if (widget === "checkbox") {
      return h("input", { type: "checkbox", id, checked: !!value, onchange: (e) => set(e.target.checked || undefined) });
    }
    if (widget === "datetime") {
      const readable = !value || toLocal(value);
      if (readable) {
        // The picker gives "YYYY-MM-DDTHH:MM"; the bulletin takes "YYYY-MM-DD HH:MM", UK time.
        return h("input", { type: "datetime-local", id, value: toLocal(value), oninput: (e) => set(e.target.value ? e.target.value.replace("T", " ") : undefined) });
      }
    }
    if (widget === "asset") return asset(value, id, set, ctx);
    const input = h("input", { type: types[widget] || "text", id, value: value === undefined || value === null ? "" : String(value) });
    input.addEventListener("input", (e) => {
      const raw = e.target.value;
      if (widget === "number") set(raw === "" || Number.isNaN(Number(raw)) ? (raw === "" ? undefined : raw) : Number(raw));
      else set(raw === "" ? undefined : raw);
    });
    if (widget === "url") input.placeholder = "https://";
    return input;
  }

  function markdown(value, id, set, ctx, path) {
    const area = h("textarea", { id, rows: Math.min(12, Math.max(3, String(value || "").split("\n").length + 1)) });
    area.value = value || "";
    area.addEventListener("input", () => set(area.value === "" ? undefined : area.value));
    const linkButton = h("button", {
      type: "button", className: "small", text: "Link…", title: "Make the selected words a link",
      onclick: () => {
        const url = window.prompt("The address the link goes to (https://…)", "https://");
        if (!url) return;
        const [start, end] = [area.selectionStart, area.selectionEnd];
        const words = area.value.slice(start, end) || "words that say where the link goes";
        area.setRangeText(`[${words}](${url})`, start, end, "end");
        area.dispatchEvent(new Event("input"));
        area.focus();
      },
    });
    // A region of its own, focusable so a keyboard can scroll it, named for a screen reader.
    const preview = h("div", { className: "markdown-preview", "data-markdown-path": path, role: "region", tabindex: "0", "aria-label": `How ${path} will read` });
    ctx.markdownPaths.push(path);
    return h("div", { className: "markdown-box" }, h("div", { className: "toolbar" }, linkButton), area, preview);
  }

  function asset(value, id, set, ctx) {
    const names = ctx.pictures().map((p) => p.name);
    const select = h("select", { id }, h("option", { value: "", text: "— choose a picture —" }));
    for (const name of names) select.append(h("option", { value: name, text: name }));
    if (value && !names.includes(value)) select.append(h("option", { value, text: value }));
    select.value = value || "";
    const thumb = h("img", { className: "thumb", alt: "", hidden: !value || !names.includes(value) });
    const show = (name) => {
      thumb.hidden = !name || !ctx.pictures().some((p) => p.name === name);
      if (!thumb.hidden) thumb.src = `/api/edit/pictures/${encodeURIComponent(name)}`;
    };
    show(value);
    select.addEventListener("change", () => {
      set(select.value || undefined);
      show(select.value);
    });
    const upload = h("input", { type: "file", accept: "image/png,image/jpeg,image/gif", "aria-label": "Upload a picture into the bulletin's folder" });
    const note = h("p", { className: "upload-note", "aria-live": "polite" });
    upload.addEventListener("change", async () => {
      const file = upload.files && upload.files[0];
      if (!file) return;
      note.textContent = `Uploading ${file.name}…`;
      const result = await ctx.upload(file);
      if (!result.ok) {
        note.textContent = result.message;
        note.classList.add("error");
        return;
      }
      note.classList.remove("error");
      note.textContent = `Saved as ${result.picture.name} in ${ctx.folder()}`;
      const name = result.picture.name;
      if (![...select.options].some((o) => o.value === name)) select.append(h("option", { value: name, text: name }));
      select.value = name;
      set(name);
      show(name);
    });
    return h("div", { className: "asset-box" }, select, h("label", { className: "upload" }, "or upload: ", upload), note, thumb);
  }

  // ---- groups: an image, a link, a list row with fields -----------------------------

  function group(parts, value, path, set, ctx) {
    const data = value && typeof value === "object" ? { ...value } : {};
    const box = h("div", { className: "group" });
    for (const part of parts) {
      box.append(field(part, data[part.name], child(path, part.name), (v) => {
        if (v === undefined) delete data[part.name];
        else data[part.name] = v;
        set(empty(data) ? undefined : order(data, parts));
      }, ctx));
    }
    return box;
  }

  // Keys in the order the block declares them, so a new key lands among its neighbours.
  function order(data, parts) {
    const out = {};
    for (const part of parts) if (part.name in data) out[part.name] = data[part.name];
    for (const key of Object.keys(data)) if (!(key in out)) out[key] = data[key];
    return out;
  }

  function list(spec, value, path, set, ctx) {
    const rows = Array.isArray(value) ? value.slice() : [];
    const box = h("div", { className: "rows" });
    const items = spec.items || { widget: "text" };
    const commit = () => set(rows.length ? rows.slice() : undefined);
    const redraw = () => {
      box.replaceChildren(...rows.map((item, index) => rowEl(item, index)), addButton);
    };
    const rowEl = (item, index) => {
      const at = row(path, index);
      const update = (v) => {
        rows[index] = v === undefined ? (items.widget === "group" || items.parts ? {} : "") : v;
        commit();
      };
      const body = items.widget === "group" ? group(items.fields, item, at, update, ctx)
        : items.parts ? group(items.parts, item, at, update, ctx)
          : field({ name: String(index + 1), label: `${spec.label} ${index + 1}`, widget: items.widget, help: "" }, item, at, update, ctx);
      const move = (delta) => {
        const to = index + delta;
        if (to < 0 || to >= rows.length) return;
        [rows[index], rows[to]] = [rows[to], rows[index]];
        commit();
        redraw();
      };
      const tools = h("div", { className: "row-tools" },
        h("button", { type: "button", className: "small", text: "↑", title: "Move up", "aria-label": `Move row ${index + 1} up`, disabled: index === 0, onclick: () => move(-1) }),
        h("button", { type: "button", className: "small", text: "↓", title: "Move down", "aria-label": `Move row ${index + 1} down`, disabled: index === rows.length - 1, onclick: () => move(1) }),
        h("button", { type: "button", className: "small danger", text: "Remove", "aria-label": `Remove row ${index + 1}`, onclick: () => { rows.splice(index, 1); commit(); redraw(); } }),
      );
      return h("div", { className: "row", "data-field-path": at }, h("div", { className: "row-head" }, h("span", { className: "row-number", text: `${index + 1}` }), tools), body);
    };
    const addButton = h("button", {
      type: "button", className: "small add-row", text: `Add ${spec.label.toLowerCase()} row`,
      onclick: () => {
        rows.push(items.widget === "group" || items.parts ? {} : "");
        commit();
        redraw();
        const last = box.querySelectorAll(".row");
        const input = last.length && last[last.length - 1].querySelector("input, textarea, select");
        if (input) input.focus();
      },
    });
    redraw();
    return box;
  }

  // ---- a field of any kind ---------------------------------------------------------

  function field(spec, value, path, set, ctx) {
    const id = uid(path);
    let input;
    if (spec.widget === "list") input = list(spec, value, path, set, ctx);
    else if (spec.parts) input = group(spec.parts, value, path, set, ctx);
    else input = scalar(spec.widget, value, id, set, ctx, path);
    if (!input.id && (spec.widget === "list" || spec.parts)) input.id = id;
    return frame(spec, path, input, id);
  }

  // The whole form of a section: its fields, in the order block.yaml declares them.
  function form(block, section, onChange, ctx) {
    const box = h("div", { className: "section-fields" });
    for (const spec of block.fields) {
      box.append(field(spec, section[spec.name], spec.name, (v) => {
        if (v === undefined) delete section[spec.name];
        else section[spec.name] = v;
        reorder(section, block);
        onChange();
      }, ctx));
    }
    return box;
  }

  function reorder(section, block) {
    // `block` and `audiences` first, then the fields in declared order, then the rest.
    const keys = Object.keys(section);
    const wanted = ["block", "audiences", ...block.fields.map((f) => f.name)];
    const sorted = [...wanted.filter((k) => keys.includes(k)), ...keys.filter((k) => !wanted.includes(k))];
    const copy = { ...section };
    for (const k of keys) delete section[k];
    for (const k of sorted) section[k] = copy[k];
  }

  // The server's Markdown → HTML is shown through an allow-list of elements, rebuilt
  // node by node: nothing from the field can add a script, a style or a handler.
  const ALLOWED = new Set(["P", "BR", "STRONG", "EM", "B", "I", "A", "UL", "OL", "LI", "CODE", "PRE", "BLOCKQUOTE", "H1", "H2", "H3", "H4", "DEL", "S", "HR", "TABLE", "THEAD", "TBODY", "TR", "TH", "TD"]);

  function safeCopy(node) {
    if (node.nodeType === Node.TEXT_NODE) return document.createTextNode(node.textContent);
    if (node.nodeType !== Node.ELEMENT_NODE) return null;
    const kids = [...node.childNodes].map(safeCopy).filter(Boolean);
    if (!ALLOWED.has(node.tagName)) {
      const span = document.createElement("span");
      span.append(...kids);
      return span;
    }
    const el = document.createElement(node.tagName.toLowerCase());
    if (node.tagName === "A" && /^(https?:|mailto:|tel:)/i.test(node.getAttribute("href") || "")) {
      el.setAttribute("href", node.getAttribute("href"));
      el.setAttribute("target", "_blank");
      el.setAttribute("rel", "noopener noreferrer");
    }
    el.append(...kids);
    return el;
  }

  function showMarkdown(container, html) {
    const parsed = new DOMParser().parseFromString(`<body>${html || ""}</body>`, "text/html");
    container.replaceChildren(...[...parsed.body.childNodes].map(safeCopy).filter(Boolean));
  }

  return { h, form, field, showMarkdown, empty };
})();

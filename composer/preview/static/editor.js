// The editor panel of the preview page: the bulletin's details, its sections (move,
// remove with undo, duplicate, add from the block catalogue) and a form per section.
// Each change is composed as an unsaved draft at once (the panes follow it), and the
// open section is checked by the server with the same rules as the CLI. Save writes the
// file; the server refuses when the file changed on disk since it was loaded.
"use strict";

(() => {
  const { h, form, field, showMarkdown } = window.BulletinFields;
  const $ = (id) => document.getElementById(id);
  const panel = $("editor");
  const E = {
    open: false, token: "", base: "", doc: null, file: "", blocks: new Map(), segments: [],
    pictures: [], folder: "", dirty: false, selected: null, stale: false, removed: null,
    draftNo: 0, drafting: false, draftAgain: false, checking: false, checkAgain: false,
    problems: [], sectionProblems: [], markdownPaths: [],
  };

  // ---- talking to the server ----------------------------------------------------------

  async function post(url, body, headers) {
    const res = await fetch(url, {
      method: "POST",
      headers: { "X-Bulletin-Token": E.token, ...(headers || { "Content-Type": "application/json" }) },
      body: headers ? body : JSON.stringify(body),
    });
    let data = {};
    try {
      data = await res.json();
    } catch (err) {
      data = { message: `HTTP ${res.status}` };
    }
    return { status: res.status, ok: res.ok && data.ok !== false, ...data };
  }

  async function openSession() {
    const res = await fetch("/api/edit/session", { cache: "no-store" });
    if (!res.ok) {
      const body = await res.json().catch(() => ({}));
      throw new Error(body.message || `HTTP ${res.status}`);
    }
    const data = await res.json();
    Object.assign(E, {
      token: data.token, base: data.base, doc: data.document, file: data.file,
      blocks: new Map(data.blocks.map((b) => [b.name, b])), segments: data.segments,
      pictures: data.pictures, folder: data.picture_folder, dirty: false, stale: false,
    });
  }

  const sections = () => (E.doc && Array.isArray(E.doc.sections) ? E.doc.sections : []);
  const bulletinSegments = () => (Array.isArray(E.doc.segments) ? E.doc.segments : []);

  // ---- drafts and checks: one request in flight, the latest change always sent -------

  function changed() {
    E.dirty = true;
    draft(); // first: the compose is the long part, the panel can be redrawn meanwhile
    renderHeader();
    renderList();
    const heading = panel.querySelector("#section-form h2");
    const section = E.selected !== null ? sections()[E.selected - 1] : null;
    if (heading && section) heading.textContent = `Section ${E.selected}: ${titleOf(section)}`;
  }

  async function draft() {
    if (E.drafting) {
      E.draftAgain = true;
      return;
    }
    E.drafting = true;
    E.draftAgain = false;
    const number = ++E.draftNo;
    try {
      const shown = window.BulletinPreview.shown();
      // The open section is checked in the same request: one round trip a keystroke.
      const index = E.selected;
      const body = { number, document: E.doc, shown, check: index === null ? null : { index, markdown: E.markdownPaths } };
      const payload = await post("/api/edit/draft", body);
      if (!E.dirty) return;
      if (!payload.ok) {
        notice(payload.message || `The draft could not be composed (HTTP ${payload.status}).`, "error");
        return;
      }
      E.problems = payload.problems || [];
      if (payload.check && index === E.selected) checked(payload.check);
      window.BulletinPreview.showDraft(payload);
      renderProblems();
    } catch (err) {
      notice(`The preview did not answer (${err.message}). Is \`bulletin preview\` still running?`, "error");
    } finally {
      E.drafting = false;
      if (E.draftAgain) draft();
    }
  }

  async function check() {
    if (E.selected === null) return;
    if (E.checking) {
      E.checkAgain = true;
      return;
    }
    E.checking = true;
    E.checkAgain = false;
    const index = E.selected;
    try {
      const result = await post("/api/edit/check", { document: E.doc, index, markdown: E.markdownPaths });
      if (result.ok && index === E.selected) checked(result);
    } catch (err) {
      // The draft's request says when the preview is gone; a check has nothing to add.
    } finally {
      E.checking = false;
      if (E.checkAgain) check();
    }
  }

  function checked(result) {
    E.sectionProblems = result.problems || [];
    for (const box of panel.querySelectorAll("[data-markdown-path]")) {
      showMarkdown(box, (result.markdown || {})[box.dataset.markdownPath] || "");
    }
    renderProblems();
  }

  // ---- the panel --------------------------------------------------------------------

  function render() {
    panel.replaceChildren(
      h("div", { id: "editor-head", className: "editor-head" }),
      h("div", { id: "editor-notice", className: "editor-notice", role: "alert", hidden: true }),
      h("details", { className: "editor-meta", open: true }, h("summary", { text: "Bulletin details" }), h("div", { id: "editor-meta" })),
      h("h2", { className: "editor-title", text: "Sections" }),
      h("ol", { id: "section-list", className: "section-list" }),
      h("div", { id: "undo-bar", className: "undo-bar", hidden: true }),
      h("div", { id: "add-section", className: "add-section" }),
      h("div", { id: "section-form", className: "section-form" }),
    );
    renderHeader();
    renderMeta();
    renderList();
    renderAdd();
    renderForm();
  }

  function renderHeader() {
    const head = $("editor-head");
    if (!head) return;
    const status = E.stale ? "Changed on disk" : E.dirty ? "Unsaved changes" : "Saved";
    head.replaceChildren(
      h("p", { className: "editor-file", text: E.file }),
      h("span", { id: "save-status", className: `save-status ${E.dirty ? "dirty" : ""}`, "aria-live": "polite", text: status }),
      h("button", { type: "button", id: "save", className: "primary", disabled: !E.dirty, text: "Save", onclick: save }),
    );
  }

  function notice(message, kind, actions) {
    const box = $("editor-notice");
    box.hidden = !message;
    box.className = `editor-notice ${kind || ""}`;
    box.replaceChildren(h("p", { text: message || "" }), ...(actions || []));
  }

  // ---- the bulletin's details --------------------------------------------------------

  function perSegment(name, label, help) {
    // One text for everyone, or one per segment (`lmc: ...`): both as the file allows.
    const value = E.doc[name];
    const split = value && typeof value === "object";
    const box = h("fieldset", { className: "field per-segment", "data-field-group": name }, h("legend", { className: "field-label", text: label }));
    const toggle = h("input", {
      type: "checkbox", checked: split,
      onchange: () => {
        const first = split ? Object.values(value)[0] || "" : value || "";
        E.doc[name] = toggle.checked ? Object.fromEntries(bulletinSegments().map((s) => [s, first])) : first;
        changed();
        renderMeta();
      },
    });
    box.append(h("label", { className: "toggle" }, toggle, " A different one for each segment"));
    const keys = split ? Object.keys(value) : [null];
    for (const key of keys) {
      const path = key ? `${name}.${key}` : name;
      const spec = { name: key || name, label: key ? `${label} for ${key}` : label, widget: "text", help: "" };
      box.append(field(spec, key ? value[key] : value, path, (v) => {
        if (key) E.doc[name][key] = v || "";
        else E.doc[name] = v || "";
        changed();
      }, ctx));
    }
    box.append(h("p", { className: "help", text: help }));
    return box;
  }

  function renderMeta() {
    const meta = $("editor-meta");
    const segs = h("fieldset", { className: "field checks-row", "data-field-path": "segments" }, h("legend", { className: "field-label", text: "Segments it goes to" }));
    for (const seg of E.segments) {
      const box = h("input", {
        type: "checkbox", checked: bulletinSegments().includes(seg.name), "data-segment": seg.name,
        onchange: () => {
          const chosen = E.segments.map((s) => s.name).filter((n) => n === seg.name ? box.checked : bulletinSegments().includes(n));
          E.doc.segments = chosen;
          changed();
          renderForm();
        },
      });
      segs.append(h("label", { className: "toggle", title: seg.description }, box, ` ${seg.name}`));
    }
    segs.append(h("p", { className: "field-error", hidden: true }));
    meta.replaceChildren(
      perSegment("subject", "Subject", "The subject line: say what is inside; under about 78 characters shows whole in most inboxes."),
      perSegment("preheader", "Preheader", "The line inboxes show after the subject."),
      field({ name: "issue_date", label: "Issue date", widget: "date", required: true, help: "The date the bulletin is dated." }, E.doc.issue_date, "issue_date", (v) => {
        E.doc.issue_date = v || "";
        changed();
      }, ctx),
      segs,
    );
  }

  // ---- the list of sections ------------------------------------------------------------

  function titleOf(section) {
    const block = E.blocks.get(section.block);
    const value = block && block.title_field ? section[block.title_field] : null;
    return value ? String(value) : block ? block.label : String(section.block);
  }

  function audiencesOf(section) {
    return Array.isArray(section.audiences) ? section.audiences : typeof section.audiences === "string"
      ? section.audiences.split(",").map((a) => a.trim()).filter(Boolean) // `audiences: practice, lmc`
      : bulletinSegments();
  }

  function renderList() {
    const list = $("section-list");
    if (!list) return;
    const all = sections();
    list.replaceChildren(...all.map((section, i) => {
      const index = i + 1;
      const bad = E.problems.some((p) => p.section === index);
      const move = (delta) => {
        const to = i + delta;
        [all[i], all[to]] = [all[to], all[i]];
        if (E.selected === index) E.selected = to + 1;
        else if (E.selected === to + 1) E.selected = index;
        changed();
        renderForm();
      };
      return h("li", { className: `section-item ${E.selected === index ? "selected" : ""} ${bad ? "has-problem" : ""}`, "data-index": index, "data-block": section.block },
        h("button", { type: "button", className: "section-open", onclick: () => openSection(index), "aria-current": E.selected === index ? "true" : null },
          h("span", { className: "section-block", text: section.block }),
          h("span", { className: "section-title", text: titleOf(section) }),
          h("span", { className: "section-audiences", text: audiencesOf(section).join(", ") })),
        h("span", { className: "section-tools" },
          h("button", { type: "button", className: "small", text: "↑", "aria-label": `Move “${titleOf(section)}” up`, disabled: i === 0, onclick: () => move(-1) }),
          h("button", { type: "button", className: "small", text: "↓", "aria-label": `Move “${titleOf(section)}” down`, disabled: i === all.length - 1, onclick: () => move(1) }),
          h("button", { type: "button", className: "small", text: "Duplicate", "aria-label": `Duplicate “${titleOf(section)}”`, onclick: () => duplicate(i) }),
          h("button", { type: "button", className: "small danger", text: "Remove", "aria-label": `Remove “${titleOf(section)}”`, onclick: () => remove(i) })));
    }));
  }

  function duplicate(i) {
    sections().splice(i + 1, 0, JSON.parse(JSON.stringify(sections()[i])));
    changed();
    openSection(i + 2);
  }

  function remove(i) {
    const [section] = sections().splice(i, 1);
    E.removed = { section, at: i };
    if (E.selected === i + 1) E.selected = null;
    else if (E.selected > i + 1) E.selected -= 1;
    const bar = $("undo-bar");
    bar.hidden = false;
    bar.replaceChildren(
      h("span", { text: `Removed “${titleOf(section)}”.` }),
      h("button", { type: "button", className: "small", id: "undo-remove", text: "Undo", onclick: undo }),
    );
    changed();
    renderForm();
  }

  function undo() {
    if (!E.removed) return;
    sections().splice(E.removed.at, 0, E.removed.section);
    const index = E.removed.at + 1;
    E.removed = null;
    $("undo-bar").hidden = true;
    changed();
    openSection(index);
  }

  function renderAdd() {
    const box = $("add-section");
    const select = h("select", { id: "add-block", "aria-describedby": "add-block-about" });
    for (const block of E.blocks.values()) select.append(h("option", { value: block.name, text: `${block.label}: ${block.summary}` }));
    const about = h("p", { id: "add-block-about", className: "help" });
    const describe = () => {
      const block = E.blocks.get(select.value);
      about.textContent = block ? block.description : "";
    };
    select.addEventListener("change", describe);
    describe();
    const add = () => {
      const at = E.selected === null ? sections().length : E.selected;
      sections().splice(at, 0, { block: select.value });
      changed();
      openSection(at + 1);
    };
    box.replaceChildren(
      h("label", { className: "field-label", for: "add-block", text: "Add a section" }), select, about,
      h("button", { type: "button", id: "add-section-button", text: "Add it", onclick: add }),
      h("p", { className: "help", text: "It goes after the section that is open, or at the end." }),
    );
  }

  // ---- the form of the open section --------------------------------------------------------

  const ctx = {
    pictures: () => E.pictures,
    folder: () => E.folder,
    markdownPaths: [],
    async upload(file) {
      try {
        const result = await post(`/api/edit/upload?name=${encodeURIComponent(file.name)}`, file, { "Content-Type": "application/octet-stream" });
        if (result.ok) E.pictures = result.pictures;
        return result;
      } catch (err) {
        return { ok: false, message: `Not uploaded: the preview did not answer (${err.message}).` };
      }
    },
  };

  function openSection(index) {
    if (!E.open) setOpen(true);
    E.selected = index;
    E.sectionProblems = [];
    renderList();
    renderForm();
    check();
    window.BulletinPreview.selectSection(index);
    const item = panel.querySelector(`.section-item[data-index="${index}"]`);
    if (item) item.scrollIntoView({ block: "nearest" });
  }

  function audienceBoxes(section) {
    const box = h("fieldset", { className: "field checks-row", "data-field-path": "audiences" }, h("legend", { className: "field-label", text: "Who gets it" }));
    for (const seg of bulletinSegments()) {
      const input = h("input", {
        type: "checkbox", checked: audiencesOf(section).includes(seg), "data-audience": seg,
        onchange: () => {
          const had = audiencesOf(section);
          const next = input.checked ? [...had.filter((s) => bulletinSegments().includes(s)), seg] : had.filter((s) => s !== seg);
          if ("audiences" in section || next.length !== bulletinSegments().length) section.audiences = next;
          changed();
        },
      });
      box.append(h("label", { className: "toggle" }, input, ` ${seg}`));
    }
    box.append(h("p", { className: "help", text: "Untick a segment to leave this section out of its copy." }), h("p", { className: "field-error", hidden: true }));
    return box;
  }

  function renderForm() {
    const box = $("section-form");
    if (!box) return;
    const section = E.selected !== null ? sections()[E.selected - 1] : null;
    if (!section) {
      E.selected = null;
      window.BulletinPreview.selectSection(null);
      box.replaceChildren(h("p", { className: "help", text: "Choose a section above, or click one in the email, to edit it." }));
      return;
    }
    const block = E.blocks.get(section.block);
    ctx.markdownPaths = [];
    const head = h("div", { className: "form-head" },
      h("h2", { text: `Section ${E.selected}: ${titleOf(section)}` }),
      h("p", { className: "help", text: block ? block.description : `There is no block '${section.block}' in sections/.` }));
    if (!block) {
      box.replaceChildren(head);
      return;
    }
    box.replaceChildren(head, audienceBoxes(section), form(block, section, changed, ctx));
    E.markdownPaths = ctx.markdownPaths;
    renderProblems();
  }

  // ---- messages on the fields -------------------------------------------------------------

  function place(container, problem) {
    // The field's own box, or the nearest enclosing one (`timeline[2].at` → `timeline`).
    let path = problem.field || "";
    while (path) {
      for (const target of container.querySelectorAll(`[data-field-path="${CSS.escape(path)}"]`)) {
        if (target.querySelector(":scope > .field-error")) return target;
      }
      const shorter = path.replace(/(\.[^.[\]]+|\[\d+\])$/, "");
      if (shorter === path) break;
      path = shorter;
    }
    return null;
  }

  function renderProblems() {
    for (const el of panel.querySelectorAll(".field-error")) {
      el.hidden = true;
      el.textContent = "";
    }
    for (const el of panel.querySelectorAll(".invalid")) el.classList.remove("invalid");
    const form = $("section-form");
    const meta = $("editor-meta");
    const onForm = [...E.sectionProblems, ...E.problems.filter((p) => p.section === E.selected && !E.sectionProblems.length)];
    const unplaced = [];
    for (const problem of [...onForm.map((p) => [form, p]), ...E.problems.filter((p) => p.section === null).map((p) => [meta, p])]) {
      const [container, p] = problem;
      const target = container && place(container, p);
      const message = target && target.querySelector(":scope > .field-error");
      if (!message) {
        unplaced.push(p);
        continue;
      }
      message.hidden = false;
      message.textContent = p.reason;
      message.title = p.message;
      target.classList.add("invalid");
      const input = target.querySelector(":scope > input, :scope > textarea, :scope > select");
      if (input) input.setAttribute("aria-invalid", "true");
    }
    const others = E.problems.filter((p) => p.section !== null && p.section !== E.selected);
    const list = [...unplaced, ...others];
    if (!E.stale) notice(list.length ? list.map((p) => p.message).join("\n") : "", "error");
    renderListMarks();
  }

  function renderListMarks() {
    for (const item of panel.querySelectorAll(".section-item")) {
      item.classList.toggle("has-problem", E.problems.some((p) => p.section === Number(item.dataset.index)));
    }
  }

  // ---- saving, and the file changing under us ---------------------------------------------

  async function save() {
    if (E.saving) return;
    E.saving = true;
    $("save").disabled = true;
    $("save-status").textContent = "Saving…";
    let result;
    try {
      result = await post("/api/edit/save", { base: E.base, document: E.doc });
    } catch (err) {
      result = { ok: false, message: `Not saved: the preview did not answer (${err.message}). Is it still running?` };
    } finally {
      E.saving = false;
    }
    if (result.ok) {
      E.base = result.base;
      E.doc = result.document;
      E.dirty = false;
      E.problems = [];
      E.removed = null; // the undo is of an unsaved removal; after a save it is gone
      notice("", "");
      render();
      $("save-status").textContent = `Saved at ${new Date().toLocaleTimeString("en-GB")}`;
      window.BulletinPreview.reload();
      if (E.selected !== null) window.BulletinPreview.selectSection(E.selected);
      return;
    }
    if (result.stale) {
      E.stale = true;
      renderHeader();
      notice(result.message, "stale", [h("button", { type: "button", id: "reload-file", text: "Reload from disk", onclick: reload })]);
      return;
    }
    E.problems = result.problems || [];
    renderHeader();
    renderProblems();
    notice(result.message, "error");
  }

  async function reload() {
    try {
      await openSession();
    } catch (err) {
      notice(`Could not reload: ${err.message}`, "error");
      return;
    }
    E.problems = [];
    E.sectionProblems = [];
    notice("", "");
    render();
    window.BulletinPreview.reload();
  }

  document.addEventListener("bulletin:version", async () => {
    // Our own save announces itself too: its answer brings the new base.
    if (!E.open || E.stale || E.saving) return;
    // Only the file's digest: opening a session each time would use up session tokens.
    const res = await fetch("/api/edit/base", { cache: "no-store" });
    const data = res.ok ? await res.json() : null;
    if (!data || data.base === E.base || E.saving) return;
    if (!E.dirty) {
      await reload(); // nothing of ours to lose: show what is on disk
      return;
    }
    // Someone saved the file elsewhere: say so now rather than at the save.
    E.stale = true;
    renderHeader();
    notice(`${E.file} was changed on disk since you opened it here. Saving will be refused; reload to see those changes (your edits here will be lost).`, "stale",
      [h("button", { type: "button", id: "reload-file", text: "Reload from disk", onclick: reload })]);
  });

  // ---- opening and closing --------------------------------------------------------------

  async function setOpen(open) {
    E.open = open;
    document.body.classList.toggle("editing", open);
    $("edit-toggle").setAttribute("aria-pressed", String(open));
    panel.hidden = !open;
    if (open && !E.doc) {
      panel.replaceChildren(h("p", { text: "Opening the editor…" }));
      try {
        await openSession();
      } catch (err) {
        panel.replaceChildren(h("p", { className: "field-error", text: `The editor could not open: ${err.message}` }));
        E.doc = null;
        return;
      }
      render();
    } else if (open && E.dirty) {
      draft(); // the panes went back to the file while the editor was closed
    }
    if (!open) window.BulletinPreview.selectSection(null);
  }

  window.BulletinEditor = {
    isOpen: () => E.open,
    holdsDraft: () => E.open && E.dirty,
    openSection: (index) => (E.doc ? openSection(index) : setOpen(true).then(() => openSection(index))),
    dirty: () => E.dirty,
  };

  // Ctrl+S (⌘S) saves while editing, as in a word processor.
  document.addEventListener("keydown", (event) => {
    if (E.open && E.dirty && (event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "s") {
      event.preventDefault();
      save();
    }
  });

  document.addEventListener("bulletin:view", () => {
    if (E.dirty) draft();
  });

  window.addEventListener("beforeunload", (event) => {
    if (E.dirty) event.preventDefault();
  });

  const showToggle = (state) => {
    $("edit-toggle").hidden = !(state && state.editable);
  };
  document.addEventListener("bulletin:state", (event) => showToggle(event.detail));
  // The page may have drawn its first state before this script ran (deferred scripts
  // let other tasks in between them).
  showToggle(window.BulletinPreview.state());
  $("edit-toggle").addEventListener("click", () => setOpen(!E.open));
})();

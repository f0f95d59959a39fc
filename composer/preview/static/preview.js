// The preview page. It reads /api/state, shows each segment's email in a sandboxed
// iframe (no scripts run inside), and reloads when /events announces a new version.
"use strict";

(() => {
  const ui = { segment: "all", width: "desktop", view: "html", dark: false, recipient: "" };
  const WIDTHS = { desktop: 600, mobile: 375 };
  const WIDTH_LABELS = { desktop: "Desktop 600 px", mobile: "Mobile 375 px" };
  let state = null;
  let layoutKey = "";
  let loading = null;

  const $ = (id) => document.getElementById(id);
  const stage = $("stage");

  const { h } = window.BulletinDom; // dom.js

  function kb(bytes) {
    // Kilobytes of 1000 bytes, as the checks count them (Gmail clips at about 102 KB).
    return `${(bytes / 1000).toFixed(1).replace(/\.0$/, "")} KB`;
  }

  function time(iso) {
    return iso ? new Date(iso).toLocaleTimeString("en-GB") : "";
  }

  function shownSegments() {
    // "All side by side" is the single segments; a combination (lmc+practice) is shown
    // when picked.
    const copies = state ? state.segments : [];
    if (ui.segment === "all") return copies.filter((s) => !s.combination).map((s) => s.name);
    return copies.filter((s) => s.name === ui.segment).map((s) => s.name);
  }

  function shownWidths() {
    return ui.width === "both" ? ["desktop", "mobile"] : [ui.width];
  }

  function emailUrl(segment, part) {
    // The version in the URL is the email's digest: an unchanged pane is not reloaded.
    const info = state.segments.find((s) => s.name === segment);
    const q = new URLSearchParams({ r: ui.recipient, v: info && info.digest ? info.digest : `${state.instance}-${state.version}` });
    // The editor's unsaved draft: the server composes it, and its emails carry `draft`.
    if (state.draft) q.set("draft", "1");
    return `/email/${encodeURIComponent(segment)}/${part}?${q}`;
  }

  // ---- loading --------------------------------------------------------------------

  async function loadState() {
    if (loading) return loading;
    loading = (async () => {
      try {
        const res = await fetch("/api/state", { cache: "no-store" });
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        state = await res.json();
        render();
      } catch (err) {
        setStatus(`Could not read the preview state (${err.message}).`, "error");
      } finally {
        loading = null;
      }
    })();
    return loading;
  }

  function listen() {
    const source = new EventSource("/events");
    source.addEventListener("open", () => renderStatus());
    source.addEventListener("version", (event) => {
      const { version, instance } = JSON.parse(event.data);
      document.dispatchEvent(new CustomEvent("bulletin:version", { detail: { version, instance } }));
      // While the editor shows an unsaved draft, the panes follow the draft, not the file.
      if (window.BulletinEditor && window.BulletinEditor.holdsDraft()) return;
      if (!state || state.draft || version !== state.version || instance !== state.instance) loadState();
      else renderStatus();
    });
    source.addEventListener("error", () => {
      setStatus("Disconnected: is `bulletin preview` still running? Reconnecting…", "error");
    });
  }

  // ---- rendering ------------------------------------------------------------------

  function render() {
    if (!ui.recipient && state.samples.length) ui.recipient = state.samples[0].key;
    const names = state.segments.map((s) => s.name);
    // A draft may not hold the picked combination yet: the editor composes it next.
    if (ui.segment !== "all" && !names.includes(ui.segment) && !state.draft) ui.segment = "all";
    // The panes first: their emails load while the rest of the page is drawn.
    renderStage();
    renderBar();
    renderBanner();
    renderControls();
    renderChecks();
    renderStatus();
    document.body.dataset.version = String(state.version);
    document.body.dataset.draft = state.draft ? String(state.draft) : "";
    document.dispatchEvent(new CustomEvent("bulletin:state", { detail: state }));
  }

  function renderBar() {
    $("bulletin-file").textContent = state.bulletin;
    const seg = state.segments.find((s) => s.name === ui.segment) || state.segments[0];
    $("subject").textContent = seg ? seg.subject : "—";
    $("preheader").textContent = seg ? seg.preheader : "—";
    document.title = seg ? `Preview: ${seg.subject}` : "Bulletin preview";
  }

  function renderBanner() {
    const banner = $("error-banner");
    const error = state.error;
    banner.hidden = !error;
    if (!error) return;
    $("banner-reason").textContent = error.reason;
    $("banner-note").textContent = state.draft
      ? "Your unsaved change cannot compose yet; the field marked in the editor says what to fix. Below is the last version that composed."
      : state.composed_at
      ? `Below is the last good version, composed at ${time(state.composed_at)}. Fix the problem and save: the preview updates by itself.`
      : "Nothing has composed yet. Fix the problem and save: the preview updates by itself.";
    banner.dataset.message = error.message;
    const parts = $("banner-parts");
    parts.replaceChildren();
    const rows = [
      ["File", error.file],
      ["Line", error.line],
      ["Section", error.section],
      ["Block", error.block],
      ["Field", error.field],
    ];
    for (const [label, value] of rows) {
      if (value === null || value === undefined || value === "") continue;
      parts.append(h("div", { "data-part": label.toLowerCase() }, h("dt", { text: label }), h("dd", { text: String(value) })));
    }
    // Every problem of the bulletin, sorted by line, when there is more than one.
    const problems = error.problems || [];
    const list = $("banner-problems");
    list.hidden = problems.length < 2;
    list.replaceChildren(...problems.map((p) => h("li", {
      text: [p.file && p.file !== state.bulletin ? p.file : "", p.line ? `line ${p.line}` : "",
        p.section ? `section ${p.section}` : "", p.field ? `field '${p.field}'` : ""]
        .filter(Boolean).join(", ") + `: ${p.message}`,
    })));
  }

  function renderControls() {
    const box = $("segment-buttons");
    const singles = state.segments.filter((s) => !s.combination);
    const combos = state.segments.filter((s) => s.combination);
    const wanted = [...singles, ...combos].map((s) => [s.name, s.name, s.combination ? `The copy for someone in ${s.audience.join(" and ")}: every section of each, once` : null]);
    wanted.push(["all", "All side by side", null]);
    const buttons = [...box.querySelectorAll("button")].map((b) => b.dataset.segment);
    const have = buttons.join("|");
    // A draft composes only the combinations on screen: the others keep their buttons.
    const kept = state.draft && wanted.every(([n]) => buttons.includes(n));
    if (!kept && have !== wanted.map(([n]) => n).join("|")) {
      box.replaceChildren(
        ...wanted.map(([name, label, title]) =>
          h("button", {
            type: "button", "data-segment": name, text: label, title,
            className: title ? "combination" : null,
            onclick: () => setUi({ segment: name }),
          }),
        ),
      );
    }
    for (const b of box.querySelectorAll("button")) b.setAttribute("aria-pressed", String(b.dataset.segment === ui.segment));
    for (const b of document.querySelectorAll("#width-switch button")) b.setAttribute("aria-pressed", String(b.dataset.width === ui.width));
    for (const b of document.querySelectorAll("#view-switch button")) b.setAttribute("aria-pressed", String(b.dataset.view === ui.view));
    $("width-switch").disabled = ui.view !== "html";
    $("dark-toggle").checked = ui.dark;
    $("dark-note").hidden = !ui.dark;
    stage.classList.toggle("dark-sim", ui.dark);
    const select = $("recipient");
    if (select.options.length !== state.samples.length) {
      select.replaceChildren(...state.samples.map((s) => h("option", { value: s.key, text: s.label })));
    }
    select.value = ui.recipient;
  }

  function renderStage() {
    const segments = shownSegments();
    if (!segments.length) {
      layoutKey = "";
      const text = state.draft
        ? "Composing this copy of your unsaved draft…"
        : "Nothing to show yet: the bulletin has not composed. The banner above says why; fix it and save.";
      stage.replaceChildren(h("p", { className: "empty", text }));
      return;
    }
    const key = [ui.view, ui.view === "html" ? ui.width : "", ...segments].join("|");
    if (key !== layoutKey) {
      layoutKey = key;
      stage.replaceChildren(...segments.map(buildColumn));
    }
    for (const column of stage.querySelectorAll(".column")) {
      const info = state.segments.find((s) => s.name === column.dataset.segment);
      column.querySelector(".meta").textContent = info && info.html_bytes ? `${kb(info.html_bytes)} HTML` : "";
    }
    for (const frame of stage.querySelectorAll("iframe")) {
      const url = emailUrl(frame.dataset.segment, "html");
      if (frame.getAttribute("src") === url) {
        delete frame.dataset.pendingSrc;
      } else if (state.draft && !onStage(frame)) {
        // While typing, a pane scrolled out of sight waits until it is scrolled to:
        // laying out an email is most of a keystroke's cost on a small machine.
        frame.dataset.pendingSrc = url;
      } else {
        delete frame.dataset.pendingSrc;
        frame.setAttribute("src", url);
      }
    }
    for (const pre of stage.querySelectorAll("pre.plain")) loadText(pre);
  }

  function onStage(frame) {
    const a = frame.getBoundingClientRect();
    const b = stage.getBoundingClientRect();
    return a.right > b.left && a.left < b.right && a.bottom > b.top && a.top < b.bottom;
  }

  let pendingCheck = 0;
  function loadPendingOnStage() {
    if (pendingCheck) return;
    pendingCheck = requestAnimationFrame(() => {
      pendingCheck = 0;
      for (const frame of stage.querySelectorAll("iframe[data-pending-src]")) {
        if (!onStage(frame)) continue;
        frame.setAttribute("src", frame.dataset.pendingSrc);
        delete frame.dataset.pendingSrc;
      }
    });
  }
  stage.addEventListener("scroll", loadPendingOnStage);
  window.addEventListener("resize", loadPendingOnStage);

  function buildColumn(segment) {
    const heading = h("h3", {}, h("span", { text: segment }), h("span", { className: "meta" }));
    const column = h("div", { className: "column", "data-segment": segment }, heading);
    if (ui.view === "text") {
      column.append(h("pre", { className: "plain", "data-segment": segment, "aria-label": `${segment}: plain text part` }));
      return column;
    }
    const devices = h("div", { className: "devices" });
    for (const width of shownWidths()) {
      const frame = h("iframe", {
        title: `${segment}: ${WIDTH_LABELS[width]}`,
        // No allow-scripts: nothing in the email runs. allow-same-origin lets this page
        // size the frame and scroll it to a section; links open in a new tab.
        sandbox: "allow-same-origin allow-popups allow-popups-to-escape-sandbox",
        referrerpolicy: "no-referrer",
        width: WIDTHS[width],
        "data-segment": segment,
        "data-width": width,
        src: emailUrl(segment, "html"),
      });
      frame.style.width = `${WIDTHS[width]}px`;
      frame.addEventListener("load", () => frameLoaded(frame));
      devices.append(h("figure", { className: `device ${width}` }, h("figcaption", { text: WIDTH_LABELS[width] }), frame));
    }
    column.append(devices);
    return column;
  }

  function frameLoaded(frame) {
    const doc = frame.contentDocument;
    if (!doc || !doc.documentElement) return;
    // Fit the frame to the email, so the stage scrolls and the frame's own width stays
    // exactly 600 or 375 px (no scrollbar inside). The <html> element is as tall as the
    // email (emails set no height on it), so one layout tells, without collapsing the
    // frame first; the scrollbar goes before measuring, as it narrows the email.
    const top = stage.scrollTop;
    doc.documentElement.style.overflowY = "hidden";
    const height = Math.max(Math.ceil(doc.documentElement.getBoundingClientRect().height), 120);
    if (frame.style.height !== `${height}px`) frame.style.height = `${height}px`;
    stage.scrollTop = top;
    if (doc.head && !doc.getElementById("bt-preview-sim")) {
      const style = doc.createElement("style");
      style.id = "bt-preview-sim";
      style.textContent = "html.bt-dark-sim img { filter: invert(1) hue-rotate(180deg); }";
      doc.head.append(style);
    }
    doc.documentElement.classList.toggle("bt-dark-sim", ui.dark);
    if (!doc.btClicks) {
      doc.btClicks = true;
      doc.addEventListener("click", (event) => sectionClicked(doc, event), true);
    }
    if (selected !== null) markSection(frame, selected, false);
    frame.dataset.loadedSrc = frame.getAttribute("src");
    frame.dataset.loadedVersion = String(state.version);
  }

  async function loadText(pre) {
    const url = emailUrl(pre.dataset.segment, "text");
    if (pre.dataset.src === url) return;
    pre.dataset.src = url;
    try {
      const res = await fetch(url, { cache: "no-store" });
      const text = await res.text();
      if (pre.dataset.src !== url) return;
      pre.textContent = text;
      pre.dataset.loadedVersion = String(state.version);
    } catch (err) {
      pre.textContent = `Could not load the plain text (${err.message}).`;
    }
  }

  function renderChecks() {
    const gauges = $("gauges");
    const { clip_bytes: clip, warn_bytes: warn } = state.limits;
    gauges.replaceChildren(
      ...state.segments.map((s) => {
        const size = s.html_bytes || 0;
        const scale = Math.max(clip * 1.15, size * 1.05);
        const level = size > clip ? "over" : size > warn ? "warn" : "ok";
        const fill = h("div", { className: "gauge-fill" });
        fill.style.width = `${(100 * size) / scale}%`;
        const warnMark = h("div", { className: "gauge-mark warn", title: `${kb(warn)}: checks warn` });
        warnMark.style.left = `${(100 * warn) / scale}%`;
        const clipMark = h("div", { className: "gauge-mark clip", title: `${kb(clip)}: Gmail clips` });
        clipMark.style.left = `${(100 * clip) / scale}%`;
        const track = h(
          "div",
          {
            className: "gauge-track",
            role: "meter",
            "aria-label": `${s.name}: HTML size against Gmail's clip`,
            "aria-valuemin": 0,
            "aria-valuemax": clip,
            "aria-valuenow": size,
            "aria-valuetext": `${kb(size)} of ${kb(clip)}`,
          },
          fill,
          warnMark,
          clipMark,
        );
        return h(
          "div",
          { className: "gauge", "data-level": level, "data-segment": s.name },
          h("div", { className: "gauge-label" }, h("strong", { text: s.name }), h("span", { text: `${kb(size)} of ${kb(clip)}` })),
          track,
        );
      }),
      ...(state.segments.length
        ? [h("p", { className: "gauge-legend", text: `Gmail clips an HTML part over ${kb(clip)} (red line); the checks warn over ${kb(warn)}.` })]
        : []),
    );

    const { errors, warnings } = state.counts;
    const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
    const grouped = groupFindings(state.findings);
    const distinct = grouped.length < state.findings.length ? ` (${grouped.length} once grouped across segments)` : "";
    $("checks-summary").textContent = state.segments.length
      ? errors || warnings
        ? `${plural(errors, "error")}, ${plural(warnings, "warning")}${distinct}`
        : "No problems found."
      : "";
    $("findings").replaceChildren(...grouped.map(findingItem));
  }

  // The same finding in several segments (a vague link in a shared section) is listed
  // once, with the segments it is in.
  function groupFindings(findings) {
    const groups = new Map();
    for (const f of findings) {
      const key = [f.severity, f.code, f.message, f.section, f.anchor].join("\u0000");
      const group = groups.get(key) || { ...f, segments: [] };
      if (f.segment) group.segments.push(f.segment);
      groups.set(key, group);
    }
    return [...groups.values()];
  }

  function findingItem(f) {
    const item = h(
      "li",
      { className: `finding ${f.severity}`, "data-code": f.code },
      h("span", { className: "sev", text: f.severity }),
      h("span", { className: "code", text: f.code }),
      h("div", { text: f.message }),
    );
    const where = [];
    if (f.segments.length) where.push(f.segments.join(", "));
    if (f.section) where.push(`section ${f.section}${f.block ? ` (${f.block})` : ""}`);
    if (f.section && f.anchor) {
      const segment = f.segments[0] || (state.segments[0] && state.segments[0].name);
      const label = f.title ? `Show “${f.title}”` : `Show section ${f.section}`;
      const link = h("a", {
        href: `/email/${encodeURIComponent(segment)}/html#${encodeURIComponent(f.anchor)}`,
        className: "goto",
        "data-anchor": f.anchor,
        text: label,
        onclick: (event) => {
          event.preventDefault();
          goToSection(f);
        },
      });
      item.append(h("span", { className: "where" }, `${where.join(" · ")} · `, link));
    } else if (where.length) {
      item.append(h("span", { className: "where", text: where.join(" · ") }));
    }
    return item;
  }

  function renderStatus() {
    if (!state) return;
    if (state.draft && !state.error) {
      setStatus(`Unsaved draft composed in ${Math.round(state.duration_ms)} ms`, "draft");
    } else if (state.error) {
      setStatus(`Compose failed at ${time(state.attempted_at)}`, "error");
    } else if (state.composed_at) {
      setStatus(`Composed at ${time(state.composed_at)} in ${Math.round(state.duration_ms)} ms · live`, "live");
    }
  }

  function setStatus(text, kind) {
    const el = $("status");
    el.textContent = text;
    el.className = `status ${kind || ""}`;
  }

  // ---- going to a section -----------------------------------------------------------

  function framesReady() {
    const frames = [...stage.querySelectorAll("iframe")];
    return frames.every((f) => f.dataset.loadedSrc === f.getAttribute("src"));
  }

  function whenFramesReady() {
    return new Promise((resolve) => {
      const started = performance.now();
      const check = () => {
        if (framesReady() || performance.now() - started > 5000) resolve();
        else requestAnimationFrame(check);
      };
      check();
    });
  }

  async function goToSection(f) {
    const changes = {};
    if (ui.view !== "html") changes.view = "html";
    if (f.segments.length && ui.segment !== "all" && !f.segments.includes(ui.segment)) changes.segment = f.segments[0];
    if (Object.keys(changes).length) setUi(changes);
    await whenFramesReady();
    const frames = [...stage.querySelectorAll("iframe")].filter((fr) => !f.segments.length || f.segments.includes(fr.dataset.segment));
    let scrolled = false;
    for (const frame of frames) {
      const doc = frame.contentDocument;
      const target = doc && doc.getElementById(f.anchor);
      if (!target) continue;
      if (!scrolled) {
        const stageBox = stage.getBoundingClientRect();
        const frameBox = frame.getBoundingClientRect();
        const top = stage.scrollTop + frameBox.top - stageBox.top + target.getBoundingClientRect().top - 16;
        const left = stage.scrollLeft + frameBox.left - stageBox.left - 16;
        stage.scrollTo({ top, left: frameBox.right > stageBox.right || frameBox.left < stageBox.left ? left : stage.scrollLeft, behavior: "smooth" });
        scrolled = true;
      }
      highlight(target);
    }
  }

  // A section's anchor may be an empty <a id> before the section's blocks: outline the
  // elements that follow it, up to the next section's anchor.
  function sectionElements(anchor) {
    const box = anchor.getBoundingClientRect();
    if (box.width > 0 && box.height > 0) return [anchor];
    const found = [];
    for (let el = anchor.nextElementSibling; el && found.length < 20; el = el.nextElementSibling) {
      if (el.hasAttribute("data-section") || (el.id && el.id.startsWith("section-"))) break;
      found.push(el);
    }
    return found.length ? found : [anchor];
  }

  function highlight(anchor) {
    anchor.dataset.btHighlight = "1";
    const elements = sectionElements(anchor);
    const before = elements.map((el) => [el.style.outline, el.style.outlineOffset]);
    for (const el of elements) {
      el.style.outline = "3px solid #f79009";
      el.style.outlineOffset = "-3px";
    }
    setTimeout(() => {
      elements.forEach((el, i) => {
        [el.style.outline, el.style.outlineOffset] = before[i];
      });
      delete anchor.dataset.btHighlight;
    }, 2500);
  }

  // ---- the editor's hooks: a clicked section, the selected one, a draft ---------------

  let selected = null; // the section whose form is open (1-based), outlined in the email

  function sectionOf(doc, target) {
    // The section is the last anchor before the clicked element in document order.
    let found = null;
    for (const anchor of doc.querySelectorAll("a[data-section]")) {
      if (anchor === target || anchor.compareDocumentPosition(target) & Node.DOCUMENT_POSITION_FOLLOWING) found = anchor;
      else break;
    }
    return found ? Number(found.dataset.section) : null;
  }

  function sectionClicked(doc, event) {
    if (!window.BulletinEditor || !window.BulletinEditor.isOpen()) return;
    const index = sectionOf(doc, event.target);
    if (index === null) return;
    // While editing, a click picks the section; links are not followed.
    event.preventDefault();
    window.BulletinEditor.openSection(index);
  }

  function markSection(frame, index, scroll) {
    const doc = frame.contentDocument;
    if (!doc || !doc.documentElement) return;
    for (const el of doc.querySelectorAll("[data-bt-selected]")) {
      el.style.outline = "";
      el.style.outlineOffset = "";
      delete el.dataset.btSelected;
    }
    if (index === null) return;
    const anchor = doc.querySelector(`a[data-section="${index}"]`);
    if (!anchor) return;
    for (const el of sectionElements(anchor)) {
      el.dataset.btSelected = String(index);
      el.style.outline = "3px solid #0b5cad";
      el.style.outlineOffset = "-3px";
    }
    if (scroll) {
      const stageBox = stage.getBoundingClientRect();
      const frameBox = frame.getBoundingClientRect();
      const top = stage.scrollTop + frameBox.top - stageBox.top + anchor.getBoundingClientRect().top - 16;
      stage.scrollTo({ top, behavior: "smooth" });
    }
  }

  window.BulletinPreview = {
    state: () => state,
    reload: () => loadState(),
    // The copies the page wants on screen, composed or not yet (a combination picked
    // while a draft holds only the single segments).
    shown: () => (ui.segment === "all" ? shownSegments() : [ui.segment]),
    showDraft(payload) {
      state = payload;
      render();
    },
    selectSection(index) {
      selected = index;
      let first = true;
      for (const frame of stage.querySelectorAll("iframe")) {
        markSection(frame, index, first && index !== null && frame.contentDocument && frame.contentDocument.querySelector(`a[data-section="${index}"]`));
        if (frame.contentDocument && frame.contentDocument.querySelector(`a[data-section="${index}"]`)) first = false;
      }
    },
  };

  // ---- controls ---------------------------------------------------------------------

  function setUi(changes) {
    Object.assign(ui, changes);
    if (state) render();
    // A draft holds only the copies that were on screen: the editor composes the new view.
    if (state && state.draft && "segment" in changes) document.dispatchEvent(new CustomEvent("bulletin:view"));
  }

  for (const b of document.querySelectorAll("#width-switch button")) b.addEventListener("click", () => setUi({ width: b.dataset.width }));
  for (const b of document.querySelectorAll("#view-switch button")) b.addEventListener("click", () => setUi({ view: b.dataset.view }));
  $("dark-toggle").addEventListener("change", (event) => {
    setUi({ dark: event.target.checked });
    for (const frame of stage.querySelectorAll("iframe")) {
      const doc = frame.contentDocument;
      if (doc && doc.documentElement) doc.documentElement.classList.toggle("bt-dark-sim", ui.dark);
    }
  });
  $("recipient").addEventListener("change", (event) => setUi({ recipient: event.target.value }));

  loadState().then(listen);
})();

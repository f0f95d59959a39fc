// The one element builder for the preview page and the editor. Elements are built with
// the DOM, never innerHTML: everything shown comes from the bulletin, and the page's CSP
// allows no inline styles or scripts.
"use strict";

window.BulletinDom = (() => {
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "text") el.textContent = value;
      else if (key === "className") el.className = value;
      else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
      else el.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children) if (child) el.append(child);
    return el;
  }
  return { h };
})();

// The request form's file area: a person picks or drops pictures and videos, this page hashes
// them here (hasher.js, in a worker) and puts only the hashes in the form's hidden inputs.
// No file is ever read into the form: the file input has no name, and what is posted is
// each item's PDQ hashes, MD5 and SHA-256. Thumbnails are drawn on this device only.

import { hashFile } from "./hasher.js";

const THUMB_PX = 96;
const ANNOUNCE_EVERY_MS = 5000; // how often the live region repeats progress
const ZERO = "0".repeat(64);
const MIN_QUALITY = 50; // media/robust.py MIN_QUALITY

function fill(template, values) {
  return template.replace(/%\((\w+)\)s/g, (_, key) => String(values[key] ?? ""));
}

/** The PDQ hashes one item carries: a picture's own hash (its bank views go separately, by
 * name: itemViews), or a video's frames spread evenly over at most `max`. Weak frames
 * (quality < 50: flat or dark, they match too much) are left out but when all are weak;
 * the empty hash never; duplicates once. */
export function itemHashes(result, max) {
  const all = result.kind === "image" ? [result.pdq[0]] : result.pdq;
  const strong = all.filter((h) => h && (h.quality >= MIN_QUALITY || result.kind === "image"));
  const seen = new Set();
  const unique = [];
  for (const h of strong.length ? strong : all) {
    if (!h || h.hash === ZERO || seen.has(h.hash)) continue;
    seen.add(h.hash);
    unique.push(h.hash);
  }
  if (unique.length <= max) return unique;
  return Array.from({ length: max }, (_, i) => unique[Math.floor((i * unique.length) / max)]);
}

/** A picture's bank views as the form posts them, `<variant>:<quality>:<hash>`: its own hash
 * as `full` (saying its quality), then every view hashFile computed, each name once, at most
 * `max`. The server banks them by the rule it banks the same views of a file with. */
export function itemViews(result, max) {
  const own = result.kind === "image" ? result.pdq[0] : null;
  if (!own || own.hash === ZERO) return [];
  const names = new Set(["full"]);
  const tokens = [`full:${own.quality}:${own.hash}`];
  for (const view of result.views || []) {
    if (tokens.length >= max) break;
    if (!view || names.has(view.variant)) continue;
    names.add(view.variant);
    tokens.push(`${view.variant}:${view.quality}:${view.hash}`);
  }
  return tokens;
}

/** The item's `smooth` field: "1" for a smooth picture (a gradient, views.js bankViews)
 * sent with its views, so the server banks its hashes as smooth; "" otherwise. */
export function itemSmooth(result, views) {
  return result.kind === "image" && result.smooth === true && views.length > 0 ? "1" : "";
}

/** A small picture of the file on a canvas: nothing leaves the page, no URL outlives it. */
async function thumbnail(file, kind) {
  const canvas = document.createElement("canvas");
  canvas.className = "thumb";
  canvas.setAttribute("aria-hidden", "true");
  const ctx = canvas.getContext("2d");
  const draw = (source, width, height) => {
    const scale = THUMB_PX / Math.max(width, height, 1);
    canvas.width = Math.max(1, Math.round(width * scale));
    canvas.height = Math.max(1, Math.round(height * scale));
    ctx.drawImage(source, 0, 0, canvas.width, canvas.height);
  };
  try {
    if (kind === "video") {
      const url = URL.createObjectURL(file);
      const video = document.createElement("video");
      try {
        video.muted = true;
        video.preload = "auto";
        const ready = new Promise((resolve, reject) => {
          video.addEventListener("loadeddata", resolve, { once: true });
          video.addEventListener("error", reject, { once: true });
          setTimeout(reject, 10000);
        });
        video.src = url;
        await ready;
        draw(video, video.videoWidth, video.videoHeight);
      } finally {
        video.removeAttribute("src");
        video.load();
        URL.revokeObjectURL(url);
      }
    } else {
      const bitmap = await createImageBitmap(file, { resizeWidth: THUMB_PX * 2 });
      draw(bitmap, bitmap.width, bitmap.height);
      bitmap.close();
    }
  } catch {
    canvas.width = canvas.height = 1; // no preview: the name is shown anyway
  }
  return canvas;
}

function secondsText(area, seconds) {
  if (seconds < 90) {
    return fill(area.dataset.msgSecondsLeft, { n: Math.max(1, Math.round(seconds)) });
  }
  return fill(area.dataset.msgMinutesLeft, { n: Math.round(seconds / 60) });
}

/** Show the file area and wire it to the form. */
export function enhance(area) {
  const form = area.closest("form");
  const rows = document.getElementById("item-rows");
  const addRow = document.getElementById("add-item");
  const input = document.getElementById("file-input");
  const drop = document.getElementById("drop-zone");
  const list = document.getElementById("file-list");
  const progress = document.getElementById("hash-progress");
  const bar = document.getElementById("hash-bar");
  const label = document.getElementById("hash-label");
  const eta = document.getElementById("hash-eta");
  const cancel = document.getElementById("hash-cancel");
  const status = document.getElementById("hash-status");
  const maxItems = parseInt(rows.dataset.max, 10) || 20;
  const maxPdq = parseInt(area.dataset.maxPdq, 10) || 128;
  const maxViews = parseInt(area.dataset.maxViews, 10) || 306;
  const entries = []; // {file, kind, li, state: waiting|hashing|ready|failed, result, abort}
  let running = null;
  let lastAnnounce = 0;

  const say = (text) => { status.textContent = text; };
  const usedRows = () => Array.from(rows.querySelectorAll(".item-row")).filter((row) =>
    Array.from(row.querySelectorAll("input")).some((i) => i.value.trim() !== "")).length;

  function remove(entry, announce) {
    const at = entries.indexOf(entry);
    if (at < 0) return;
    entries.splice(at, 1);
    if (entry.abort) entry.abort.abort();
    const next = list.children[at + 1] || list.children[at - 1];
    entry.li.remove();
    if (announce) {
      say(fill(area.dataset.msgRemoved, { name: entry.file.name }));
      (next ? next.querySelector("button") : input).focus();
    }
  }

  function add(file) {
    if (usedRows() + entries.filter((e) => e.state !== "failed").length >= maxItems) {
      say(fill(area.dataset.msgFull, { max: maxItems }));
      return;
    }
    const kind = file.type.startsWith("video/") ? "video" : "image";
    const li = document.createElement("li");
    const name = document.createElement("span");
    name.className = "file-name";
    name.textContent = file.name;
    const state = document.createElement("span");
    state.className = "file-state";
    state.textContent = area.dataset.msgWaiting;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "secondary";
    button.textContent = fill(area.dataset.msgRemove, { name: file.name });
    const entry = { file, kind, li, stateEl: state, state: "waiting", result: null, abort: null };
    button.addEventListener("click", () => remove(entry, true));
    const text = document.createElement("div");
    text.className = "file-text";
    text.append(name, state);
    li.append(text, button);
    list.appendChild(li);
    entries.push(entry);
    thumbnail(file, kind).then((canvas) => { if (li.isConnected) li.prepend(canvas); });
  }

  async function work() {
    if (running) return;
    running = true;
    for (;;) {
      const entry = entries.find((e) => e.state === "waiting");
      if (!entry) break;
      entry.state = "hashing";
      entry.abort = new AbortController();
      const title = fill(area.dataset.msgHashing, { name: entry.file.name });
      entry.stateEl.textContent = title;
      label.textContent = title;
      bar.value = 0;
      eta.textContent = "";
      progress.hidden = false;
      say(title);
      lastAnnounce = performance.now();
      try {
        entry.result = await hashFile(entry.file, {
          signal: entry.abort.signal,
          onProgress: ({ done, total, etaSeconds }) => {
            bar.value = total ? (100 * done) / total : 0;
            eta.textContent = etaSeconds === undefined ? "" : secondsText(area, etaSeconds);
            const now = performance.now();
            if (eta.textContent && now - lastAnnounce > ANNOUNCE_EVERY_MS) {
              lastAnnounce = now;
              say(`${title}: ${eta.textContent}`);
            }
          },
        });
        entry.hashes = itemHashes(entry.result, maxPdq);
        entry.views = itemViews(entry.result, maxViews);
        entry.state = "ready";
        const count = new Set([...entry.hashes, ...entry.views.map((v) => v.slice(-64))]).size;
        entry.stateEl.textContent = fill(area.dataset.msgReady, { n: count });
        say(`${entry.file.name}: ${entry.stateEl.textContent}`);
      } catch (error) {
        if (error.name === "AbortError") continue; // removed or cancelled: said already
        entry.state = "failed";
        const key = {
          unsupported: "msgUnsupported",
          heic: "msgHeic",
          too_large: "msgTooLarge",
        }[error.code];
        entry.stateEl.textContent = area.dataset[key || "msgFailed"];
        entry.li.classList.add("failed");
        say(`${entry.file.name}: ${entry.stateEl.textContent}`);
      } finally {
        entry.abort = null;
      }
    }
    progress.hidden = true;
    running = false;
  }

  function choose(files) {
    Array.from(files).forEach(add);
    input.value = ""; // the same file can be chosen again after removing it
    work();
  }

  cancel.addEventListener("click", () => {
    entries.filter((e) => e.state === "waiting" || e.state === "hashing")
      .forEach((e) => remove(e, false));
    progress.hidden = true;
    say(area.dataset.msgCancelled);
    input.focus();
  });
  input.addEventListener("change", () => choose(input.files));
  // A file dropped anywhere else would make the browser open it instead of this page.
  ["dragover", "drop"].forEach((type) => window.addEventListener(type, (e) => e.preventDefault()));
  drop.addEventListener("dragover", () => drop.classList.add("over"));
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    drop.classList.remove("over");
    if (event.dataTransfer) choose(event.dataTransfer.files);
  });

  function freeRow() {
    const free = Array.from(rows.querySelectorAll(".item-row")).find((row) =>
      Array.from(row.querySelectorAll("input")).every((i) => i.value.trim() === ""));
    if (free) return free;
    if (addRow.hidden) return null;
    addRow.click();
    const all = rows.querySelectorAll(".item-row");
    return all[all.length - 1];
  }

  form.addEventListener("submit", (event) => {
    // A language switch posts the form to itself: ready hashes go along and come back.
    const switching = event.submitter && event.submitter.name === "switch_language";
    if (!switching && entries.some((e) => e.state === "waiting" || e.state === "hashing")) {
      event.preventDefault();
      say(area.dataset.msgWait);
      cancel.focus();
      return;
    }
    for (const entry of entries.filter((e) => e.state === "ready")) {
      const row = freeRow();
      if (!row) break; // over the limit: the server says so for the items it got
      const index = row.getAttribute("data-index");
      row.querySelector(`#items-${index}-pdq`).value = entry.hashes.join(" ");
      row.querySelector(`#items-${index}-views`).value = entry.views.join(" ");
      row.querySelector(`#items-${index}-smooth`).value = itemSmooth(entry.result, entry.views);
      row.querySelector(`#items-${index}-md5`).value = entry.result.md5;
      row.querySelector(`#items-${index}-sha256`).value = entry.result.sha256;
      entry.state = "posted";
    }
  });

  area.hidden = false;
}

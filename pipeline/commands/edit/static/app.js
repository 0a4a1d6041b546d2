// gallery edit: the page is a client of the editor's JSON API (docs/edit.md). Plain JavaScript, no
// build step. Every request carries the session's token: the API's as a Bearer header, pictures'
// in their address (an <img> cannot send a header).
"use strict";

const token = new URLSearchParams(location.search).get("token") || "";
const SAVE_DELAY_MS = 300; // after the last keystroke; a change reaches captions.toml well within a second
const BURST_COLOURS = ["#0b57a4", "#8a3b00", "#2f6b2f", "#7a1f7a", "#005f66", "#6b5300"];

const $ = (selector, root = document) => root.querySelector(selector);
const list = $("#photos");
const template = $("#photo-template");
const cards = new Map(); // source name -> its <li>
const pending = new Map(); // source name -> {fields, timer}: typed, not yet sent
let orderTimer = 0;
let orderPending = false;
let writes = Promise.resolve(); // changes are sent one at a time, in the order they were made
let altLimit = 150;
let postFile = "";
let publishing = false;

// ---- talking to the API ------------------------------------------------------------------------

async function request(method, path, body, keepalive = false) {
  const options = { method, keepalive, headers: { Authorization: `Bearer ${token}` } };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, options);
  } catch {
    throw new Error("the editor does not answer: is `gallery edit` still running?");
  }
  const text = await response.text();
  let data = null;
  try {
    data = JSON.parse(text);
  } catch {
    data = null;
  }
  if (!response.ok) {
    throw new Error((data && data.error) || `${response.status} ${text.trim() || response.statusText}`);
  }
  return data;
}

function queued(method, path, body) {
  const done = writes.then(() => request(method, path, body));
  writes = done.catch(() => {});
  return done;
}

const photoPath = (source) => `/api/photos/${encodeURIComponent(source)}`;
const pictureUrl = (source, view) => `${photoPath(source)}/${view}?token=${encodeURIComponent(token)}`;

// ---- saving ------------------------------------------------------------------------------------

function changed(source, field, value, delay = SAVE_DELAY_MS) {
  const entry = pending.get(source) || { fields: {}, timer: 0 };
  entry.fields[field] = value;
  clearTimeout(entry.timer);
  entry.timer = setTimeout(() => send(source), delay);
  pending.set(source, entry);
  saveStatus("Saving…");
}

function send(source, keepalive = false) {
  const entry = pending.get(source);
  if (!entry) return writes;
  pending.delete(source);
  clearTimeout(entry.timer);
  if (keepalive) return request("PATCH", photoPath(source), entry.fields, true);
  return queued("PATCH", photoPath(source), entry.fields).then(
    (listing) => {
      update(listing);
      settled();
    },
    (error) => {
      const again = pending.get(source) || { fields: {}, timer: 0 };
      again.fields = { ...entry.fields, ...again.fields }; // sent again with the next change, or on Publish
      pending.set(source, again);
      saveStatus(`Not saved: ${error.message}`, true);
    },
  );
}

function orderChanged(delay = SAVE_DELAY_MS) {
  orderPending = true;
  clearTimeout(orderTimer);
  orderTimer = setTimeout(sendOrder, delay);
  saveStatus("Saving…");
}

function sendOrder() {
  if (!orderPending) return writes;
  orderPending = false;
  clearTimeout(orderTimer);
  const names = [...list.children].map((card) => card.dataset.source);
  return queued("PUT", "/api/order", names).then(
    (listing) => {
      update(listing);
      settled();
    },
    (error) => {
      orderPending = true;
      saveStatus(`Order not saved: ${error.message}`, true);
    },
  );
}

function sendAll() {
  for (const source of [...pending.keys()]) send(source);
  sendOrder();
  return writes;
}

function settled() {
  if (!pending.size && !orderPending) saveStatus("All changes saved to captions.toml");
}

function saveStatus(text, isError = false) {
  const status = $("#save-status");
  if (status.textContent !== text) status.textContent = text;
  status.classList.toggle("failed", isError);
}

// ---- showing the photos ------------------------------------------------------------------------

function show(listing) {
  const set = listing.set;
  altLimit = set.alt_limit;
  postFile = set.post_file || "";
  $("#set-title").textContent = set.title || set.name;
  $("#set-where").textContent = `${set.source} → ${set.out}`;
  document.title = `${set.title || set.name} · gallery edit`;
  cards.clear();
  list.replaceChildren(...listing.photos.map((photo, index) => makeCard(photo, index)));
  update(listing);
  saveStatus(`${listing.photos.length} photos; changes are saved as you type`);
}

function update(listing, values = false) {
  const sets = [...listing.hints, ...listing.failures.map((failure) => `cannot be read: ${failure}`)];
  $("#set-hints").replaceChildren(...sets.map((text) => item(text)));
  $("#set-hints-section").hidden = sets.length === 0;
  for (const photo of listing.photos) {
    const card = cards.get(photo.source);
    if (card) refresh(card, photo, values);
  }
}

function makeCard(photo, index) {
  const card = template.content.firstElementChild.cloneNode(true);
  const id = `photo-${index}`;
  card.dataset.source = photo.source;
  cards.set(photo.source, card);
  for (const field of ["alt", "title", "caption"]) {
    const input = $(`.${field}`, card);
    input.id = `${id}-${field}`;
    $(`.label-${field}`, card).htmlFor = input.id;
    input.value = photo[field];
    input.addEventListener("input", () => {
      changed(photo.source, field, input.value);
      if (field === "alt") count(card);
    });
    input.addEventListener("blur", () => send(photo.source));
  }
  $(".alt-notes", card).id = `${id}-notes`;
  $(".alt", card).setAttribute("aria-describedby", `${id}-notes`);
  const skip = $(".skip-box", card);
  skip.id = `${id}-skip`;
  $(".label-skip", card).htmlFor = skip.id;
  skip.checked = photo.skip;
  skip.addEventListener("change", () => {
    card.classList.toggle("skipped", skip.checked);
    changed(photo.source, "skip", skip.checked, 0);
  });
  $(".name", card).textContent = photo.source;
  const thumb = $(".thumb", card);
  thumb.src = pictureUrl(photo.source, "thumbnail");
  thumb.addEventListener("error", () => {
    $(".enlarge", card).replaceChildren(document.createTextNode("No preview"));
  });
  const enlarge = $(".enlarge", card);
  enlarge.setAttribute("aria-label", `View ${photo.source} larger`);
  enlarge.addEventListener("click", () => openViewer(photo.source));
  const handle = $(".handle", card);
  handle.setAttribute("aria-label", `Move ${photo.source}`);
  handle.addEventListener("keydown", (event) => moveByKey(event, card));
  handle.addEventListener("pointerdown", (event) => drag(event, card));
  count(card);
  return card;
}

function refresh(card, photo, values) {
  const number = photo.skip ? "Skipped: not in the post" : photo.number ? `No. ${photo.number}` : "Not numbered";
  $(".number", card).textContent = `${number} · ${photo.published ? "published" : "not published"}`;
  const badges = [];
  if (photo.group !== null) {
    badges.push(item(`Burst ${photo.group}: ${photo.burst.length + 1} frames`));
    if (photo.pick) badges.push(item("Suggested pick", "pick"));
    card.style.setProperty("--burst", BURST_COLOURS[(photo.group - 1) % BURST_COLOURS.length]);
  }
  card.classList.toggle("in-burst", photo.group !== null);
  for (const flag of photo.flags) badges.push(item(flag, "flag"));
  $(".badges", card).replaceChildren(...badges);
  if (values) {
    for (const field of ["alt", "title", "caption"]) $(`.${field}`, card).value = photo[field];
    $(".skip-box", card).checked = photo.skip;
    count(card);
  }
  card.classList.toggle("skipped", $(".skip-box", card).checked);
  const alt = $(".alt", card);
  const notes = photo.hints.map((hint) => item(hint));
  if (photo.effective && !alt.value) notes.push(item(`Empty: published as “${photo.effective.alt}”.`, "note"));
  $(".hints", card).replaceChildren(...notes);
  alt.placeholder = photo.effective ? photo.effective.alt : "";
  $(".title", card).placeholder = photo.effective ? photo.effective.title : "";
}

function count(card) {
  const length = $(".alt", card).value.length;
  const counter = $(".count", card);
  counter.textContent = `${length} of ${altLimit} characters`;
  counter.classList.toggle("over", length > altLimit);
}

function item(text, kind = "") {
  const li = document.createElement("li");
  li.textContent = text;
  if (kind) li.className = kind;
  return li;
}

// ---- order: by keyboard and by dragging ----------------------------------------------------------

function moveByKey(event, card) {
  const steps = { ArrowUp: -1, ArrowLeft: -1, ArrowDown: 1, ArrowRight: 1, Home: -Infinity, End: Infinity };
  if (!(event.key in steps)) return;
  event.preventDefault();
  const items = [...list.children];
  const from = items.indexOf(card);
  const to = Math.max(0, Math.min(items.length - 1, from + steps[event.key]));
  if (to === from) return;
  if (to > from) items[to].after(card);
  else items[to].before(card);
  $(".handle", card).focus();
  announce(`${card.dataset.source}: position ${to + 1} of ${items.length}`);
  orderChanged();
}

function drag(event, card) {
  if (event.button !== 0) return;
  event.preventDefault();
  const before = [...list.children].indexOf(card);
  card.classList.add("dragging");
  // Listened to on the document: moving the card in the list ends any pointer capture on its handle.
  const move = (moved) => {
    if (moved.clientY < 48) window.scrollBy(0, -24);
    else if (moved.clientY > window.innerHeight - 48) window.scrollBy(0, 24);
    const under = document.elementFromPoint(moved.clientX, moved.clientY)?.closest(".photo");
    if (!under || under === card || under.parentNode !== list) return;
    const items = [...list.children];
    if (items.indexOf(under) > items.indexOf(card)) under.after(card);
    else under.before(card);
  };
  const end = () => {
    document.removeEventListener("pointermove", move);
    document.removeEventListener("pointerup", end);
    document.removeEventListener("pointercancel", end);
    card.classList.remove("dragging");
    const after = [...list.children].indexOf(card);
    if (after !== before) {
      announce(`${card.dataset.source}: position ${after + 1} of ${list.children.length}`);
      orderChanged(0);
    }
  };
  document.addEventListener("pointermove", move);
  document.addEventListener("pointerup", end);
  document.addEventListener("pointercancel", end);
}

function announce(text) {
  $("#announce").textContent = text;
}

// ---- the larger view ---------------------------------------------------------------------------

function openViewer(source) {
  const viewer = $("#viewer");
  $("#viewer-title").textContent = source;
  const image = $("#viewer-image");
  image.alt = `${source}, larger`;
  image.src = pictureUrl(source, "large");
  viewer.showModal();
}

// ---- publishing --------------------------------------------------------------------------------

async function publish() {
  if (publishing) return;
  publishing = true;
  const button = $("#publish");
  button.setAttribute("aria-disabled", "true");
  const started = Date.now();
  const summary = $("#result-summary");
  $("#result").hidden = false;
  $("#progress").hidden = false;
  $("#result-problems").replaceChildren();
  $("#result-block").hidden = true;
  summary.textContent = "Publishing…";
  $("#result-heading").focus();
  const bar = $("#progress");
  bar.removeAttribute("value");
  const ticking = setInterval(async () => {
    const seconds = Math.round((Date.now() - started) / 1000);
    try {
      const state = await request("GET", "/api/publish");
      if (state.total) {
        bar.max = state.total;
        bar.value = state.rendered;
        summary.textContent = `Publishing… ${state.rendered} of ${state.total} photos rendered, ${seconds} s`;
        return;
      }
    } catch {
      // the count is a courtesy: the publish itself says how it ended
    }
    summary.textContent = `Publishing… ${seconds} s`;
  }, 500);
  try {
    await sendAll();
    if (pending.size || orderPending) throw new Error("some changes are not saved yet: see above");
    showRun(await request("POST", "/api/publish"));
    update(await request("GET", "/api/photos"));
  } catch (error) {
    summary.textContent = `Not published: ${error.message}`;
  } finally {
    clearInterval(ticking);
    $("#progress").hidden = true;
    button.removeAttribute("aria-disabled");
    publishing = false;
  }
}

function showRun(run) {
  const failures = run.failures.length ? `; ${run.failures.length} could not be published` : "";
  const seconds = run.seconds.toFixed(1);
  $("#result-summary").textContent = `Published ${run.photos.length} photos as ${run.name} in ${seconds} s${failures}.`;
  const problems = [
    ...run.failures.map((p) => item(`${p.path}: ${p.message}`, "failure")),
    ...run.warnings.map((p) => item(`${p.path}: ${p.message}`)),
    ...run.alt_warnings.map((p) => item(`alt text: ${p.path}: ${p.message}`)),
  ];
  if (run.post) problems.unshift(item(`The post ${postFile}: ${run.post}`));
  $("#result-problems").replaceChildren(...problems);
  $("#block").value = run.markup;
  $("#result-block").hidden = !run.markup;
}

// ---- start -------------------------------------------------------------------------------------

async function start() {
  $("#publish").addEventListener("click", publish);
  $("#viewer-close").addEventListener("click", () => $("#viewer").close());
  $("#copy").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText($("#block").value);
      announce("The block is copied");
    } catch {
      $("#block").select();
    }
  });
  window.addEventListener("pagehide", () => {
    for (const source of [...pending.keys()]) send(source, true);
  });
  document.addEventListener("visibilitychange", async () => {
    if (document.hidden || pending.size || orderPending) return;
    try {
      const listing = await request("GET", "/api/photos"); // changes made in another tab
      if (listing.photos.length !== cards.size || !listing.photos.every((photo) => cards.has(photo.source))) {
        show(listing);
        return;
      }
      list.replaceChildren(...listing.photos.map((photo) => cards.get(photo.source)));
      update(listing, true);
    } catch {
      // the next change says what is wrong
    }
  });
  try {
    show(await request("GET", "/api/photos"));
  } catch (error) {
    const message = $("#error");
    message.textContent = `The photos cannot be shown: ${error.message}`;
    message.hidden = false;
    saveStatus("Not loaded", true);
  }
}

start();

"use strict";
// The gaitid page: the gallery, identification of an uploaded video, live sources, and search of an archive
// index when the server has one.
// The token comes from the link `gaitid serve` prints (#token=...), or is pasted; it is kept in this tab's
// sessionStorage only and sent as `Authorization: Bearer` with every API call.

const TOKEN_KEY = "gaitid-token";
const $ = (selector) => document.querySelector(selector);
let token = null;
let selectedSource = null;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : String(child ?? ""));
  return node;
}

function describe(detail) {
  if (Array.isArray(detail)) {
    return detail.map((d) => `${(d.loc || []).slice(1).join(".") || "request"}: ${d.msg}`).join("; ");
  }
  return String(detail);
}

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(path, options = {}) {
  const headers = { Authorization: `Bearer ${token}` };
  let body = options.body;
  if (options.json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(options.json);
  }
  const response = await fetch(path, { method: options.method || "GET", headers, body, signal: options.signal });
  if (response.status === 401) {
    askForToken("The token was refused: paste the current one.");
    throw new ApiError(401, "not authorised");
  }
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try { message = describe((await response.json()).detail); } catch (_) { /* not JSON */ }
    throw new ApiError(response.status, message);
  }
  return response;
}

const getJson = async (path, options) => (await api(path, options)).json();

// -- the token -----------------------------------------------------------------------------------------------

function askForToken(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  token = null;
  $("#app").hidden = true;
  $("#token-panel").hidden = false;
  $("#token-error").textContent = message || "";
}

async function useToken(candidate) {
  token = candidate;
  try {
    const health = await getJson("/api/health");
    sessionStorage.setItem(TOKEN_KEY, candidate);
    $("#token-panel").hidden = true;
    $("#app").hidden = false;
    showHealth(health);
    return true;
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) askForToken(error.message);
    return false;
  }
}

function showHealth(health) {
  $("#server-state").textContent =
    `gaitid ${health.version} · ${health.people} enrolled${health.ready ? "" : " (identification needs 2)"}`;
}

// -- the gallery ---------------------------------------------------------------------------------------------

async function loadPeople() {
  const people = await getJson("/api/people");
  const body = $("#people tbody");
  body.replaceChildren(...people.map((p) => el("tr", { "data-name": p.name },
    el("td", { class: "name" }, p.name),
    el("td", { class: "enrolments" }, p.enrolments),
    el("td", { class: "vectors" }, p.vectors),
    el("td", {}, new Date(p.created * 1000).toLocaleString()),
    el("td", {},
      el("button", { class: "secondary rename", type: "button", onclick: () => renamePerson(p.name) }, "Rename"), " ",
      el("button", { class: "danger remove", type: "button", onclick: () => confirmRemove(p.name) }, "Remove")),
  )));
  $("#people-empty").hidden = people.length > 0;
  const select = $("#search-form select[name=person]");
  const chosen = select.value;
  select.replaceChildren(...people.map((p) => el("option", { value: p.name }, p.name)));
  if (people.some((p) => p.name === chosen)) select.value = chosen;
  showHealth(await getJson("/api/health"));
}

async function renamePerson(name) {
  const next = window.prompt(`New name for ${name}:`, name);
  if (!next || next.trim() === name) return;
  try {
    await api(`/api/people/${encodeURIComponent(name)}`, { method: "PATCH", json: { name: next.trim() } });
  } catch (error) { alert(error.message); }
  await loadPeople();
}

function confirmRemove(name) {
  const dialog = $("#confirm-remove");
  $("#confirm-name").textContent = name;
  dialog.returnValue = "";
  dialog.onclose = async () => {
    if (dialog.returnValue !== "remove") return;
    try {
      await api(`/api/people/${encodeURIComponent(name)}`, { method: "DELETE" });
    } catch (error) { alert(error.message); }
    await loadPeople();
  };
  dialog.showModal();
}

// -- jobs ----------------------------------------------------------------------------------------------------

function formWithout(form, emptyFields) {
  const data = new FormData(form);
  for (const field of emptyFields) if (!data.get(field)) data.delete(field);
  return data;
}

async function runJob(path, data, statusBox) {
  statusBox.replaceChildren("uploading…");
  const job = await getJson(path, { method: "POST", body: data });
  return followJob(job.id, statusBox);
}

async function followJob(id, statusBox) {
  for (;;) {
    const job = await getJson(`/api/jobs/${id}`);
    if (job.status === "queued") {
      statusBox.replaceChildren(`queued (position ${job.queue_position})`);
    } else if (job.status === "running") {
      const bar = el("progress", { max: "1", value: String(job.progress) });
      statusBox.replaceChildren("processing ", bar, ` ${Math.round(job.progress * 100)} %`);
    } else {
      return job;
    }
    await new Promise((resolve) => setTimeout(resolve, 400));
  }
}

function showFailure(statusBox, job) {
  statusBox.replaceChildren(el("span", { class: "error" }, `${job.status}: ${job.error}`));
}

// A form's work: its button disabled meanwhile, an error shown in its status box.
async function whileBusy(button, statusBox, work) {
  button.disabled = true;
  try {
    await work();
  } catch (error) {
    statusBox.replaceChildren(el("span", { class: "error" }, error.message));
  } finally {
    button.disabled = false;
  }
}

async function onEnroll(event) {
  event.preventDefault();
  const form = event.target;
  const status = $("#enroll-status");
  await whileBusy(form.querySelector("button"), status, async () => {
    const job = await runJob("/api/people", formWithout(form, ["track", "frames"]), status);
    if (job.status !== "done") {
      showFailure(status, job);
    } else {
      const r = job.result;
      status.replaceChildren(`enrolled ${r.name} from track ${r.track} (frames ${r.frames[0]}–${r.frames[1]}): ` +
        `${r.vectors_added} vectors`);
      form.reset();
    }
  });
  await loadPeople();
}

async function onIdentify(event) {
  event.preventDefault();
  const form = event.target;
  const status = $("#identify-status");
  $("#identify-result").hidden = true;
  await whileBusy(form.querySelector("button"), status, async () => {
    const job = await runJob("/api/identify", formWithout(form, ["frames"]), status);
    if (job.status !== "done") {
      showFailure(status, job);
      return;
    }
    const result = job.result;
    status.replaceChildren(`${result.tracks.length} tracks in ${result.frames} frames (${result.seconds} s)`);
    $("#result-tracks tbody").replaceChildren(...result.tracks.map((t) => el("tr", { "data-track": t.id },
      el("td", {}, `#${t.id}`),
      el("td", { class: `answer ${t.status === "unknown" ? "unknown" : ""}` },
        t.status === "identified" ? t.name : t.status === "unknown" ? "unknown" : "—"),
      el("td", {}, t.score === null ? "" : t.score.toFixed(2)),
      el("td", {}, `${t.first_frame}–${t.last_frame}`),
      el("td", {}, t.windows),
      el("td", { class: "status" }, t.reason || t.status),
    )));
    if (job.video_url) {
      const blob = await (await api(job.video_url)).blob();
      const video = $("#result-video");
      if (video.src) URL.revokeObjectURL(video.src);
      video.src = URL.createObjectURL(blob);
    }
    $("#identify-result").hidden = false;
  });
}

// -- live sources --------------------------------------------------------------------------------------------

async function onStartLive(event) {
  event.preventDefault();
  const form = event.target;
  $("#live-error").textContent = "";
  try {
    const source = await getJson("/api/sources", { method: "POST", json: { spec: form.spec.value.trim() } });
    selectSource(source.id);
  } catch (error) {
    $("#live-error").textContent = error.message;
  }
  await loadSources();
}

// Lists polled every few seconds are redrawn only when they changed, so that their buttons stay put.
const drawn = new Map();
function changed(key, value) {
  const text = JSON.stringify(value);
  if (drawn.get(key) === text) return false;
  drawn.set(key, text);
  return true;
}

async function loadSources() {
  const sources = await getJson("/api/sources");
  const shown = sources.find((s) => s.id === selectedSource);
  if (shown) showTracks(shown);
  const summary = sources.map((s) => [s.id, s.spec, s.status, s.error, Math.floor(s.frames / 25), s.fps]);
  if (!changed("sources", summary)) return;
  $("#sources").replaceChildren(...sources.map((s) => el("li", { "data-source": s.id },
    el("a", { href: "#live", onclick: () => selectSource(s.id) }, s.spec),
    ` — ${s.status}${s.error ? `: ${s.error}` : ""}, ${s.frames} frames${s.fps ? `, ${s.fps} fps` : ""} `,
    el("button", { class: "secondary stop", type: "button", onclick: () => stopSource(s.id) },
      s.status === "running" ? "Stop" : "Close"),
  )));
}

async function stopSource(id) {
  try { await api(`/api/sources/${id}`, { method: "DELETE" }); } catch (error) { $("#live-error").textContent = error.message; }
  if (selectedSource === id) {
    selectedSource = null;
    drawn.delete("tracks");
  }
  $("#live-view").hidden = selectedSource === null;
  await loadSources();
}

function selectSource(id) {
  selectedSource = id;
  drawn.delete("tracks");
  $("#live-view").hidden = false;
  $("#live-title").textContent = `Source ${id}`;
  pollFrame();
}

let framePolling = false;
async function pollFrame() {
  if (framePolling) return;
  framePolling = true;
  let last = null;
  try {
    while (selectedSource !== null && token !== null) {
      const id = selectedSource;
      try {
        const response = await api(`/api/sources/${id}/frame.jpg`);
        const sequence = response.headers.get("X-Frame");
        if (response.status === 200 && sequence !== last) {
          last = sequence;
          const image = $("#live-frame");
          const old = image.src;
          image.src = URL.createObjectURL(await response.blob());
          if (old) URL.revokeObjectURL(old);
        }
      } catch (error) {
        if (error.status === 404) { selectedSource = null; break; }
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } finally {
    framePolling = false;
  }
}

function showTracks(source) {
  if (!changed("tracks", [source.spec, source.status, source.identifying, source.tracks])) return;
  $("#live-title").textContent = `${source.spec} — ${source.status}` +
    (source.identifying ? "" : " (collecting vectors: identification needs 2 people enrolled)");
  $("#live-tracks tbody").replaceChildren(...source.tracks.map((t) => el("tr", { "data-track": t.id },
    el("td", {}, `#${t.id}`),
    el("td", { class: "answer" }, t.status === "identified" ? t.name : t.status === "unknown" ? "unknown" : "—"),
    el("td", {}, t.score === null ? "" : t.score.toFixed(2)),
    el("td", {}, t.windows),
    el("td", {}, t.in_view ? "yes" : "left"),
    el("td", {}, t.windows > 0
      ? el("button", { class: "secondary", type: "button", onclick: () => enrollTrack(source.id, t.id) }, "Enrol as…")
      : ""),
  )));
}

async function enrollTrack(sourceId, trackId) {
  const name = window.prompt(`Enrol track #${trackId} as:`);
  if (!name || !name.trim()) return;
  try {
    await api(`/api/sources/${sourceId}/tracks/${trackId}/enroll`, { method: "POST", json: { name: name.trim() } });
  } catch (error) { alert(error.message); }
  await loadPeople();
}

// -- search of the archive index ----------------------------------------------------------------------------

function clock(seconds) {
  const minutes = Math.floor(Math.max(0, seconds) / 60);
  return `${minutes}:${(Math.max(0, seconds) - 60 * minutes).toFixed(1).padStart(4, "0")}`;
}

async function loadArchive() {
  let archive;
  try {
    archive = await getJson("/api/archive");
  } catch (error) {
    if (error.status === 404) return;  // no index: no search section
    throw error;
  }
  $("#search").hidden = false;
  $("#search-link").hidden = false;
  $("#archive-state").textContent = `${archive.tracks} tracks of ${archive.videos} videos searchable` +
    (archive.up_to_date ? "" : " (more are being indexed)") +
    (archive.playback ? "" : "; videos cannot be played: the server was started without --archive");
}

async function onSearch(event) {
  event.preventDefault();
  const form = event.target;
  await search({ person: form.person.value, top: Number(form.top.value) || 20 }, `person ${form.person.value}`);
}

async function search(query, label) {
  const status = $("#search-status");
  status.replaceChildren(`searching for ${label}…`);
  await whileBusy($("#search-form button"), status, async () => {
    showAppearances(await getJson("/api/search", { method: "POST", json: query }));
  });
}

async function onSearchClip(event) {
  event.preventDefault();
  const form = event.target;
  const status = $("#search-status");
  await whileBusy(form.querySelector("button"), status, async () => {
    const data = formWithout(form, ["track"]);
    data.set("top", String(Number($("#search-form").top.value) || 20));
    const job = await runJob("/api/search/video", data, status);
    if (job.status !== "done") {
      const tracks = (job.tracks || []).map((t) => `track ${t.id}: frames ${t.first_frame}–${t.last_frame}`).join("; ");
      showFailure(status, { ...job, error: tracks ? `${job.error} (${tracks})` : job.error });
    } else {
      showAppearances(job.result);
    }
  });
}

function showAppearances(result) {
  const found = result.appearances.length + result.more;
  $("#search-status").replaceChildren(`${result.query}: ${found} appearance${found === 1 ? "" : "s"} ` +
    `(${result.checked} of ${result.tracks} tracks decided; about ${result.expected_false_appearances} strangers' ` +
    `tracks expected to pass by chance at ${result.target_fpir})`);
  $("#search-results").replaceChildren(...result.appearances.map(appearanceCard));
  $("#search-ending").textContent = result.ending;
}

function appearanceCard(a) {
  const when = `${clock(a.first_time)}–${clock(a.last_time)}` + (a.start ? ` (${a.start})` : "");
  const view = a.thumbnail ? el("img", { src: a.thumbnail, alt: `track ${a.track}` }) : el("div", { class: "no-view" }, "no view");
  const again = el("button", { class: "secondary where-else", type: "button" }, "Where else?");
  again.addEventListener("click", (event) => {
    event.stopPropagation();
    search({ video_id: a.video_id, track: a.track, top: Number($("#search-form").top.value) || 20 },
      `${a.video} track ${a.track}`);
  });
  const card = el("figure", { class: a.video_url ? "playable" : "", "data-rank": a.rank, title: a.video_url ? "play" : "" },
    view,
    el("figcaption", {}, `#${a.rank} `, el("span", { class: "score" }, a.score.toFixed(3)), el("br"),
      `${a.camera} · ${a.video}`, el("br"), `track ${a.track}, ${when}`, el("br"), again));
  card.addEventListener("click", () => play(a, card));
  return card;
}

function play(a, card) {
  const player = $("#search-player");
  const video = $("#search-video");
  for (const other of document.querySelectorAll("#search-results figure.playing")) other.classList.remove("playing");
  card.classList.add("playing");
  player.hidden = false;
  if (!a.video_url) {
    video.removeAttribute("src");
    video.load();
    $("#search-playing").textContent = `${a.video} cannot be played here: it is not in the archive folders the server plays from`;
    return;
  }
  $("#search-playing").textContent = `${a.camera} · ${a.video}, track ${a.track}, from ${clock(a.first_time)}`;
  video.addEventListener("loadedmetadata", () => {
    if (Math.abs(video.currentTime - a.first_time) > 0.25) video.currentTime = a.first_time;
    video.play().catch(() => { /* the user presses play */ });
  }, { once: true });
  video.src = `${a.video_url}#t=${a.first_time.toFixed(2)}`;
}

// -- events (server-sent, read with fetch so that the token goes in a header) -------------------------------

async function followEvents() {
  let lastId = null;
  while (token !== null) {
    try {
      const headers = { Authorization: `Bearer ${token}` };
      if (lastId !== null) headers["Last-Event-ID"] = lastId;
      const response = await fetch("/api/events", { headers });
      if (!response.ok) throw new Error(String(response.status));
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
          if (!data) continue;
          const event = JSON.parse(data);
          lastId = String(event.id);
          onEvent(event);
        }
      }
    } catch (_) { /* reconnect below */ }
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

function onEvent(event) {
  let text = null;
  if (event.type === "walker") {
    const who = event.name ?? (event.score === null ? "no answer" : "unknown");
    text = `${new Date(event.wall_time * 1000).toLocaleTimeString()} track #${event.track} ${event.event}: ${who}` +
      (event.score === null ? "" : ` (${event.score.toFixed(2)})`);
    if (event.source === selectedSource) loadSources();
  } else if (event.type === "source") {
    text = `source ${event.source}: ${event.status}${event.error ? ` (${event.error})` : ""}`;
    loadSources();
  } else if (event.type === "job" && ["done", "failed", "cancelled"].includes(event.status)) {
    text = `${event.kind} job ${event.job}: ${event.status}`;
  }
  if (text === null) return;
  const list = $("#events");
  list.prepend(el("li", { class: `event-${event.type}` }, text));
  while (list.children.length > 100) list.lastChild.remove();
}

// -- start ---------------------------------------------------------------------------------------------------

async function start() {
  $("#token-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (await useToken($("#token-input").value.trim())) await afterLogin();
  });
  $("#enroll-form").addEventListener("submit", onEnroll);
  $("#identify-form").addEventListener("submit", onIdentify);
  $("#live-form").addEventListener("submit", onStartLive);
  $("#search-form").addEventListener("submit", onSearch);
  $("#search-clip-form").addEventListener("submit", onSearchClip);

  const fromLink = new URLSearchParams(location.hash.slice(1)).get("token");
  if (fromLink) history.replaceState(null, "", location.pathname + location.search);
  const candidate = fromLink || sessionStorage.getItem(TOKEN_KEY);
  if (candidate && await useToken(candidate)) await afterLogin();
  else if (!candidate) askForToken();
}

async function afterLogin() {
  await Promise.all([loadPeople(), loadSources(), loadArchive()]);
  followEvents();
  setInterval(() => { if (token !== null) loadSources().catch(() => {}); }, 2000);
}

document.addEventListener("DOMContentLoaded", start);

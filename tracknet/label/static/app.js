// tracknet label: the page's state, its frames, the panel, the mouse and the keys.
// Drawing is in draw.js, the talk with the server (edits, versions, undo) in sync.js.
import { drawMagnifier, drawTimeline, drawView, fitView, toImage, toScreen, zoomAt } from './draw.js';
import { createSync } from './sync.js';

const $ = (id) => document.getElementById(id);
const TRAIL = 10; // neighbouring frames drawn on each side
const CACHE = 24; // frames kept by the page
const AHEAD = 3; // frames the page asks for ahead of the one shown
const RETRY_MS = 5000; // a picture that failed is asked for again after this (or a reconnect)

const KEYS = [
  [['←', '→'], 'previous / next frame'], [['Shift+←', 'Shift+→'], '10 frames back / forward'],
  [['Home', 'End'], 'first / last frame'], [['Space'], 'play / pause'],
  [['click'], 'the ball is here, visible'], [['Shift+click'], 'the ball is here, occluded'],
  [['O'], 'occluded: at the cursor (else where the label or suggestion is)'],
  [['N'], 'no ball in this frame'], [['Del', 'C'], "clear this frame's label"],
  [['Z', 'Ctrl+Z'], 'undo'], [['Y', 'Ctrl+Y'], 'redo'],
  [['U'], 'next unlabelled frame'], [['R'], 'next frame that needs review'],
  [['A'], "accept the model's suggestion"],
  [['Shift+A'], 'accept the suggestions from here to the next frame that needs review'],
  [['H'], 'hit (again: unmark)'], [['B'], 'bounce (again: unmark)'],
  [['I'], 'interpolate between the confirmed positions around this frame'],
  [['F'], 'auto-advance after labelling'], [['M'], 'magnifier on / off'],
  [['+', '-', '0'], 'zoom in / out / fit'], [['wheel', 'drag'], 'zoom at the cursor / pan'],
  [['?'], 'this help (Esc closes)'],
];

// Why a frame is in the review queue (the list's tooltips; the server's reasons).
const REASONS = {
  'off flight': 'the trajectory of the neighbouring frames does not explain this position (an outlier)',
  jump: 'far from where the neighbouring frames put the ball',
  rival: 'a second candidate scored almost as high: the model may have picked the wrong one',
  'low confidence': "the model's score is close to its threshold",
  'faint ball': "no ball suggested, but the model's best peak is close to its threshold",
  missed: 'no ball, inside a flight the neighbouring frames trace',
  lost: 'no ball between two frames that have one',
  isolated: 'a ball between two frames without one',
  'short run': 'a ball seen in only a frame or two, with no ball around',
  flip: 'the ball appears or disappears here',
};

const st = {
  info: null, frame: 0, version: 0, view: { scale: 1, ox: 0, oy: 0 }, fitted: true,
  labels: new Map(), pending: new Map(), foreign: new Map(), own: new Set(),
  sugg: { state: 'off', done: 0, total: 0, next: 0 }, review: [], reviewSet: new Set(),
  undo: [], redo: [], img: null, imgFrame: -1, loading: false, cursor: null, retryAt: 0, failed: -1,
  playing: false, autoAdvance: false, magnifier: true, online: true, reviewDirty: true,
};
const images = new Map();

// ------------------------------------------------------------------ messages
let messageTimer = null;
function message(text, kind = 'info') {
  const el = $('message');
  el.textContent = text;
  el.className = kind;
  el.hidden = false;
  clearTimeout(messageTimer);
  messageTimer = setTimeout(() => { el.hidden = true; }, kind === 'info' ? 3000 : 8000);
}

function setSaved(kind, text) {
  const el = $('saved');
  el.className = `pill ${kind === 'ok' ? 'visible' : kind === 'busy' ? '' : 'error'}`;
  el.textContent = text;
}

const sync = createSync(st, { render: () => render(), message, setSaved, goTo: (f) => goTo(f) });
const { enqueue, getJSON, wire, applyChanges, reloadLabels, edit, serverEdit, undo, restartHint } = sync;

// The picture of the frame in the header is on screen: only then may the frame be labelled.
function shown() {
  return !!st.img && st.imgFrame === st.frame;
}

function canLabel() {
  if (shown()) return true;
  message(`Frame ${st.frame} is not shown yet (its picture has not loaded): nothing was labelled.`, 'warn');
  return false;
}

// ------------------------------------------------------------------ suggestions and review
function allocSuggestions(n) {
  Object.assign(st.sugg, {
    have: new Uint8Array(n), visible: new Uint8Array(n), x: new Float32Array(n),
    y: new Float32Array(n), score: new Float32Array(n),
  });
}

function suggestion(f) {
  const s = st.sugg;
  if (!s.have || !s.have[f]) return null;
  return { visible: !!s.visible[f], x: s.x[f], y: s.y[f], score: s.score[f] };
}

function applySuggestions(d) {
  const s = st.sugg;
  for (const [f, vis, x, y, score] of d.items) {
    s.have[f] = 1; s.visible[f] = vis; s.x[f] = x; s.y[f] = y; s.score[f] = score;
  }
  if (d.items.length || d.state !== s.state) st.reviewDirty = true;
  Object.assign(s, { state: d.state, done: d.done, total: d.total, next: d.next, error: d.error });
  renderModel();
}

function renderModel() {
  const s = st.sugg;
  $('model').hidden = !st.info.model;
  if (s.state === 'loading' || s.state === 'waiting') $('model-progress').removeAttribute('value');
  else $('model-progress').value = s.total ? s.done / s.total : 0;
  $('model-text').textContent = s.state === 'loading' ? 'loading the model…'
    : s.state === 'waiting' ? 'starting the model…'
      : s.state === 'error' ? `error: ${s.error}` : `${s.done} / ${s.total}${s.state === 'done' ? ' ✓' : ''}`;
}

async function refreshReview() {
  const data = await getJSON('/api/review');
  st.review = data.frames;
  st.reviewSet = new Set(data.frames.map((r) => r.frame));
  st.reviewDirty = false;
  renderReview();
}

// The queue, most doubtful first: rank, frame, main reason and doubt (0-1), why in a tooltip.
function renderReview() {
  const list = $('review-list');
  list.replaceChildren(...st.review.slice(0, 60).map((r, i) => {
    const li = document.createElement('li');
    const rank = document.createElement('span');
    rank.className = 'rank';
    rank.textContent = `${i + 1}.`;
    const reasons = r.reasons && r.reasons.length ? r.reasons : [r.reason];
    li.append(rank, `frame ${r.frame} · ${r.reason} (${r.need.toFixed(2)})`);
    li.title = `doubt ${r.need.toFixed(2)} (0: none, 1: most):\n`
      + reasons.map((why) => `${why}: ${REASONS[why] || why}`).join('\n');
    li.dataset.frame = r.frame;
    return li;
  }));
  const state = st.sugg.state;
  $('review-count').textContent = st.review.length ? `(${st.review.length})`
    : state === 'done' ? '– none' : ['off', 'error', 'stopped'].includes(state) ? '' : '– waiting for the model';
}

// The server answers again: it may be a new process (restarted, another model or none). Read
// what it serves, its labels, and its model's progress and review queue from the start.
async function reconnected() {
  const info = await getJSON('/api/info');
  const same = ['source', 'frames', 'width', 'height'].every((k) => info[k] === st.info[k]);
  if (!same) { window.location.reload(); return; }
  st.info = info;
  await reloadLabels();
  allocSuggestions(info.frames);
  Object.assign(st.sugg, { state: info.model ? 'waiting' : 'off', done: 0, total: 0, next: 0, error: '' });
  st.review = [];
  st.reviewSet = new Set();
  st.reviewDirty = true;
  renderModel();
  renderReview();
  message('The server is back: the page shows its saved labels.');
  setSaved('ok', `saved · v${st.version}`);
  st.retryAt = 0; // a picture that could not be loaded is asked for again at once
}

function modelRunning() {
  return !['off', 'done', 'error', 'stopped'].includes(st.sugg.state);
}

async function poll() {
  if (!st.paused) await enqueue(async () => {
    try {
      const data = await getJSON(`/api/labels?since=${st.version}`);
      if (!st.online) await reconnected(); else applyChanges(data);
      st.online = true;
      if (st.info.model && (modelRunning() || st.sugg.next < st.sugg.done)) {
        applySuggestions(await getJSON(`/api/suggestions?since=${st.sugg.next}`));
      }
      if (st.info.model && st.reviewDirty) await refreshReview();
      // a frame whose picture could not be loaded (the server was away): load it again
      if (!st.loading && !shown() && performance.now() >= st.retryAt) goTo(st.frame);
      render();
    } catch (err) {
      if (st.online) message(`The server cannot be reached: edits are not saved until it is back. ${restartHint()}`, 'error');
      st.online = false;
      setSaved('error', 'offline');
    }
  });
  setTimeout(poll, modelRunning() ? 500 : 1000);
}

// ------------------------------------------------------------------ frames
function imageOf(f) {
  let img = images.get(f);
  if (img) { images.delete(f); images.set(f, img); return img; }
  img = new Image();
  img.src = `/api/frames/${f}.jpg`;
  const forget = () => { if (images.get(f) === img) images.delete(f); return false; };
  img.ready = img.decode().then(() => true, forget);
  images.set(f, img);
  while (images.size > CACHE) images.delete(images.keys().next().value);
  return img;
}

async function goTo(f) {
  const n = st.info.frames;
  f = Math.max(0, Math.min(n - 1, f));
  st.frame = f;
  const t0 = performance.now();
  const img = imageOf(f);
  st.loading = true;
  render();
  const ok = await img.ready;
  if (st.frame !== f) return;
  st.loading = false;
  if (ok) {
    st.img = img;
    st.imgFrame = f;
    st.retryAt = 0;
    st.failed = -1;
    $('latency').textContent = `${Math.round(performance.now() - t0)} ms`;
  } else {
    // said once per frame (the retries of the same frame stay quiet)
    if (st.failed !== f) message(`Frame ${f} could not be loaded: it takes no label until its picture is shown (tried again while the server answers).`, 'error');
    st.failed = f;
    st.retryAt = performance.now() + RETRY_MS;
  }
  render();
  if (ok) for (let k = 1; k <= AHEAD && f + k < n; k++) imageOf(f + k);
}

async function togglePlay() {
  st.playing = !st.playing;
  renderPanel();
  while (st.playing && st.frame < st.info.frames - 1) {
    const t0 = performance.now();
    await goTo(st.frame + 1);
    const wait = 1000 / st.info.fps - (performance.now() - t0);
    if (wait > 0) await new Promise((done) => setTimeout(done, wait));
  }
  st.playing = false;
  renderPanel();
}

// ------------------------------------------------------------------ drawing
function trail(f) {
  const out = [];
  for (let d = -TRAIL; d <= TRAIL; d++) {
    const g = f + d;
    if (d === 0 || g < 0 || g >= st.info.frames) continue;
    const l = st.labels.get(g);
    if (l && l.visibility !== 'none') out.push({ d, x: l.x, y: l.y, confirmed: true });
    else if (!l) {
      const s = suggestion(g);
      if (s && s.visible) out.push({ d, x: s.x, y: s.y, confirmed: false });
    }
  }
  return out;
}

// What the view draws. A picture of another frame (the one asked for has not loaded) is drawn
// dimmed, without this frame's label, suggestion or trail, which belong to another picture.
function scene() {
  const f = st.frame;
  const current = shown();
  return {
    img: st.img, view: st.view, width: st.info.width, height: st.info.height, loading: st.loading,
    stale: current ? null : f, label: current ? st.labels.get(f) || null : null,
    suggestion: current ? suggestion(f) : null, trail: current ? trail(f) : [], trailLength: TRAIL,
  };
}

function renderView() {
  const s = scene();
  drawView($('view'), s);
  const mag = $('magnifier');
  mag.hidden = !(st.magnifier && st.cursor && shown());
  if (mag.hidden) return;
  const [u, v] = toImage(st.view, st.cursor.sx, st.cursor.sy);
  const viewer = $('viewer');
  const size = mag.width;
  let left = st.cursor.sx + 24;
  let top = st.cursor.sy + 24;
  if (left + size > viewer.clientWidth) left = st.cursor.sx - 24 - size;
  if (top + size > viewer.clientHeight) top = st.cursor.sy - 24 - size;
  mag.style.left = `${left}px`;
  mag.style.top = `${top}px`;
  drawMagnifier(mag, s, u, v, Math.max(8, Math.min(32, st.view.scale * 2)));
}

function describe(l) {
  if (!l) return 'unlabelled';
  if (l.visibility === 'none') return 'no ball';
  const event = l.status === 1 ? ', hit' : l.status === 2 ? ', bounce' : '';
  return `${l.visibility} at (${l.x}, ${l.y})${event} · code ${l.code ?? '…'}`;
}

function renderPanel() {
  const f = st.frame;
  const l = st.labels.get(f);
  const s = suggestion(f);
  $('frame-no').textContent = `frame ${f} / ${st.info.frames - 1}`;
  const pill = $('frame-state');
  if (shown()) {
    pill.textContent = l ? (l.visibility === 'none' ? 'no ball' : l.visibility) : s ? 'suggested' : 'unlabelled';
    pill.className = `pill ${l ? l.visibility : s ? 'suggested' : ''}`;
  } else {
    pill.textContent = st.loading ? 'loading…' : 'not loaded: no labels';
    pill.className = `pill ${st.loading ? '' : 'error'}`;
  }
  $('viewer').classList.toggle('stale', !shown());
  $('label-text').textContent = describe(l);
  $('suggestion-text').textContent = !s ? (st.info.model ? 'no suggestion yet' : 'no model (--checkpoint)')
    : `model: ${s.visible ? `ball at (${s.x.toFixed(1)}, ${s.y.toFixed(1)}), score ${s.score.toFixed(2)}` : 'no ball'}`;
  const counts = { visible: 0, occluded: 0, none: 0 };
  let events = 0;
  for (const v of st.labels.values()) { counts[v.visibility] += 1; if (v.status) events += 1; }
  $('counts').textContent = `labelled ${st.labels.size} of ${st.info.frames}: ${counts.visible} visible, `
    + `${counts.occluded} occluded, ${counts.none} no ball; ${events} event(s)`;
  $('auto-advance').hidden = !st.autoAdvance;
  document.querySelector('[data-action=play]').textContent = st.playing ? 'pause' : 'play';
  for (const li of $('review-list').children) li.classList.toggle('current', +li.dataset.frame === f);
}

function render() {
  if (!st.info) return;
  renderView();
  renderPanel();
  drawTimeline($('timeline'), {
    frames: st.info.frames, current: st.frame, labels: st.labels, suggestion,
    review: st.reviewSet,
  });
}

// ------------------------------------------------------------------ actions
function labelAt(kind, u, v) {
  const { width, height } = st.info;
  if (u < -0.5 || v < -0.5 || u > width - 0.5 || v > height - 0.5) return false;
  const round = (a, hi) => Math.round(Math.max(0, Math.min(hi, a)) * 10) / 10;
  const old = st.labels.get(st.frame);
  const status = old && old.visibility !== 'none' ? old.status : 0;
  edit([{ frame: st.frame, label: { visibility: kind, x: round(u, width - 1), y: round(v, height - 1), status } }]);
  if (st.autoAdvance) goTo(st.frame + 1);
  return true;
}

function cursorImage() {
  return st.cursor ? toImage(st.view, st.cursor.sx, st.cursor.sy) : null;
}

const actions = {
  occluded() {
    if (!canLabel()) return;
    const at = cursorImage();
    if (at && labelAt('occluded', at[0], at[1])) return;
    const l = st.labels.get(st.frame);
    const s = suggestion(st.frame);
    const src = l && l.visibility !== 'none' ? l : s && s.visible ? s : null;
    if (!src) { message('Point at the ball and press O (or Shift+click it).'); return; }
    labelAt('occluded', src.x, src.y);
  },
  noball() {
    if (!canLabel()) return;
    edit([{ frame: st.frame, label: { visibility: 'none', x: 0, y: 0, status: 0 } }]);
    if (st.autoAdvance) goTo(st.frame + 1);
  },
  clear() {
    if (st.labels.has(st.frame) && canLabel()) edit([{ frame: st.frame, label: null }]);
  },
  event(status) {
    if (!canLabel()) return;
    const l = st.labels.get(st.frame);
    if (!l || l.visibility === 'none') { message('Label the ball first (click it, or A to accept the suggestion).'); return; }
    edit([{ frame: st.frame, label: { ...wire(l), status: l.status === status ? 0 : status } }]);
  },
  hit() { actions.event(1); },
  bounce() { actions.event(2); },
  accept(range = false) {
    if (!st.info.model) { message('No model: start tracknet label with --checkpoint RUN_DIR.'); return; }
    if (!canLabel()) return;
    const frames = [];
    for (let f = st.frame; f < st.info.frames; f++) {
      if (st.labels.has(f) || !suggestion(f) || (f !== st.frame && st.reviewSet.has(f))) break;
      frames.push(f);
      if (!range) break;
    }
    if (!frames.length) { message(st.labels.has(st.frame) ? 'This frame is labelled already.' : 'No suggestion for this frame yet.'); return; }
    serverEdit('/api/accept', { frames }, frames).then(() => goTo(frames[frames.length - 1] + (range ? 1 : 0)));
  },
  interpolate() { serverEdit('/api/interpolate', { frame: st.frame }, []); },
  undo() { undo(false); },
  redo() { undo(true); },
  play() { togglePlay(); },
  nextUnlabelled() {
    const n = st.info.frames;
    for (let k = 1; k <= n; k++) {
      const f = (st.frame + k) % n;
      if (!st.labels.has(f)) { goTo(f); return; }
    }
    message('Every frame is labelled.');
  },
  nextReview() {
    const q = st.review.filter((r) => !st.labels.has(r.frame));
    if (!q.length) { message(st.info.model ? 'Nothing needs review.' : 'No model: nothing to review.'); return; }
    const i = q.findIndex((r) => r.frame === st.frame);
    goTo(q[(i + 1) % q.length].frame);
  },
  zoom(factor) {
    const c = $('view');
    st.view = zoomAt(st.view, factor, c.clientWidth / 2, c.clientHeight / 2);
    st.fitted = false;
    renderView();
  },
  fit() {
    const c = $('view');
    st.view = fitView(st.info.width, st.info.height, c.clientWidth, c.clientHeight);
    st.fitted = true;
    renderView();
  },
  help(show) { $('help').hidden = show === undefined ? !$('help').hidden : !show; },
};

function onKey(e) {
  const helpOpen = !$('help').hidden;
  if (helpOpen && (e.key === 'Escape' || e.key === '?')) { actions.help(false); e.preventDefault(); return; }
  if (helpOpen) return;
  const k = e.key;
  const ctrl = e.ctrlKey || e.metaKey;
  if (ctrl && (k === 'z' || k === 'Z')) { actions[e.shiftKey ? 'redo' : 'undo'](); e.preventDefault(); return; }
  if (ctrl && (k === 'y' || k === 'Y')) { actions.redo(); e.preventDefault(); return; }
  if (ctrl || e.altKey) return;
  const step = e.shiftKey ? 10 : 1;
  const keys = {
    ArrowRight: () => goTo(st.frame + step), ArrowLeft: () => goTo(st.frame - step),
    Home: () => goTo(0), End: () => goTo(st.info.frames - 1), ' ': actions.play,
    o: actions.occluded, n: actions.noball, c: actions.clear, Delete: actions.clear,
    Backspace: actions.clear, z: actions.undo, y: actions.redo, u: actions.nextUnlabelled,
    r: actions.nextReview, a: () => actions.accept(false), A: () => actions.accept(true),
    h: actions.hit, b: actions.bounce, i: actions.interpolate, '?': () => actions.help(),
    f: () => { st.autoAdvance = !st.autoAdvance; renderPanel(); },
    m: () => { st.magnifier = !st.magnifier; renderView(); },
    '+': () => actions.zoom(1.25), '=': () => actions.zoom(1.25), '-': () => actions.zoom(0.8),
    0: actions.fit, Escape: () => { $('message').hidden = true; },
  };
  const fn = keys[k] || keys[k.toLowerCase && !e.shiftKey ? k.toLowerCase() : k];
  if (!fn) return;
  if (st.playing && k !== ' ') st.playing = false;
  e.preventDefault();
  fn();
}

// ------------------------------------------------------------------ mouse
function setupMouse() {
  const viewer = $('viewer');
  const canvas = $('view');
  let drag = null;
  // Browsers report whole CSS pixels: the pointer is somewhere in that pixel, take its centre.
  const local = (e) => {
    const r = canvas.getBoundingClientRect();
    const half = (a) => (Number.isInteger(a) ? 0.5 : 0);
    return [e.clientX - r.left + half(e.clientX), e.clientY - r.top + half(e.clientY)];
  };
  viewer.addEventListener('mousedown', (e) => {
    if (e.button !== 0 && e.button !== 1) return;
    e.preventDefault();
    drag = { x: e.clientX, y: e.clientY, ox: st.view.ox, oy: st.view.oy, moved: false, button: e.button, shift: e.shiftKey };
  });
  window.addEventListener('mousemove', (e) => {
    if (drag) {
      const dx = e.clientX - drag.x;
      const dy = e.clientY - drag.y;
      if (!drag.moved && Math.hypot(dx, dy) > 3) { drag.moved = true; viewer.classList.add('panning'); }
      if (drag.moved) { st.view = { ...st.view, ox: drag.ox + dx, oy: drag.oy + dy }; st.fitted = false; }
    }
    const [sx, sy] = local(e);
    const inside = sx >= 0 && sy >= 0 && sx < canvas.clientWidth && sy < canvas.clientHeight;
    st.cursor = inside ? { sx, sy } : null;
    renderView();
  });
  window.addEventListener('mouseup', (e) => {
    if (!drag) return;
    const d = drag;
    drag = null;
    viewer.classList.remove('panning');
    if (d.moved || d.button !== 0) return;
    const [sx, sy] = local(e);
    const [u, v] = toImage(st.view, sx, sy);
    if (!canLabel()) return;
    if (!labelAt(d.shift || e.shiftKey ? 'occluded' : 'visible', u, v)) message('That is outside the frame.');
  });
  viewer.addEventListener('wheel', (e) => {
    e.preventDefault();
    const [sx, sy] = local(e);
    st.view = zoomAt(st.view, Math.pow(1.0015, -e.deltaY), sx, sy);
    st.fitted = false;
    renderView();
  }, { passive: false });
  const timeline = $('timeline');
  let scrubbing = false;
  const seek = (e) => {
    const r = timeline.getBoundingClientRect();
    goTo(Math.floor(((e.clientX - r.left) / r.width) * st.info.frames));
  };
  timeline.addEventListener('mousedown', (e) => { scrubbing = true; seek(e); });
  window.addEventListener('mousemove', (e) => { if (scrubbing) seek(e); });
  window.addEventListener('mouseup', () => { scrubbing = false; });
  $('review-list').addEventListener('click', (e) => {
    const li = e.target.closest('li');
    if (li && li.dataset.frame !== undefined) goTo(+li.dataset.frame);
  });
  for (const button of document.querySelectorAll('[data-action]')) {
    button.addEventListener('click', () => { actions[button.dataset.action](); button.blur(); });
  }
  // the button lets go of the focus: Enter or Space after the help closes do not reopen it
  $('help-button').addEventListener('click', () => { actions.help(true); $('help-button').blur(); });
  $('help').addEventListener('click', (e) => { if (e.target.id === 'help') actions.help(false); });
}

// ------------------------------------------------------------------ start
async function start() {
  st.info = await getJSON('/api/info');
  document.title = `${st.info.name} · tracknet label`;
  $('title').textContent = st.info.name;
  $('file').textContent = `${st.info.labels_path} (${st.info.layout} layout)`;
  $('help-keys').replaceChildren(...KEYS.map(([keys, what]) => {
    const tr = document.createElement('tr');
    const k = document.createElement('td');
    for (const key of keys) {
      const kbd = document.createElement('kbd');
      kbd.textContent = key;
      k.append(kbd);
    }
    const w = document.createElement('td');
    w.textContent = what;
    tr.append(k, w);
    return tr;
  }));
  allocSuggestions(st.info.frames);
  if (st.info.model) st.sugg.state = 'waiting';
  renderModel();
  await reloadLabels();
  setSaved('ok', `saved · v${st.version}`);
  if (st.info.replayed) message(`${st.info.replayed} edit(s) were replayed from the journal: nothing was lost.`);
  setupMouse();
  window.addEventListener('keydown', onKey);
  window.addEventListener('resize', () => { if (st.fitted) actions.fit(); render(); });
  actions.fit();
  await goTo(0);
  poll();
}

window.tracknet = {
  state: st,
  ready: start(),
  goTo,
  idle: sync.idle,
  pausePolling(paused) { st.paused = paused; }, // tests: a tab that has not heard of others' edits
  // The whole CSS pixel (client coordinates) under image point (u, v): a click there labels
  // (u, v) exactly when the zoom is an odd whole number (the fitted view of a small frame).
  imageToClient(u, v) {
    const r = $('view').getBoundingClientRect();
    const [sx, sy] = toScreen(st.view, u, v);
    return [Math.floor(r.left + sx), Math.floor(r.top + sy)];
  },
};

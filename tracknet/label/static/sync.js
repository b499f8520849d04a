// tracknet label: the page's edits on their way to the server, and what comes back.
// Every edit is sent at once, one request after the other (a queue), with the version the page
// was showing; the server refuses a stale edit (409) and the page then shows the saved labels.
// Edits of the page are shown before the server answers ("pending"); changes made by other
// tabs ("foreign") are remembered per frame, so an edit of a frame the page had not seen
// change is sent with the version it was made on, and refused. An undo or redo also sends what
// the frame must hold now (what this tab wrote there, "expect"): if another tab has changed it
// since, seen or not, the server refuses it (409) and the entry is dropped.

// `st`: the page state (info, labels, version, pending, foreign, own, undo, redo, online).
// `ui`: {render(), message(text, kind), setSaved(kind, text), goTo(frame)}.
export function createSync(st, ui) {
  let queue = Promise.resolve();
  function enqueue(fn) {
    const next = queue.then(fn).catch((err) => { console.error(err); return null; });
    queue = next;
    return next;
  }

  async function getJSON(url) {
    const r = await fetch(url, { cache: 'no-store' });
    if (!r.ok) throw new Error(`${url}: ${r.status}`);
    return r.json();
  }

  function wire(label) {
    if (!label) return null;
    const out = { visibility: label.visibility, x: label.x || 0, y: label.y || 0, status: label.status || 0 };
    if (label.code !== undefined) out.code = label.code;
    return out;
  }

  function applyChanges(data) {
    if (data.version < st.version) return reloadLabels(); // the server lost its journal
    for (const c of data.changes) {
      if (!st.own.has(c.version)) st.foreign.set(c.frame, Math.max(st.foreign.get(c.frame) || 0, c.version));
      if (st.pending.get(c.frame)) continue; // the page's own edit of it is on its way
      if (c.label) st.labels.set(c.frame, c.label); else st.labels.delete(c.frame);
    }
    if (data.changes.length) st.reviewDirty = true;
    st.version = Math.max(st.version, data.version);
    ui.render();
    return null;
  }

  async function reloadLabels() {
    const data = await getJSON('/api/labels');
    st.labels = new Map(data.labels.map((l) => [l.frame, l]));
    st.version = data.version;
    st.foreign.clear();
    st.own.clear();
    st.reviewDirty = true;
    ui.render();
  }

  // What to do once the server is back: with --port 0 a restart listens elsewhere.
  function restartHint() {
    return st.info && st.info.reconnects === false
      ? 'Restart tracknet label and open the URL it prints: it was started with --port 0, so a restart picks another port and this page cannot reconnect.'
      : 'Restart tracknet label; the page reconnects.';
  }

  // Send one write (runs inside the queue). `frames`: the frames it edits, for the version check.
  // Resolves to {ok, status (0: the server was not reached), data}.
  async function write(method, url, body, frames, base0, mine = true) {
    const stale = frames.some((f) => (st.foreign.get(f) || 0) > base0);
    body.base = stale ? base0 : st.version;
    ui.setSaved('busy', 'saving…');
    let r = null;
    let data = null;
    try {
      r = await fetch(url, { method, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
      data = await r.json();
    } catch (err) {
      r = null;
    }
    if (mine) for (const f of frames) st.pending.set(f, (st.pending.get(f) || 1) - 1);
    if (!r || !data) {
      st.online = false;
      ui.setSaved('error', 'NOT SAVED');
      ui.message(`The server cannot be reached: this edit was NOT saved. ${restartHint()}`, 'error');
      return { ok: false, status: 0, data: null };
    }
    if (r.ok) {
      st.own.add(data.version);
      applyChanges(data);
      ui.setSaved('ok', `saved · v${data.version}`);
      return { ok: true, status: r.status, data };
    }
    if (r.status === 409) {
      applyChanges(data);
      ui.setSaved('error', 'not saved');
      ui.message(`${data.error}. The page now shows the saved labels.`, 'warn');
      return { ok: false, status: r.status, data };
    }
    ui.setSaved('error', 'not saved');
    ui.message(data.error || `error ${r.status}`, 'error');
    await reloadLabels();
    return { ok: false, status: r.status, data };
  }

  // Optimistic edits of the page: shown at once, sent in order, undoable. An edit with an
  // `expect` (undo, redo) is saved only if the frame holds that label now.
  function edit(edits, record = true) {
    if (!edits.length) return Promise.resolve(null);
    if (record) {
      st.undo.push(edits.map((e) => ({ frame: e.frame, before: st.labels.get(e.frame) || null, after: e.label })));
      st.redo = [];
    }
    const frames = edits.map((e) => e.frame);
    for (const e of edits) {
      if (e.label) st.labels.set(e.frame, e.label); else st.labels.delete(e.frame);
      st.pending.set(e.frame, (st.pending.get(e.frame) || 0) + 1);
    }
    const base0 = st.version;
    const body = {
      edits: edits.map((e) => ('expect' in e
        ? { frame: e.frame, label: wire(e.label), expect: wire(e.expect) }
        : { frame: e.frame, label: wire(e.label) })),
    };
    ui.render();
    return enqueue(() => write('POST', '/api/labels', body, frames, base0));
  }

  // Edits the server works out (accept, interpolate): undoable once they come back.
  function serverEdit(url, body, frames) {
    return enqueue(async () => {
      const before = new Map(st.labels);
      const { ok, data } = await write('POST', url, body, frames, st.version, false);
      if (!ok) return;
      const entry = data.changes.filter((c) => c.version === data.version)
        .map((c) => ({ frame: c.frame, before: before.get(c.frame) || null, after: c.label }));
      if (entry.length) { st.undo.push(entry); st.redo = []; }
    });
  }

  // Undo (or redo) this tab's last edit, only where the frames still hold what this tab wrote:
  // another tab's label is never removed or overwritten by it. A refused entry is dropped (the
  // page then shows the saved labels); one that did not reach the server can be tried again.
  function undo(redo = false) {
    const from = redo ? st.redo : st.undo;
    const to = redo ? st.undo : st.redo;
    const entry = from.pop();
    if (!entry) { ui.message(redo ? 'nothing to redo' : 'nothing to undo'); return Promise.resolve(null); }
    to.push(entry);
    const edits = entry.map((e) => ({
      frame: e.frame, label: redo ? e.after : e.before, expect: redo ? e.before : e.after,
    }));
    const done = edit(edits, false).then((result) => {
      if (!result || result.ok) return result;
      const i = to.lastIndexOf(entry);
      if (i >= 0) to.splice(i, 1);
      if (result.status === 0) from.push(entry);
      return result;
    });
    ui.goTo(entry[0].frame);
    return done;
  }

  return {
    enqueue, getJSON, wire, applyChanges, reloadLabels, edit, serverEdit, undo, restartHint,
    idle: () => queue.then(() => true),
  };
}

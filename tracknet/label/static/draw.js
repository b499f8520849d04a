// tracknet label: drawing only. The frame with its labels, the magnifier and the timeline.
// Image coordinates are pixels of the original frame with pixel centres at integers (pixel j
// covers [j - 0.5, j + 0.5]); a view maps them to CSS pixels of the canvas:
//   screen = offset + (image + 0.5) * scale.

const css = getComputedStyle(document.documentElement);
export const COLOR = Object.fromEntries(
  ['visible', 'occluded', 'none', 'suggested', 'unlabelled', 'review', 'hit', 'bounce', 'text']
    .map((k) => [k, css.getPropertyValue(`--${k}`).trim() || '#fff']));

export function toScreen(view, u, v) {
  return [view.ox + (u + 0.5) * view.scale, view.oy + (v + 0.5) * view.scale];
}

export function toImage(view, sx, sy) {
  return [(sx - view.ox) / view.scale - 0.5, (sy - view.oy) / view.scale - 0.5];
}

// The largest view that shows the whole frame: whole-number zoom when the frame fits at 1:1
// or more (crisp pixels), offsets on whole CSS pixels.
export function fitView(width, height, cw, ch) {
  let scale = Math.min(cw / width, ch / height);
  if (scale >= 1) scale = Math.floor(scale);
  return {
    scale, ox: Math.round((cw - width * scale) / 2), oy: Math.round((ch - height * scale) / 2),
  };
}

// Zoom by `factor` keeping the image point under (sx, sy) in place.
export function zoomAt(view, factor, sx, sy) {
  const scale = Math.min(64, Math.max(0.05, view.scale * factor));
  const [u, v] = toImage(view, sx, sy);
  return { scale, ox: sx - (u + 0.5) * scale, oy: sy - (v + 0.5) * scale };
}

// A canvas whose backing store follows its CSS size and the device pixel ratio.
export function sizeCanvas(canvas) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth;
  const h = canvas.clientHeight;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return [ctx, w, h];
}

function ring(ctx, x, y, r, color, dashed, width = 2) {
  ctx.save();
  ctx.setLineDash(dashed ? [4, 3] : []);
  ctx.lineWidth = width + 2;
  ctx.strokeStyle = 'rgba(0,0,0,.7)';
  ctx.beginPath();
  ctx.arc(x, y, r, 0, 2 * Math.PI);
  ctx.stroke();
  ctx.lineWidth = width;
  ctx.strokeStyle = color;
  ctx.stroke();
  ctx.restore();
}

function cross(ctx, x, y, r, color) {
  ctx.save();
  ctx.strokeStyle = color;
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(x - r, y); ctx.lineTo(x - r / 3, y);
  ctx.moveTo(x + r / 3, y); ctx.lineTo(x + r, y);
  ctx.moveTo(x, y - r); ctx.lineTo(x, y - r / 3);
  ctx.moveTo(x, y + r / 3); ctx.lineTo(x, y + r);
  ctx.stroke();
  ctx.restore();
}

function badge(ctx, x, y, text, color) {
  ctx.save();
  ctx.font = 'bold 13px system-ui, sans-serif';
  const w = ctx.measureText(text).width + 12;
  ctx.fillStyle = 'rgba(0,0,0,.65)';
  ctx.fillRect(x, y, w, 20);
  ctx.fillStyle = color;
  ctx.fillText(text, x + 6, y + 15);
  ctx.restore();
  return w;
}

const EVENT_NAMES = { 1: 'HIT', 2: 'BOUNCE' };

// The frame, the trail of the neighbouring frames' positions, and this frame's label or
// suggestion. `s`: {img, view, label, suggestion, trail: [{d, x, y, confirmed}], loading,
// stale}. `stale`: null, or the number of the frame asked for when `img` is another frame's
// picture (it has not loaded): that picture is dimmed and the page says the frame is not shown.
export function drawView(canvas, s) {
  const [ctx, cw, ch] = sizeCanvas(canvas);
  ctx.fillStyle = '#0d0e10';
  ctx.fillRect(0, 0, cw, ch);
  const { view } = s;
  const notShown = s.stale !== null && s.stale !== undefined;
  if (s.img) {
    ctx.imageSmoothingEnabled = view.scale < 2;
    ctx.globalAlpha = notShown ? (s.loading ? 0.45 : 0.2) : s.loading ? 0.45 : 1;
    ctx.drawImage(s.img, view.ox, view.oy, s.width * view.scale, s.height * view.scale);
    ctx.globalAlpha = 1;
  }
  if (notShown) {
    badge(ctx, 10, 10, s.loading ? 'loading…' : `FRAME ${s.stale} NOT LOADED · it takes no label until it is shown`,
      s.loading ? COLOR.text : COLOR.review);
    return;
  }
  const r = Math.max(7, 2.5 * view.scale);
  // trail: past frames cyan, future magenta, fading with distance; suggestions thinner
  let last = null;
  for (const p of s.trail) {
    const [x, y] = toScreen(view, p.x, p.y);
    const alpha = Math.max(0.15, 1 - Math.abs(p.d) / (s.trailLength + 1));
    const color = p.d < 0 ? `rgba(80,220,255,${alpha})` : `rgba(255,110,230,${alpha})`;
    if (last && last.d + 1 === p.d) {
      ctx.strokeStyle = color;
      ctx.lineWidth = p.confirmed ? 1.5 : 1;
      ctx.beginPath(); ctx.moveTo(last.sx, last.sy); ctx.lineTo(x, y); ctx.stroke();
    }
    ctx.fillStyle = color;
    ctx.beginPath(); ctx.arc(x, y, p.confirmed ? 3 : 2, 0, 2 * Math.PI); ctx.fill();
    last = { d: p.d, sx: x, sy: y };
  }
  let bx = 10;
  const l = s.label;
  if (l && l.visibility !== 'none') {
    const [x, y] = toScreen(view, l.x, l.y);
    const color = l.visibility === 'visible' ? COLOR.visible : COLOR.occluded;
    ring(ctx, x, y, r, color, l.visibility !== 'visible');
    cross(ctx, x, y, r + 6, color);
    if (l.visibility === 'occluded') bx += badge(ctx, bx, 10, 'OCCLUDED', COLOR.occluded) + 6;
    if (l.status) bx += badge(ctx, bx, 10, EVENT_NAMES[l.status], l.status === 1 ? COLOR.hit : COLOR.bounce) + 6;
  } else if (l) {
    bx += badge(ctx, bx, 10, 'NO BALL', COLOR.none) + 6;
  } else if (s.suggestion) {
    const g = s.suggestion;
    if (g.visible) {
      const [x, y] = toScreen(view, g.x, g.y);
      ring(ctx, x, y, r + 3, COLOR.suggested, true, 1.5);
    }
    bx += badge(ctx, bx, 10, g.visible ? `SUGGESTED ${g.score.toFixed(2)} · A accepts`
      : 'MODEL: NO BALL · A accepts', COLOR.suggested) + 6;
  }
  if (s.loading) badge(ctx, bx, 10, 'loading…', COLOR.text);
}

// A close-up of the frame around image point (u, v), `zoom` screen pixels per image pixel.
export function drawMagnifier(canvas, s, u, v, zoom) {
  const ctx = canvas.getContext('2d');
  const size = canvas.width;
  ctx.fillStyle = '#000';
  ctx.fillRect(0, 0, size, size);
  if (!s.img) return;
  const span = size / zoom; // image pixels across
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(s.img, u + 0.5 - span / 2, v + 0.5 - span / 2, span, span, 0, 0, size, size);
  const at = (x, y) => [(x - u) * zoom + size / 2, (y - v) * zoom + size / 2];
  const l = s.label;
  if (l && l.visibility !== 'none') {
    const [x, y] = at(l.x, l.y);
    ring(ctx, x, y, Math.max(5, zoom * 1.5), l.visibility === 'visible' ? COLOR.visible : COLOR.occluded, false, 1.5);
  } else if (!l && s.suggestion && s.suggestion.visible) {
    const [x, y] = at(s.suggestion.x, s.suggestion.y);
    ring(ctx, x, y, Math.max(5, zoom * 1.5), COLOR.suggested, true, 1.5);
  }
  cross(ctx, size / 2, size / 2, 12, 'rgba(255,255,255,.9)');
}

// The timeline: top band confirmed labels, bottom band suggestions of unconfirmed frames,
// events above, frames needing review below, the current frame as a white line.
// `s`: {frames, current, labels: Map, suggestion(f), review: Set}.
export function drawTimeline(canvas, s) {
  const [ctx, w, h] = sizeCanvas(canvas);
  ctx.fillStyle = COLOR.unlabelled;
  ctx.fillRect(0, 0, w, h);
  const n = s.frames;
  const colOf = (f) => Math.floor((f / n) * w);
  const fw = Math.max(1, w / n);
  const top = 8;
  const band = (h - 16) / 2;
  const rank = { visible: 3, occluded: 2, none: 1 };
  const best = new Array(Math.ceil(w) + 1).fill(null);
  for (const [f, l] of s.labels) {
    const c = colOf(f);
    if (!best[c] || rank[l.visibility] > rank[best[c]]) best[c] = l.visibility;
  }
  for (let c = 0; c < best.length; c++) {
    if (!best[c]) continue;
    ctx.fillStyle = COLOR[best[c]];
    ctx.fillRect(c, top, Math.max(1, fw), band);
  }
  ctx.fillStyle = COLOR.suggested;
  for (let f = 0; f < n; f++) {
    if (s.labels.has(f)) continue;
    const g = s.suggestion(f);
    if (!g) continue;
    ctx.globalAlpha = g.visible ? 0.9 : 0.35;
    ctx.fillRect(colOf(f), top + band, Math.max(1, fw), band);
  }
  ctx.globalAlpha = 1;
  for (const [f, l] of s.labels) {
    if (!l.status) continue;
    ctx.fillStyle = l.status === 1 ? COLOR.hit : COLOR.bounce;
    const x = colOf(f) + fw / 2;
    ctx.beginPath(); ctx.moveTo(x - 4, 0); ctx.lineTo(x + 4, 0); ctx.lineTo(x, top); ctx.fill();
  }
  ctx.fillStyle = COLOR.review;
  for (const f of s.review) ctx.fillRect(colOf(f), h - 6, Math.max(2, fw), 6);
  const x = colOf(s.current) + fw / 2;
  ctx.fillStyle = '#fff';
  ctx.fillRect(Math.round(x) - 1, 0, 2, h);
}

// Draws a glasses layout the way a monochrome waveguide shows it: lit pixels in one colour on
// black, at the model's resolution (G1: 640×200, 5 lines). Layouts: text_wall, double_text_wall,
// dashboard_card, reference_card, bitmap_view, bitmap_animation, clear_view.

const COLORS = { green: '#39ff6a', white: '#f2f2f2', blue: '#66b3ff', red: '#ff5a5a' };

export class GlassesDisplay {
  constructor(canvas) {
    this.canvas = canvas;
    this.ctx = canvas.getContext('2d');
    this.generation = 0;
    this.animation = null;
    this.bitmapCache = new Map();
    this.setDisplay({ width: 640, height: 200, maxTextLines: 5, color: 'green', canDisplayBitmap: true });
  }

  /** `display` from /api/simulator/meta (null: the model has no display). */
  setDisplay(display) {
    this.display = display;
    const d = display || { width: 640, height: 200, maxTextLines: 5, color: 'green' };
    this.canvas.width = d.width;
    this.canvas.height = d.height;
    this.color = COLORS[d.color] || COLORS.green;
    this.margin = Math.round(d.width * 0.025);
    this.lineHeight = (d.height - 2 * Math.round(this.margin * 0.6)) / (d.maxTextLines || 5);
    this.fontPx = Math.max(10, Math.floor(this.lineHeight * 0.72));
    this.font = `${this.fontPx}px "DejaVu Sans", "Helvetica Neue", Arial, sans-serif`;
    this.boldFont = `bold ${this.font}`;
  }

  /** Shows a layout (null = blank). Bitmaps decode asynchronously; a newer call always wins. */
  show(layout) {
    const gen = ++this.generation;
    this.stopAnimation();
    this.clear();
    if (!this.display) {
      this.caption('This model has no display');
      return;
    }
    if (!layout) return;
    switch (layout.layoutType) {
      case 'text_wall':
        this.textBlock(
          this.wrap(String(layout.text ?? ''), this.canvas.width - 2 * this.margin),
          this.margin,
          this.top(),
        );
        break;
      case 'double_text_wall':
        this.columns(String(layout.topText ?? ''), String(layout.bottomText ?? ''));
        break;
      case 'dashboard_card':
        this.columns(String(layout.leftText ?? ''), String(layout.rightText ?? ''), true);
        break;
      case 'reference_card':
        this.referenceCard(String(layout.title ?? ''), String(layout.text ?? ''));
        break;
      case 'bitmap_view':
        this.drawBitmap(layout.data, gen);
        break;
      case 'bitmap_animation':
        this.animate(
          Array.isArray(layout.frames) ? layout.frames : [],
          Number(layout.interval) || 1000,
          layout.repeat !== false,
          gen,
        );
        break;
      default:
        break;
    }
  }

  clear() {
    const { ctx, canvas } = this;
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
  }

  top() {
    return Math.round(this.margin * 0.6);
  }

  caption(text) {
    const { ctx, canvas } = this;
    ctx.fillStyle = '#555';
    ctx.font = this.font;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.fillText(text, canvas.width / 2, canvas.height / 2);
    ctx.textAlign = 'left';
  }

  maxLines() {
    return Math.max(1, Math.floor((this.canvas.height - this.top()) / this.lineHeight));
  }

  /** Greedy word wrap by measured width; over-long words are broken. */
  wrap(text, width, font = this.font) {
    const ctx = this.ctx;
    ctx.font = font;
    const lines = [];
    for (const para of text.replace(/\r\n?/g, '\n').split('\n')) {
      const words = para.split(/[ \t]+/).filter(Boolean);
      if (words.length === 0) {
        lines.push('');
        continue;
      }
      let line = '';
      for (let word of words) {
        while (ctx.measureText(word).width > width && word.length > 1) {
          let n = word.length - 1;
          while (n > 1 && ctx.measureText(word.slice(0, n)).width > width) n--;
          if (line) {
            lines.push(line);
            line = '';
          }
          lines.push(word.slice(0, n));
          word = word.slice(n);
        }
        const candidate = line ? `${line} ${word}` : word;
        if (ctx.measureText(candidate).width <= width) line = candidate;
        else {
          lines.push(line);
          line = word;
        }
      }
      if (line) lines.push(line);
    }
    return lines;
  }

  textBlock(lines, x, y, opts = {}) {
    const { ctx } = this;
    const max = opts.maxLines ?? this.maxLines();
    ctx.font = opts.font || this.font;
    ctx.fillStyle = this.color;
    ctx.textBaseline = 'top';
    ctx.textAlign = opts.align || 'left';
    ctx.shadowColor = this.color;
    ctx.shadowBlur = 4;
    const shown = lines.slice(0, max);
    if (lines.length > max && shown.length) shown[shown.length - 1] = `${shown[shown.length - 1]}…`;
    shown.forEach((line, i) => ctx.fillText(line, x, y + i * this.lineHeight + (this.lineHeight - this.fontPx) / 2));
    ctx.shadowBlur = 0;
    ctx.textAlign = 'left';
    return shown.length;
  }

  /** Two columns (double_text_wall, dashboard_card): left, and right (right-aligned for cards). */
  columns(left, right, alignRight = false) {
    const gap = this.margin;
    const colWidth = (this.canvas.width - 2 * this.margin - gap) / 2;
    this.textBlock(this.wrap(left, colWidth), this.margin, this.top());
    const x = alignRight ? this.canvas.width - this.margin : this.margin + colWidth + gap;
    this.textBlock(this.wrap(right, colWidth), x, this.top(), { align: alignRight ? 'right' : 'left' });
  }

  referenceCard(title, text) {
    const width = this.canvas.width - 2 * this.margin;
    let used = 0;
    if (title) {
      used = this.textBlock(this.wrap(title, width, this.boldFont).slice(0, 1), this.margin, this.top(), {
        font: this.boldFont,
        maxLines: 1,
      });
      const y = this.top() + this.lineHeight - 2;
      this.ctx.fillStyle = this.color;
      this.ctx.fillRect(this.margin, y, Math.min(width, this.ctx.measureText(title).width + 4), 2);
    }
    this.textBlock(this.wrap(text, width), this.margin, this.top() + used * this.lineHeight, {
      maxLines: this.maxLines() - used,
    });
  }

  stopAnimation() {
    if (this.animation) clearInterval(this.animation);
    this.animation = null;
  }

  animate(frames, interval, repeat, gen) {
    if (frames.length === 0) return;
    let i = 0;
    const step = () => {
      if (gen !== this.generation) return this.stopAnimation();
      this.drawBitmap(frames[i], gen);
      i++;
      if (i >= frames.length) {
        if (!repeat) return this.stopAnimation();
        i = 0;
      }
    };
    step();
    if (frames.length > 1) this.animation = setInterval(step, Math.max(50, interval));
  }

  /** Base64 or hex BMP → lit pixels. The majority colour is the unlit background. */
  async drawBitmap(data, gen) {
    let lit;
    try {
      lit = await this.decodeBitmap(String(data || ''));
    } catch (err) {
      if (gen !== this.generation) return;
      this.clear();
      this.caption(`[bitmap could not be decoded: ${err.message}]`);
      return;
    }
    if (gen !== this.generation) return;
    const { canvas, ctx } = this;
    this.clear();
    const scale = Math.min(1, canvas.width / lit.width, canvas.height / lit.height);
    const w = Math.round(lit.width * scale);
    const hgt = Math.round(lit.height * scale);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(lit, Math.round((canvas.width - w) / 2), Math.round((canvas.height - hgt) / 2), w, hgt);
  }

  async decodeBitmap(data) {
    const cached = this.bitmapCache.get(data);
    if (cached) return cached;
    const bytes =
      /^(424d|424D)[0-9a-fA-F]*$/.test(data) && data.length % 2 === 0 ? hexToBytes(data) : base64ToBytes(data);
    if (bytes.length < 2 || bytes[0] !== 0x42 || bytes[1] !== 0x4d) throw new Error('not a BMP');
    const bitmap = await createImageBitmap(new Blob([bytes], { type: 'image/bmp' }));
    const off = document.createElement('canvas');
    off.width = bitmap.width;
    off.height = bitmap.height;
    const octx = off.getContext('2d');
    octx.drawImage(bitmap, 0, 0);
    const img = octx.getImageData(0, 0, off.width, off.height);
    const px = img.data;
    let dark = 0;
    for (let i = 0; i < px.length; i += 4) if (px[i] + px[i + 1] + px[i + 2] < 384) dark++;
    const darkIsLit = dark < px.length / 8; // fewer dark pixels than light: the drawing is dark
    const [r, g, b] = hexRgb(this.color);
    for (let i = 0; i < px.length; i += 4) {
      const isDark = px[i] + px[i + 1] + px[i + 2] < 384;
      const on = darkIsLit ? isDark : !isDark;
      px[i] = on ? r : 0;
      px[i + 1] = on ? g : 0;
      px[i + 2] = on ? b : 0;
      px[i + 3] = 255;
    }
    octx.putImageData(img, 0, 0);
    if (this.bitmapCache.size > 64) this.bitmapCache.clear();
    this.bitmapCache.set(data, off);
    return off;
  }
}

function hexToBytes(hex) {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(i * 2, 2), 16);
  return out;
}

function base64ToBytes(b64) {
  const clean = b64.replace(/^data:[^,]*,/, '').replace(/\s+/g, '');
  const bin = atob(clean);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function hexRgb(hex) {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/** Plain-text form of a layout (the same joins as src/simulator/layout-text.ts). */
export function layoutText(layout) {
  if (!layout) return '';
  const s = (v) => (v === undefined || v === null ? '' : String(v));
  const join = (parts, sep) => parts.filter((p) => p !== '').join(sep);
  switch (layout.layoutType) {
    case 'text_wall':
      return s(layout.text);
    case 'double_text_wall':
      return join([s(layout.topText), s(layout.bottomText)], '\n');
    case 'dashboard_card':
      return join([s(layout.leftText), s(layout.rightText)], ' | ');
    case 'reference_card':
      return join([s(layout.title), s(layout.text)], '\n');
    case 'bitmap_view':
      return '[bitmap]';
    case 'bitmap_animation':
      return `[bitmap animation: ${Array.isArray(layout.frames) ? layout.frames.length : 0} frames]`;
    default:
      return '';
  }
}

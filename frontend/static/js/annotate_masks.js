/* Binary masks for the annotation editor, and the undo history.
 *
 * A region's mask is kept as one byte per pixel of the registered image (1 =
 * defect), never as canvas pixels: canvas drawing anti-aliases edges into grey
 * values, which the server refuses and which would make a mask depend on the
 * zoom it was drawn at. Brush, eraser and polygon set whole pixels by testing
 * each pixel's centre, so what is shown, saved and reloaded is the same set of
 * pixels. Canvases only display a mask (and encode it as PNG on save). */
(function () {
  "use strict";

  const Annotate = (window.Annotate = window.Annotate || {});

  /* A rectangle of pixels: x0, y0 included, x1, y1 excluded. */
  function clampRect(x0, y0, x1, y1, width, height) {
    const rect = {
      x0: Math.max(0, Math.floor(x0)), y0: Math.max(0, Math.floor(y0)),
      x1: Math.min(width, Math.ceil(x1)), y1: Math.min(height, Math.ceil(y1)),
    };
    return rect.x1 > rect.x0 && rect.y1 > rect.y0 ? rect : null;
  }

  Annotate.unionRect = function (a, b) {
    if (!a) return b;
    if (!b) return a;
    return { x0: Math.min(a.x0, b.x0), y0: Math.min(a.y0, b.y0), x1: Math.max(a.x1, b.x1), y1: Math.max(a.y1, b.y1) };
  };

  class Mask {
    constructor(width, height, data) {
      this.width = width;
      this.height = height;
      this.data = data || new Uint8Array(width * height);
    }

    /* Set (value 1) or clear (value 0) every pixel whose centre lies within `radius` of the
     * segment a-b: a round brush dragged along it, with no gaps however fast the pointer moved. */
    paintSegment(ax, ay, bx, by, radius, value) {
      const rect = clampRect(Math.min(ax, bx) - radius - 1, Math.min(ay, by) - radius - 1,
        Math.max(ax, bx) + radius + 1, Math.max(ay, by) + radius + 1, this.width, this.height);
      if (!rect) return null;
      const dx = bx - ax;
      const dy = by - ay;
      const lengthSquared = dx * dx + dy * dy;
      const limit = radius * radius;
      const data = this.data;
      for (let y = rect.y0; y < rect.y1; y += 1) {
        const cy = y + 0.5;
        const row = y * this.width;
        for (let x = rect.x0; x < rect.x1; x += 1) {
          const cx = x + 0.5;
          let t = lengthSquared ? ((cx - ax) * dx + (cy - ay) * dy) / lengthSquared : 0;
          t = t < 0 ? 0 : t > 1 ? 1 : t;
          const px = ax + t * dx - cx;
          const py = ay + t * dy - cy;
          if (px * px + py * py <= limit) data[row + x] = value;
        }
      }
      return rect;
    }

    /* Set or clear the pixels whose centre lies inside the polygon (even-odd rule). */
    fillPolygon(points, value) {
      if (points.length < 3) return null;
      const ys = points.map(function (point) { return point.y; });
      const xs = points.map(function (point) { return point.x; });
      const rect = clampRect(Math.min.apply(null, xs), Math.min.apply(null, ys),
        Math.max.apply(null, xs) + 1, Math.max.apply(null, ys) + 1, this.width, this.height);
      if (!rect) return null;
      for (let y = rect.y0; y < rect.y1; y += 1) {
        const cy = y + 0.5;
        const crossings = [];
        for (let index = 0; index < points.length; index += 1) {
          const p = points[index];
          const q = points[(index + 1) % points.length];
          if ((p.y <= cy) !== (q.y <= cy)) crossings.push(p.x + ((cy - p.y) * (q.x - p.x)) / (q.y - p.y));
        }
        crossings.sort(function (a, b) { return a - b; });
        const row = y * this.width;
        for (let index = 0; index + 1 < crossings.length; index += 2) {
          // Pixels whose centre x + 0.5 lies in [left, right).
          const from = Math.max(rect.x0, Math.ceil(crossings[index] - 0.5));
          const to = Math.min(rect.x1, Math.ceil(crossings[index + 1] - 0.5));
          for (let x = from; x < to; x += 1) this.data[row + x] = value;
        }
      }
      return rect;
    }

    count(rect) {
      rect = rect || { x0: 0, y0: 0, x1: this.width, y1: this.height };
      let total = 0;
      for (let y = rect.y0; y < rect.y1; y += 1) {
        const row = y * this.width;
        for (let x = rect.x0; x < rect.x1; x += 1) total += this.data[row + x];
      }
      return total;
    }

    copyRect(rect, source) {
      source = source || this.data;
      const width = rect.x1 - rect.x0;
      const copy = new Uint8Array(width * (rect.y1 - rect.y0));
      for (let y = rect.y0; y < rect.y1; y += 1) {
        const start = y * this.width + rect.x0;
        copy.set(source.subarray(start, start + width), (y - rect.y0) * width);
      }
      return copy;
    }

    pasteRect(rect, bytes) {
      const width = rect.x1 - rect.x0;
      for (let y = rect.y0; y < rect.y1; y += 1) {
        this.data.set(bytes.subarray((y - rect.y0) * width, (y - rect.y0 + 1) * width), y * this.width + rect.x0);
      }
    }

    /* The mask as an 8-bit PNG the server accepts: 0 or 255 in every channel, alpha 255 everywhere. */
    toPngBlob() {
      const canvas = document.createElement("canvas");
      canvas.width = this.width;
      canvas.height = this.height;
      const context = canvas.getContext("2d");
      const pixels = context.createImageData(this.width, this.height);
      const out = pixels.data;
      for (let index = 0; index < this.data.length; index += 1) {
        const value = this.data[index] ? 255 : 0;
        const at = index * 4;
        out[at] = out[at + 1] = out[at + 2] = value;
        out[at + 3] = 255;
      }
      // putImageData with full opacity stores the values exactly, so the PNG holds only 0 and 255.
      context.putImageData(pixels, 0, 0);
      return new Promise(function (resolve, reject) {
        canvas.toBlob(function (blob) {
          if (blob) resolve(blob);
          else reject(new Error("The browser could not encode the mask as PNG."));
        }, "image/png");
      });
    }
  }
  Annotate.Mask = Mask;

  /* Read a stored mask (white = defect) into a Mask of the expected size. */
  Annotate.loadMask = async function (url, width, height) {
    const response = await fetch(url, { credentials: "same-origin" });
    if (!response.ok) throw new Error("A stored mask cannot be loaded (" + response.status + ").");
    const bitmap = await createImageBitmap(await response.blob(), { colorSpaceConversion: "none", premultiplyAlpha: "none" });
    if (bitmap.width !== width || bitmap.height !== height) {
      throw new Error("A stored mask is " + bitmap.width + "x" + bitmap.height + " pixels, not " + width + "x" + height + ".");
    }
    const canvas = document.createElement("canvas");
    canvas.width = width;
    canvas.height = height;
    const context = canvas.getContext("2d");
    context.drawImage(bitmap, 0, 0);
    const pixels = context.getImageData(0, 0, width, height).data;
    const mask = new Mask(width, height);
    for (let index = 0; index < mask.data.length; index += 1) mask.data[index] = pixels[index * 4] >= 128 ? 1 : 0;
    return mask;
  };

  Annotate.hexToRgb = function (hex) {
    const match = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex || "");
    return match ? [parseInt(match[1], 16), parseInt(match[2], 16), parseInt(match[3], 16)] : [230, 25, 75];
  };

  /* Show part of a mask (or all of it) on its region's canvas in the region's colour. */
  Annotate.paintCanvas = function (canvas, mask, rgb, rect) {
    rect = rect || { x0: 0, y0: 0, x1: mask.width, y1: mask.height };
    const width = rect.x1 - rect.x0;
    const height = rect.y1 - rect.y0;
    if (width <= 0 || height <= 0) return;
    const context = canvas.getContext("2d");
    const pixels = context.createImageData(width, height);
    const out = pixels.data;
    for (let y = 0; y < height; y += 1) {
      const row = (y + rect.y0) * mask.width + rect.x0;
      for (let x = 0; x < width; x += 1) {
        if (!mask.data[row + x]) continue;
        const at = (y * width + x) * 4;
        out[at] = rgb[0];
        out[at + 1] = rgb[1];
        out[at + 2] = rgb[2];
        out[at + 3] = 255;
      }
    }
    context.putImageData(pixels, rect.x0, rect.y0);
  };

  Annotate.sameBytes = function (a, b) {
    for (let index = 0; index < a.length; index += 1) if (a[index] !== b[index]) return false;
    return true;
  };

  /* Several steps undone and redone as one (a stroke and the region it started). */
  Annotate.composite = function (steps) {
    return {
      undo: function () { steps.slice().reverse().forEach(function (step) { step.undo(); }); },
      redo: function () { steps.forEach(function (step) { step.redo(); }); },
    };
  };

  /* Undo and redo: each step knows how to take itself back and do itself again. */
  class History {
    constructor(limit) {
      this.limit = limit || 200;
      this.done = [];
      this.undone = [];
      this.savedAt = null;
    }

    push(step) {
      this.done.push(step);
      if (this.done.length > this.limit) this.done.shift();
      this.undone = [];
    }

    undo() {
      const step = this.done.pop();
      if (!step) return null;
      step.undo();
      this.undone.push(step);
      return step;
    }

    redo() {
      const step = this.undone.pop();
      if (!step) return null;
      step.redo();
      this.done.push(step);
      return step;
    }

    markSaved() { this.savedAt = this.done.length ? this.done[this.done.length - 1] : null; }

    /* Unsaved when the newest step is not the one that was current at the last save. */
    isDirty() { return (this.done.length ? this.done[this.done.length - 1] : null) !== this.savedAt; }

    clear() {
      this.done = [];
      this.undone = [];
      this.savedAt = null;
    }
  }
  Annotate.History = History;
})();

/* Zoom and pan of the annotation editor's drawing area.
 *
 * The stage (image, region canvases, tool overlay) keeps the registered
 * image's own pixel size and is moved and scaled with one CSS transform, so
 * every layer stays aligned and a screen point maps to image pixels with one
 * formula. */
(function () {
  "use strict";

  const Annotate = (window.Annotate = window.Annotate || {});
  const MAX_SCALE = 32;

  class Viewport {
    constructor(element, stage, width, height, onChange) {
      this.element = element;
      this.stage = stage;
      this.width = width;
      this.height = height;
      this.onChange = onChange || function () {};
      this.scale = 1;
      this.x = 0;
      this.y = 0;
      this.pan = null;
      this.fitted = false;
      this.bind();
    }

    apply() {
      this.stage.style.transform = "translate(" + this.x + "px, " + this.y + "px) scale(" + this.scale + ")";
      // Zoomed in, each image pixel is shown as a sharp square, as it will be saved.
      this.stage.classList.toggle("pixelated", this.scale >= 2);
      this.onChange(this);
    }

    fitScale() {
      const width = this.element.clientWidth;
      const height = this.element.clientHeight;
      return Math.min(width / this.width, height / this.height) || 1;
    }

    fit() {
      this.scale = this.fitScale();
      this.x = (this.element.clientWidth - this.width * this.scale) / 2;
      this.y = (this.element.clientHeight - this.height * this.scale) / 2;
      this.fitted = true;
      this.apply();
    }

    /* Zoom by `factor`, keeping the image point under (clientX, clientY) where it is;
     * without a point, around the middle of the drawing area. */
    zoomBy(factor, clientX, clientY) {
      const box = this.element.getBoundingClientRect();
      const px = clientX === undefined ? this.element.clientWidth / 2 : clientX - box.left - this.element.clientLeft;
      const py = clientY === undefined ? this.element.clientHeight / 2 : clientY - box.top - this.element.clientTop;
      const smallest = Math.min(1, this.fitScale() / 2);
      const scale = Math.min(MAX_SCALE, Math.max(smallest, this.scale * factor));
      const imageX = (px - this.x) / this.scale;
      const imageY = (py - this.y) / this.scale;
      this.scale = scale;
      this.fitted = false;
      this.x = px - imageX * scale;
      this.y = py - imageY * scale;
      this.apply();
    }

    zoomTo(scale) { this.zoomBy(scale / this.scale); }

    /* The image coordinates (in pixels, fractional) under a screen point. */
    toImage(clientX, clientY) {
      const box = this.element.getBoundingClientRect();
      return {
        x: (clientX - box.left - this.element.clientLeft - this.x) / this.scale,
        y: (clientY - box.top - this.element.clientTop - this.y) / this.scale,
      };
    }

    startPan(event) {
      this.pan = { pointer: event.pointerId, clientX: event.clientX, clientY: event.clientY };
      this.element.classList.add("panning");
    }

    movePan(event) {
      if (!this.pan || event.pointerId !== this.pan.pointer) return false;
      this.x += event.clientX - this.pan.clientX;
      this.y += event.clientY - this.pan.clientY;
      this.pan.clientX = event.clientX;
      this.pan.clientY = event.clientY;
      this.fitted = false;
      this.apply();
      return true;
    }

    endPan() {
      const was = Boolean(this.pan);
      this.pan = null;
      this.element.classList.remove("panning");
      return was;
    }

    bind() {
      const view = this;
      this.element.addEventListener("wheel", function (event) {
        event.preventDefault();
        // Trackpads send many small steps, mouse wheels few large ones; both zoom smoothly.
        const delta = event.deltaMode === 1 ? event.deltaY * 16 : event.deltaY;
        view.zoomBy(Math.exp(-delta * 0.0015), event.clientX, event.clientY);
      }, { passive: false });
      // The middle button pans instead of starting the browser's autoscroll.
      this.element.addEventListener("mousedown", function (event) { if (event.button === 1) event.preventDefault(); });
      window.addEventListener("resize", function () { if (view.fitted) view.fit(); });
    }
  }
  Annotate.Viewport = Viewport;
})();

/* Annotation editor: defect regions drawn over a registered image with brush, eraser and polygon.
 *
 * Each region is a binary mask of the registered image's size (annotate_masks.js) with a
 * defect type; Save sends every non-empty mask as a PNG with the revision the drawing
 * started from, so a save made meanwhile by someone else is refused (409) instead of being
 * overwritten. Side panels (types, regions, revisions, saving) are in annotate_panels.js,
 * pointer, keys and toolbar in annotate_input.js, zoom and pan in annotate_view.js. */
(function () {
  "use strict";

  const App = window.App;
  const Annotate = (window.Annotate = window.Annotate || {});

  const HINTS = {
    brush: "Brush: drag to paint the selected region (a new region when none is selected).",
    eraser: "Eraser: drag to take pixels out of the selected region.",
    polygon: "Polygon: click to add corners; double-click, Enter or a click on the first corner fills it; Esc cancels; Backspace removes the last corner.",
    hand: "Hand: drag to move the image; the wheel zooms.",
  };
  const SVG = "http://www.w3.org/2000/svg";

  class Editor {
    constructor(root) {
      this.root = root;
      this.annotationUrl = root.dataset.annotationUrl;
      this.typesUrl = root.dataset.defectTypesUrl;
      this.types = [];
      this.regions = [];
      this.selected = null;
      this.revision = 0;
      this.tool = "brush";
      this.size = 20;
      this.polygon = [];
      this.pointer = null;
      this.stroke = null;
      this.viewing = null;
      this.spaceDown = false;
      this.nextKey = 1;
      this.history = new Annotate.History();
      const find = function (selector) { return root.querySelector(selector); };
      // A role that may not annotate sees the regions but cannot change them; the server refuses its saves anyway.
      const save = find("[data-save]");
      this.mayEdit = !(save && save.hasAttribute("data-needs-role"));
      this.el = {
        viewport: find("[data-viewport]"), stage: find("[data-stage]"), image: find("[data-base-image]"),
        layers: find("[data-region-layers]"), tools: find("[data-tool-layer]"), loading: find("[data-loading]"),
        hint: find("[data-tool-hint]"), size: find("[data-brush-size]"), sizeText: find("[data-brush-size-text]"),
        zoomText: find("[data-zoom-text]"), undo: find("[data-undo]"), redo: find("[data-redo]"),
        opacity: find("[data-region-opacity]"),
      };
    }

    async start() {
      try {
        const loaded = await Promise.all([App.api(this.typesUrl), App.api(this.annotationUrl), this.imageLoaded()]);
        this.types = loaded[0];
        const annotation = loaded[1];
        const image = this.el.image;
        if (image.naturalWidth !== annotation.width || image.naturalHeight !== annotation.height) {
          throw new Error("The aligned image is " + image.naturalWidth + "x" + image.naturalHeight +
            " pixels but its annotation expects " + annotation.width + "x" + annotation.height + "; reload the page.");
        }
        this.width = annotation.width;
        this.height = annotation.height;
        this.setUpStage();
        await this.showAnnotation(annotation);
        this.view.fit();
      } catch (error) {
        this.el.loading.textContent = "The editor cannot open: " + error.message;
        this.el.loading.classList.add("error");
        this.root.dataset.state = "failed";
        return;
      }
      this.el.loading.hidden = true;
      Annotate.bindInput(this);
      Annotate.bindPanels(this);
      this.setTool("brush");
      this.setSize(this.size);
      Annotate.renderTypes(this);
      this.changed();
      Annotate.loadRevisions(this);
      this.root.dataset.state = "ready";
    }

    imageLoaded() {
      const image = this.el.image;
      if (image.complete && image.naturalWidth) return Promise.resolve();
      return new Promise(function (resolve, reject) {
        image.addEventListener("load", resolve, { once: true });
        image.addEventListener("error", function () { reject(new Error("the aligned image cannot be loaded.")); }, { once: true });
      });
    }

    setUpStage() {
      const stage = this.el.stage;
      stage.style.width = this.width + "px";
      stage.style.height = this.height + "px";
      this.el.tools.setAttribute("viewBox", "0 0 " + this.width + " " + this.height);
      const editor = this;
      this.view = new Annotate.Viewport(this.el.viewport, stage, this.width, this.height, function (view) {
        editor.el.zoomText.textContent = Math.round(view.scale * 100) + " %";
        editor.drawToolLayer();
      });
    }

    /* --- Regions -------------------------------------------------------------- */

    typeById(id) { return this.types.find(function (type) { return type.id === id; }) || null; }

    makeRegion(typeId, mask, id) {
      const canvas = document.createElement("canvas");
      canvas.width = this.width;
      canvas.height = this.height;
      canvas.className = "region-layer";
      const region = { key: this.nextKey++, id: id || null, typeId: typeId, mask: mask, canvas: canvas, area: mask.count() };
      this.repaint(region);
      return region;
    }

    repaint(region, rect) {
      const type = this.typeById(region.typeId);
      if (!rect) region.canvas.getContext("2d").clearRect(0, 0, this.width, this.height);
      Annotate.paintCanvas(region.canvas, region.mask, Annotate.hexToRgb(type && type.color), rect);
    }

    attach(region, index) {
      index = index === undefined ? this.regions.length : index;
      this.regions.splice(index, 0, region);
      this.el.layers.insertBefore(region.canvas, this.el.layers.children[index] || null);
    }

    detach(region) {
      const index = this.regions.indexOf(region);
      if (index >= 0) this.regions.splice(index, 1);
      region.canvas.remove();
      if (this.selected === region.key) this.selected = null;
      return index;
    }

    setRegions(regions) {
      this.regions.slice().forEach(this.detach, this);
      regions.forEach(function (region) { this.attach(region); }, this);
      this.selected = null;
    }

    selectedRegion() {
      const key = this.selected;
      return this.regions.find(function (region) { return region.key === key; }) || null;
    }

    select(key) {
      this.selected = key;
      Annotate.renderRegions(this);
    }

    /* A new empty region of the type chosen for new regions; null (and a hint) when there is no type yet. */
    addRegion() {
      if (this.readOnly()) return null;
      const typeId = Annotate.newRegionType(this);
      if (!typeId) {
        this.hint("Add a defect type first (under “Defect types”): every region has one.", true);
        return null;
      }
      const region = this.makeRegion(typeId, new Annotate.Mask(this.width, this.height));
      this.attach(region);
      this.selected = region.key;
      return region;
    }

    creationStep(region) {
      const editor = this;
      const index = this.regions.indexOf(region);
      return { undo: function () { editor.detach(region); }, redo: function () { editor.attach(region, index); } };
    }

    newRegion() {
      const region = this.addRegion();
      if (region) this.record(this.creationStep(region));
    }

    deleteRegion(region) {
      if (this.readOnly() || !region) return;
      const editor = this;
      const index = this.detach(region);
      this.record({ undo: function () { editor.attach(region, index); }, redo: function () { editor.detach(region); } });
    }

    changeType(region, typeId) {
      if (this.readOnly() || region.typeId === typeId) return;
      const editor = this;
      const before = region.typeId;
      function set(id) { region.typeId = id; editor.repaint(region); }
      set(typeId);
      this.record({ undo: function () { set(before); }, redo: function () { set(typeId); } });
    }

    record(step) {
      this.history.push(step);
      this.changed();
    }

    undo() {
      if (this.readOnly() || this.stroke) return;
      if (this.history.undo()) this.changed();
    }

    redo() {
      if (this.readOnly() || this.stroke) return;
      if (this.history.redo()) this.changed();
    }

    isDirty() { return (this.viewing ? this.viewing.stash.history : this.history).isDirty(); }

    readOnly() { return Boolean(this.viewing) || !this.mayEdit; }

    changed() {
      this.el.undo.disabled = this.readOnly() || !this.history.done.length;
      this.el.redo.disabled = this.readOnly() || !this.history.undone.length;
      Annotate.renderRegions(this);
      Annotate.renderSaveState(this);
    }

    /* --- Tools ------------------------------------------------------------------ */

    setTool(tool) {
      if (tool !== "polygon") this.cancelPolygon();
      this.tool = tool;
      this.root.querySelectorAll("[data-tool]").forEach(function (button) {
        button.setAttribute("aria-pressed", String(button.dataset.tool === tool));
      });
      this.el.viewport.dataset.tool = tool;
      this.hint(HINTS[tool]);
      this.drawToolLayer();
    }

    setSize(size) {
      this.size = Math.max(1, Math.min(Number(this.el.size.max) || 200, Math.round(size)));
      this.el.size.value = this.size;
      this.el.sizeText.textContent = this.size + " px";
      this.drawToolLayer();
    }

    hint(text, isProblem) {
      this.el.hint.textContent = text;
      this.el.hint.classList.toggle("text-bad", Boolean(isProblem));
    }

    beginStroke(point) {
      const value = this.tool === "eraser" ? 0 : 1;
      let region = this.selectedRegion();
      let created = null;
      if (!region) {
        if (!value) {
          this.hint("Select the region to erase from in the list of regions.", true);
          return;
        }
        region = created = this.addRegion();
        if (!region) return;
      }
      this.stroke = { region: region, created: created, value: value, before: region.mask.data.slice(), rect: null, last: point };
      this.paintTo(point);
    }

    paintTo(point) {
      const stroke = this.stroke;
      const rect = stroke.region.mask.paintSegment(stroke.last.x, stroke.last.y, point.x, point.y, this.size / 2, stroke.value);
      if (rect) {
        stroke.rect = Annotate.unionRect(stroke.rect, rect);
        this.repaint(stroke.region, rect);
      }
      stroke.last = point;
    }

    endStroke() {
      const stroke = this.stroke;
      this.stroke = null;
      const region = stroke.region;
      const rect = stroke.rect;
      const before = rect ? region.mask.copyRect(rect, stroke.before) : null;
      const after = rect ? region.mask.copyRect(rect) : null;
      if (!rect || Annotate.sameBytes(before, after)) {
        if (stroke.created) this.detach(stroke.created);
        this.changed();
        return;
      }
      const editor = this;
      const delta = region.mask.count(rect) - before.reduce(function (sum, value) { return sum + value; }, 0);
      region.area += delta;
      const paint = {
        undo: function () { region.mask.pasteRect(rect, before); region.area -= delta; editor.repaint(region, rect); },
        redo: function () { region.mask.pasteRect(rect, after); region.area += delta; editor.repaint(region, rect); },
      };
      this.record(stroke.created ? Annotate.composite([this.creationStep(stroke.created), paint]) : paint);
    }

    addVertex(point) {
      const scale = this.view.scale;
      const first = this.polygon[0];
      const last = this.polygon[this.polygon.length - 1];
      // A click on the first corner closes the polygon; a second click of a double-click adds nothing.
      if (first && this.polygon.length >= 3 && Math.hypot(point.x - first.x, point.y - first.y) * scale <= 7) {
        this.closePolygon();
        return;
      }
      if (last && Math.hypot(point.x - last.x, point.y - last.y) * scale <= 3) return;
      this.polygon.push(point);
      this.drawToolLayer();
    }

    closePolygon() {
      if (this.polygon.length < 3) {
        if (this.polygon.length) this.hint("A polygon needs at least three corners.", true);
        return;
      }
      const points = this.polygon;
      this.polygon = [];
      let region = this.selectedRegion();
      const created = region ? null : (region = this.addRegion());
      if (!region) { this.drawToolLayer(); return; }
      const before = region.mask.data.slice();
      const rect = region.mask.fillPolygon(points, 1);
      this.stroke = { region: region, created: created, value: 1, before: before, rect: rect, last: points[0] };
      if (rect) this.repaint(region, rect);
      this.endStroke();
      this.drawToolLayer();
    }

    removeLastCorner() {
      this.polygon.pop();
      this.drawToolLayer();
    }

    cancelPolygon() {
      if (!this.polygon.length) return false;
      this.polygon = [];
      this.drawToolLayer();
      return true;
    }

    /* The brush outline under the pointer, and the polygon being drawn. */
    drawToolLayer() {
      const layer = this.el.tools;
      if (!layer || !this.view) return;
      layer.textContent = "";
      const unit = 1 / this.view.scale;
      const add = function (name, attributes) {
        const node = document.createElementNS(SVG, name);
        Object.keys(attributes).forEach(function (key) { node.setAttribute(key, attributes[key]); });
        layer.appendChild(node);
        return node;
      };
      if (this.polygon.length) {
        const points = this.polygon.concat(this.pointer && this.tool === "polygon" ? [this.pointer] : []);
        add("polyline", { points: points.map(function (p) { return p.x + "," + p.y; }).join(" "), class: "polygon-edge" });
        this.polygon.forEach(function (point, index) {
          add("circle", { cx: point.x, cy: point.y, r: (index === 0 ? 6 : 3.5) * unit, class: index === 0 ? "polygon-start" : "polygon-corner" });
        });
      }
      if (this.pointer && (this.tool === "brush" || this.tool === "eraser") && !this.readOnly()) {
        add("circle", { cx: this.pointer.x, cy: this.pointer.y, r: this.size / 2, class: "brush-outline brush-" + this.tool });
      }
    }

    /* --- Loading ---------------------------------------------------------------- */

    async regionsOf(annotation) {
      const editor = this;
      const masks = await Promise.all(annotation.regions.map(function (region) {
        return Annotate.loadMask(region.mask_url, editor.width, editor.height);
      }));
      return annotation.regions.map(function (region, index) {
        return editor.makeRegion(region.defect_type, masks[index], region.id);
      });
    }

    /* Make `annotation` (a revision from the server) the drawing, with a fresh undo history. */
    async showAnnotation(annotation) {
      const regions = await this.regionsOf(annotation);
      this.viewing = null;
      this.setRegions(regions);
      this.revision = annotation.revision;
      this.history = new Annotate.History();
      this.root.classList.remove("viewing");
      this.changed();
    }
  }

  Annotate.Editor = Editor;

  document.addEventListener("DOMContentLoaded", function () {
    const root = document.querySelector("[data-annotator]");
    if (root) {
      const editor = new Editor(root);
      window.annotationEditor = editor;
      editor.start();
    }
    const waiting = document.querySelector("[data-wait-for-alignment]");
    if (waiting) {
      // An image still being aligned: open the editor as soon as it can be.
      // Its job partial announces the end with the htmx event "job-finished" (HX-Trigger), which bubbles here.
      waiting.addEventListener("job-finished", function () { window.location.reload(); });
    }
  });
})();

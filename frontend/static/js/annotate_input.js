/* Pointer, keyboard and toolbar input of the annotation editor (annotate.js).
 *
 * Left button draws with the current tool; the hand tool, the middle button or
 * a held space bar pan instead. Keys typed into a field are text, not
 * shortcuts, except Ctrl+S, which saves from anywhere on the page. */
(function () {
  "use strict";

  const Annotate = (window.Annotate = window.Annotate || {});
  const TOOL_KEYS = { b: "brush", e: "eraser", p: "polygon", h: "hand" };

  function isTyping(target) {
    if (!target) return false;
    const textual = target.tagName === "INPUT" &&
      ["range", "checkbox", "radio", "button", "submit", "color"].indexOf(target.type) < 0;
    return textual || target.tagName === "TEXTAREA" || target.tagName === "SELECT" || target.isContentEditable;
  }

  function bindPointer(editor) {
    const viewport = editor.el.viewport;
    viewport.addEventListener("pointerdown", function (event) {
      viewport.focus({ preventScroll: true });
      const panning = event.button === 1 || (event.button === 0 && (editor.tool === "hand" || editor.spaceDown));
      if (!panning && (event.button !== 0 || editor.stroke)) return;
      event.preventDefault();
      viewport.setPointerCapture(event.pointerId);
      if (panning) {
        editor.view.startPan(event);
        return;
      }
      if (editor.readOnly()) {
        editor.hint("This is a past revision, shown read-only: restore it or go back to editing to draw.", true);
        return;
      }
      const point = editor.view.toImage(event.clientX, event.clientY);
      if (editor.tool === "polygon") editor.addVertex(point);
      else editor.beginStroke(point);
    });
    viewport.addEventListener("pointermove", function (event) {
      if (editor.view.movePan(event)) return;
      editor.pointer = editor.view.toImage(event.clientX, event.clientY);
      if (editor.stroke) {
        // Every sample the pointer reported since the last frame, so quick strokes stay smooth.
        const samples = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
        (samples.length ? samples : [event]).forEach(function (sample) {
          editor.paintTo(editor.view.toImage(sample.clientX, sample.clientY));
        });
      }
      editor.drawToolLayer();
    });
    function finish() {
      if (editor.view.endPan()) return;
      if (editor.stroke) editor.endStroke();
    }
    viewport.addEventListener("pointerup", finish);
    viewport.addEventListener("pointercancel", finish);
    viewport.addEventListener("pointerleave", function () {
      editor.pointer = null;
      editor.drawToolLayer();
    });
    viewport.addEventListener("dblclick", function (event) {
      if (editor.tool !== "polygon") return;
      event.preventDefault();
      editor.closePolygon();
    });
  }

  function onPlainKey(editor, key) {
    const lower = key.toLowerCase();
    if (TOOL_KEYS[lower]) editor.setTool(TOOL_KEYS[lower]);
    else if (key === "[") editor.setSize(editor.size / 1.25);
    else if (key === "]") editor.setSize(Math.max(editor.size + 1, editor.size * 1.25));
    else if (key === "+" || key === "=") editor.view.zoomBy(1.25);
    else if (key === "-" || key === "_") editor.view.zoomBy(0.8);
    else if (key === "0") editor.view.fit();
    else if (key === "1") editor.view.zoomTo(1);
    else if (key === "Enter" && editor.polygon.length) editor.closePolygon();
    else if (key === "Backspace" && editor.polygon.length) editor.removeLastCorner();
    else if (key === "Escape") { if (!editor.cancelPolygon()) editor.select(null); }
    else if (key === "Delete") editor.deleteRegion(editor.selectedRegion());
    else if (lower === "n") editor.newRegion();
    else return false;
    return true;
  }

  function setSpace(editor, down) {
    editor.spaceDown = down;
    editor.el.viewport.classList.toggle("space-pan", down);
  }

  function onKey(editor, event) {
    const key = event.key;
    const command = event.ctrlKey || event.metaKey;
    if (command && key.toLowerCase() === "s") {
      event.preventDefault();
      Annotate.save(editor);
      return;
    }
    if (isTyping(event.target)) {
      if (key === "Escape") event.target.blur();
      return;
    }
    let handled = true;
    if (command && key.toLowerCase() === "z") {
      if (event.shiftKey) editor.redo();
      else editor.undo();
    } else if (command && key.toLowerCase() === "y") {
      editor.redo();
    } else if (command || event.altKey) {
      handled = false;
    } else if (key === " ") {
      // A focused button takes the space bar as a press; everywhere else it pans while held.
      if (event.target && event.target.tagName === "BUTTON") return;
      setSpace(editor, true);
    } else {
      handled = onPlainKey(editor, key);
    }
    if (handled) event.preventDefault();
  }

  /* --- Toolbar ------------------------------------------------------------------------- */

  function bindToolbar(editor) {
    editor.root.querySelectorAll("[data-tool]").forEach(function (button) {
      button.addEventListener("click", function () { editor.setTool(button.dataset.tool); });
    });
    editor.el.size.addEventListener("input", function () { editor.setSize(Number(editor.el.size.value)); });
    const zoom = { in: function () { editor.view.zoomBy(1.25); }, out: function () { editor.view.zoomBy(0.8); },
      fit: function () { editor.view.fit(); }, actual: function () { editor.view.zoomTo(1); } };
    editor.root.querySelectorAll("[data-zoom]").forEach(function (button) {
      button.addEventListener("click", zoom[button.dataset.zoom]);
    });
    editor.el.undo.addEventListener("click", function () { editor.undo(); });
    editor.el.redo.addEventListener("click", function () { editor.redo(); });
    function fade() { editor.el.layers.style.opacity = editor.el.opacity.value / 100; }
    editor.el.opacity.addEventListener("input", fade);
    fade();
  }

  Annotate.bindInput = function (editor) {
    bindPointer(editor);
    bindToolbar(editor);
    document.addEventListener("keydown", function (event) { onKey(editor, event); });
    document.addEventListener("keyup", function (event) { if (event.key === " ") setSpace(editor, false); });
    window.addEventListener("blur", function () { setSpace(editor, false); });
    window.addEventListener("beforeunload", function (event) {
      if (!editor.isDirty()) return;
      // Browsers show their own words; asking is all a page can do.
      event.preventDefault();
      event.returnValue = "";
    });
  };
})();

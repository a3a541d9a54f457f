/* Side panels of the annotation editor (annotate.js): defect types, the list of
 * regions, saving with its conflict answer, and the revisions with view and restore. */
(function () {
  "use strict";

  const App = window.App;
  const Annotate = (window.Annotate = window.Annotate || {});
  // Distinct colours offered for new defect types, in order.
  const PALETTE = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#9a6324", "#469990", "#808000"];

  function element(name, attributes, text) {
    const node = document.createElement(name);
    Object.keys(attributes || {}).forEach(function (key) { node.setAttribute(key, attributes[key]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function find(editor, selector) { return editor.root.querySelector(selector); }

  function plural(count, word) { return count + " " + word + (count === 1 ? "" : "s"); }

  function showError(editor, selector, message) {
    const box = find(editor, selector);
    box.textContent = message || "";
    box.hidden = !message;
  }

  /* --- Defect types --------------------------------------------------------------- */

  Annotate.newRegionType = function (editor) {
    const value = Number(find(editor, "[data-new-region-type]").value);
    return editor.typeById(value) ? value : null;
  };

  Annotate.renderTypes = function (editor) {
    const select = find(editor, "[data-new-region-type]");
    const chosen = Number(select.value);
    select.textContent = "";
    editor.types.forEach(function (type) { select.appendChild(element("option", { value: type.id }, type.name)); });
    if (editor.typeById(chosen)) select.value = String(chosen);
    select.disabled = !editor.types.length;
    const list = find(editor, "[data-type-list]");
    list.textContent = "";
    editor.types.forEach(function (type) {
      const item = element("li", { "data-type-id": type.id, class: "type-item" });
      item.appendChild(element("span", { class: "swatch", style: "background:" + type.color }));
      item.appendChild(element("span", { class: "type-name" }, type.name));
      item.appendChild(element("small", { class: "muted" }, plural(type.region_count || 0, "saved region")));
      item.appendChild(element("button", { type: "button", class: "button-small button-secondary", "data-edit-type": "", "aria-label": "Edit defect type " + type.name }, "Edit"));
      const remove = element("button", { type: "button", class: "button-small button-secondary", "data-delete-type": "", "aria-label": "Delete defect type " + type.name }, "Delete");
      // A type any saved revision uses stays, so that every revision can still be restored.
      remove.disabled = Boolean(type.in_use);
      if (type.in_use) remove.title = "Saved regions use this type";
      item.appendChild(remove);
      list.appendChild(item);
    });
    find(editor, "[data-type-empty]").hidden = editor.types.length > 0;
    const colour = find(editor, "[data-type-form] [name=color]");
    const used = editor.types.map(function (type) { return type.color.toLowerCase(); });
    if (!colour.dataset.touched) colour.value = PALETTE.find(function (hex) { return used.indexOf(hex) < 0; }) || PALETTE[0];
    Annotate.renderRegions(editor);
  };

  Annotate.reloadTypes = async function (editor) {
    editor.types = await App.api(editor.typesUrl);
    Annotate.renderTypes(editor);
  };

  function editTypeForm(editor, item, type) {
    const form = element("form", { class: "type-edit", "data-type-edit": "" });
    form.appendChild(element("label", { for: "type-name-" + type.id, class: "visually-hidden" }, "New name of " + type.name));
    const name = element("input", { type: "text", id: "type-name-" + type.id, name: "name", maxlength: "100", required: "" });
    name.value = type.name;
    form.appendChild(name);
    form.appendChild(element("label", { for: "type-color-" + type.id, class: "visually-hidden" }, "Colour of " + type.name));
    const colour = element("input", { type: "color", id: "type-color-" + type.id, name: "color" });
    colour.value = type.color;
    form.appendChild(colour);
    form.appendChild(element("button", { type: "submit", class: "button-small" }, "Save type"));
    const cancel = element("button", { type: "button", class: "button-small button-secondary" }, "Cancel");
    form.appendChild(cancel);
    cancel.addEventListener("click", function () { Annotate.renderTypes(editor); });
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      try {
        await App.api(editor.typesUrl + type.id + "/", { method: "PATCH", json: { name: name.value.trim(), color: colour.value } });
        showError(editor, "[data-type-error]", "");
        await Annotate.reloadTypes(editor);
        editor.regions.forEach(function (region) { if (region.typeId === type.id) editor.repaint(region); });
      } catch (error) {
        showError(editor, "[data-type-error]", error.message);
      }
    });
    item.textContent = "";
    item.appendChild(form);
    name.focus();
  }

  async function deleteType(editor, type) {
    if (editor.regions.some(function (region) { return region.typeId === type.id; })) {
      showError(editor, "[data-type-error]", "Regions on this page are of type " + type.name + "; give them another type first.");
      return;
    }
    try {
      await App.api(editor.typesUrl + type.id + "/", { method: "DELETE" });
      showError(editor, "[data-type-error]", "");
      await Annotate.reloadTypes(editor);
    } catch (error) {
      showError(editor, "[data-type-error]", error.message);
    }
  }

  function bindTypes(editor) {
    const form = find(editor, "[data-type-form]");
    form.elements.color.addEventListener("input", function () { form.elements.color.dataset.touched = "1"; });
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      try {
        const created = await App.api(editor.typesUrl, { method: "POST", json: { name: form.elements.name.value.trim(), color: form.elements.color.value } });
        showError(editor, "[data-type-error]", "");
        form.elements.name.value = "";
        delete form.elements.color.dataset.touched;
        await Annotate.reloadTypes(editor);
        // The type just made is the one people mean to draw next.
        find(editor, "[data-new-region-type]").value = String(created.id);
      } catch (error) {
        showError(editor, "[data-type-error]", error.message);
      }
    });
    find(editor, "[data-type-list]").addEventListener("click", function (event) {
      const item = event.target.closest("[data-type-id]");
      const type = item && editor.typeById(Number(item.dataset.typeId));
      if (!type) return;
      if (event.target.closest("[data-edit-type]")) editTypeForm(editor, item, type);
      else if (event.target.closest("[data-delete-type]")) deleteType(editor, type);
    });
  }

  /* --- Regions ----------------------------------------------------------------------- */

  Annotate.renderRegions = function (editor) {
    const list = find(editor, "[data-region-list]");
    list.textContent = "";
    editor.regions.forEach(function (region, index) {
      const type = editor.typeById(region.typeId);
      const title = "Region " + (index + 1);
      const selected = region.key === editor.selected;
      const item = element("li", { class: "region-item" + (selected ? " region-selected" : ""), "data-region-key": region.key });
      const choose = element("button", { type: "button", class: "region-select", "data-select-region": "", "aria-pressed": String(selected) });
      choose.appendChild(element("span", { class: "swatch", style: "background:" + (type ? type.color : "#888") }));
      choose.appendChild(document.createTextNode(title));
      item.appendChild(choose);
      const select = element("select", { "data-region-type": "", "aria-label": "Defect type of " + title.toLowerCase() });
      editor.types.forEach(function (each) { select.appendChild(element("option", { value: each.id }, each.name)); });
      select.value = String(region.typeId);
      select.disabled = editor.readOnly();
      item.appendChild(select);
      item.appendChild(element("span", { class: "region-area" }, region.area ? region.area.toLocaleString("en") + " px" : "empty, not saved"));
      const remove = element("button", { type: "button", class: "button-small button-secondary", "data-delete-region": "", "aria-label": "Delete " + title.toLowerCase() }, "Delete");
      remove.disabled = editor.readOnly();
      item.appendChild(remove);
      list.appendChild(item);
    });
    find(editor, "[data-region-empty]").hidden = editor.regions.length > 0;
  };

  function bindRegions(editor) {
    const list = find(editor, "[data-region-list]");
    function regionOf(event) {
      const item = event.target.closest("[data-region-key]");
      const key = item && Number(item.dataset.regionKey);
      return editor.regions.find(function (region) { return region.key === key; }) || null;
    }
    list.addEventListener("click", function (event) {
      const region = regionOf(event);
      if (!region) return;
      if (event.target.closest("[data-select-region]")) editor.select(editor.selected === region.key ? null : region.key);
      else if (event.target.closest("[data-delete-region]")) editor.deleteRegion(region);
    });
    list.addEventListener("change", function (event) {
      const region = regionOf(event);
      if (region && event.target.matches("[data-region-type]")) editor.changeType(region, Number(event.target.value));
    });
    find(editor, "[data-new-region]").addEventListener("click", function () { editor.newRegion(); });
  }

  /* --- Saving ------------------------------------------------------------------------ */

  Annotate.renderSaveState = function (editor) {
    const dirty = editor.isDirty();
    const save = find(editor, "[data-save]");
    save.disabled = editor.readOnly() || editor.saving;
    editor.root.dataset.dirty = String(dirty);
    find(editor, "[data-dirty-state]").textContent = dirty ? "Unsaved changes" : editor.revision ? "All changes saved" : "Not annotated yet";
    find(editor, "[data-revision-text]").textContent = editor.revision ? "Started from revision " + editor.revision : "No saved revision yet";
  };

  function status(editor, text, isProblem) {
    const line = find(editor, "[data-save-status]");
    line.textContent = text;
    line.classList.toggle("text-bad", Boolean(isProblem));
  }

  /* Send every region that has pixels as a PNG mask; `baseRevision` overrides the one the drawing started from. */
  Annotate.save = async function (editor, baseRevision) {
    if (editor.readOnly() || editor.saving || editor.root.dataset.state !== "ready") return;
    if (editor.polygon.length) editor.closePolygon();
    const note = find(editor, "[data-note]").value.trim();
    if (baseRevision === undefined && !editor.isDirty() && !note && editor.revision) {
      status(editor, "Nothing changed since revision " + editor.revision + ".");
      return;
    }
    const kept = editor.regions.filter(function (region) { return region.area > 0; });
    editor.saving = true;
    Annotate.renderSaveState(editor);
    status(editor, "Saving…");
    try {
      const data = new FormData();
      data.append("base_revision", String(baseRevision === undefined ? editor.revision : baseRevision));
      data.append("note", note);
      const entries = [];
      for (let index = 0; index < kept.length; index += 1) {
        const name = "mask_" + index;
        entries.push({ defect_type: kept[index].typeId, mask: name });
        data.append(name, await kept[index].mask.toPngBlob(), name + ".png");
      }
      data.append("regions", JSON.stringify(entries));
      const annotation = await App.api(editor.annotationUrl, { method: "PUT", body: data });
      kept.forEach(function (region, index) { if (annotation.regions[index]) region.id = annotation.regions[index].id; });
      editor.revision = annotation.revision;
      editor.history.markSaved();
      find(editor, "[data-note]").value = "";
      find(editor, "[data-conflict]").hidden = true;
      const left = editor.regions.length - kept.length;
      status(editor, "Saved as revision " + annotation.revision + " (" + plural(kept.length, "region") + ")." +
        (left ? " " + plural(left, "empty region") + " left out." : ""));
      Annotate.loadRevisions(editor);
      Annotate.reloadTypes(editor).catch(function () {});
    } catch (error) {
      await explainRefusal(editor, error);
    } finally {
      editor.saving = false;
      Annotate.renderSaveState(editor);
    }
  };

  async function explainRefusal(editor, error) {
    if (error.status === 409) {
      let current = null;
      try { current = await App.api(editor.annotationUrl); } catch (ignored) { current = null; }
      if (current && current.revision !== editor.revision) {
        editor.newerRevision = current.revision;
        find(editor, "[data-conflict-text]").textContent = "Someone saved a newer revision (" + current.revision +
          (current.created_by ? ", by " + current.created_by : "") + "); reload to see it. Your drawing is still here and was not saved.";
        find(editor, "[data-conflict]").hidden = false;
        status(editor, "Not saved: someone saved a newer revision; reload.", true);
        return;
      }
    }
    status(editor, "Not saved: " + error.message, true);
  }

  function bindSaving(editor) {
    find(editor, "[data-save]").addEventListener("click", function () { Annotate.save(editor); });
    find(editor, "[data-save-over]").addEventListener("click", function () { Annotate.save(editor, editor.newerRevision); });
    find(editor, "[data-reload]").addEventListener("click", async function () {
      try {
        await editor.showAnnotation(await App.api(editor.annotationUrl));
        find(editor, "[data-conflict]").hidden = true;
        status(editor, "Loaded revision " + editor.revision + ".");
        Annotate.loadRevisions(editor);
      } catch (error) {
        status(editor, "Cannot load the newer revision: " + error.message, true);
      }
    });
  }

  /* --- Revisions ----------------------------------------------------------------------- */

  Annotate.loadRevisions = async function (editor) {
    const list = find(editor, "[data-revision-list]");
    try {
      editor.revisions = await App.api(editor.annotationUrl + "revisions/");
    } catch (error) {
      list.textContent = "";
      list.appendChild(element("li", { class: "error" }, "The revisions cannot be read: " + error.message));
      return;
    }
    renderRevisions(editor);
  };

  function renderRevisions(editor) {
    const list = find(editor, "[data-revision-list]");
    list.textContent = "";
    const newest = editor.revisions.length ? editor.revisions[0].revision : 0;
    const viewed = editor.viewing ? editor.viewing.revision : null;
    editor.revisions.forEach(function (revision) {
      const item = element("li", { class: "revision-item" + (revision.revision === viewed ? " revision-viewed" : ""), "data-revision": revision.revision });
      const head = element("div", { class: "revision-head" });
      head.appendChild(element("strong", {}, "Revision " + revision.revision));
      if (revision.revision === newest) head.appendChild(element("span", { class: "badge badge-active" }, "current"));
      item.appendChild(head);
      const when = revision.created_at ? new Date(revision.created_at).toLocaleString() : "";
      item.appendChild(element("small", { class: "muted" }, [plural(revision.region_count, "region"), revision.created_by, when].filter(Boolean).join(" · ")));
      if (revision.note) item.appendChild(element("p", { class: "revision-note" }, revision.note));
      const buttons = element("div", { class: "row" });
      buttons.appendChild(element("button", { type: "button", class: "button-small button-secondary", "data-view-revision": revision.revision, "aria-label": "View revision " + revision.revision }, "View"));
      if (revision.revision !== newest) {
        buttons.appendChild(element("button", { type: "button", class: "button-small button-secondary", "data-restore-revision": revision.revision, "aria-label": "Restore revision " + revision.revision }, "Restore"));
      }
      item.appendChild(buttons);
      list.appendChild(item);
    });
    if (!editor.revisions.length) list.appendChild(element("li", { class: "muted" }, "Nothing saved yet."));
  }

  async function viewRevision(editor, number) {
    try {
      const annotation = await App.api(editor.annotationUrl + "revisions/" + number + "/");
      const regions = await editor.regionsOf(annotation);
      if (!editor.viewing) {
        editor.cancelPolygon();
        // The drawing is set aside, not lost: "Back to editing" brings it back with its undo history.
        editor.viewing = { stash: { regions: editor.regions.slice(), history: editor.history, revision: editor.revision, selected: editor.selected } };
        editor.history = new Annotate.History();
      }
      editor.viewing.revision = number;
      editor.setRegions(regions);
      editor.root.classList.add("viewing");
      find(editor, "[data-viewing-text]").textContent = "Revision " + number + ", read-only.";
      find(editor, "[data-restore-viewed]").hidden = number === (editor.revisions[0] || {}).revision;
      find(editor, "[data-viewing-banner]").hidden = false;
      editor.changed();
      editor.drawToolLayer();
      renderRevisions(editor);
    } catch (error) {
      status(editor, "Cannot show revision " + number + ": " + error.message, true);
    }
  }

  function stopViewing(editor) {
    if (!editor.viewing) return;
    const stash = editor.viewing.stash;
    editor.viewing = null;
    editor.setRegions(stash.regions);
    editor.history = stash.history;
    editor.revision = stash.revision;
    editor.selected = stash.selected;
    editor.root.classList.remove("viewing");
    find(editor, "[data-viewing-banner]").hidden = true;
    editor.changed();
    renderRevisions(editor);
  }

  async function restoreRevision(editor, number) {
    if (editor.isDirty() && !window.confirm("Restoring revision " + number + " replaces the unsaved drawing on this page. Restore it anyway?")) return;
    try {
      const annotation = await App.api(editor.annotationUrl + "revisions/" + number + "/restore/", { method: "POST" });
      await editor.showAnnotation(annotation);
      find(editor, "[data-viewing-banner]").hidden = true;
      status(editor, "Revision " + number + " restored as revision " + annotation.revision + ".");
      Annotate.loadRevisions(editor);
      Annotate.reloadTypes(editor).catch(function () {});
    } catch (error) {
      status(editor, "Cannot restore revision " + number + ": " + error.message, true);
    }
  }

  function bindRevisions(editor) {
    find(editor, "[data-revision-list]").addEventListener("click", function (event) {
      const view = event.target.closest("[data-view-revision]");
      const restore = event.target.closest("[data-restore-revision]");
      if (view) viewRevision(editor, Number(view.dataset.viewRevision));
      else if (restore) restoreRevision(editor, Number(restore.dataset.restoreRevision));
    });
    find(editor, "[data-stop-viewing]").addEventListener("click", function () { stopViewing(editor); });
    find(editor, "[data-restore-viewed]").addEventListener("click", function () { restoreRevision(editor, editor.viewing.revision); });
  }

  Annotate.bindPanels = function (editor) {
    bindTypes(editor);
    bindRegions(editor);
    bindSaving(editor);
    bindRevisions(editor);
  };
})();

/* Review page keyboard shortcuts: N marks the part normal, D goes to the defect type
 * (Enter confirms), 1-9 confirm a known defect type. Keys typed into a field are left alone. */
(function () {
  "use strict";

  document.addEventListener("DOMContentLoaded", function () {
    const normal = document.getElementById("normal-form");
    const defect = document.getElementById("defect-form");
    if (!normal || !defect) return;
    const typeInput = defect.querySelector('[name="defect_type"]');
    let sent = false;

    function send(form) {
      if (sent) return;
      sent = true;
      form.querySelectorAll("button").forEach(function (button) { button.disabled = true; });
      form.submit();
    }

    defect.querySelectorAll("[data-defect-type]").forEach(function (button) {
      button.addEventListener("click", function () {
        typeInput.value = button.dataset.defectType;
        send(defect);
      });
    });

    document.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.metaKey || event.altKey) return;
      const target = event.target;
      // Letters typed into a text field are text; a focused slider or button does not take letters.
      const textual = target && target.tagName === "INPUT" && ["range", "checkbox", "radio", "button", "submit"].indexOf(target.type) < 0;
      const typing = target && (textual || target.tagName === "TEXTAREA" || target.tagName === "SELECT" || target.isContentEditable);
      if (typing) {
        if (event.key === "Escape") target.blur();
        return;
      }
      const key = event.key.toLowerCase();
      if (key === "n") {
        event.preventDefault();
        send(normal);
      } else if (key === "d") {
        event.preventDefault();
        typeInput.focus();
      } else if (/^[1-9]$/.test(key)) {
        const button = defect.querySelector('[data-shortcut="' + key + '"]');
        if (button) {
          event.preventDefault();
          button.click();
        }
      }
    });
  });
})();

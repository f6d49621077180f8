// Behaviour shared by every page. The Content-Security-Policy allows scripts from
// this site only, so pages carry data attributes and no inline handlers.
(function () {
  "use strict";

  // A form with data-confirm asks before it is sent (deleting, removing a member).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm) {
      if (!window.confirm(form.dataset.confirm)) {
        event.preventDefault();
      }
    }
  });

  // A select with data-autosubmit sends its form on change (the language picker);
  // without scripts its <noscript> button does the same.
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field instanceof HTMLSelectElement && "autosubmit" in field.dataset && field.form) {
      field.form.submit();
    }
  });
})();

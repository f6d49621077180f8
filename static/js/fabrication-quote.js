// The live quote of the 3D-print upload form: as the member picks a model file, a
// material and a quantity, the quote API measures the model and prices it; nothing
// is stored until the form is submitted. Without scripts the form still works: it
// posts the model and the next page shows the quote.
(function () {
  "use strict";
  var form = document.getElementById("fabrication-upload");
  var output = document.getElementById("live-quote");
  if (!form || !output || !window.fetch || !window.FormData) { return; }
  var fileInput = form.querySelector("input[type=file][name=file]");
  var material = form.querySelector("select[name=material]");
  var quantity = form.querySelector("input[name=quantity]");
  var token = form.querySelector("input[name=csrfmiddlewaretoken]");
  if (!fileInput || !material || !quantity || !token) { return; }
  var state = output.querySelector("[data-slot=state]");
  var result = output.querySelector("[data-slot=result]");
  var latest = 0;
  var timer = null;

  function fill(name, text) {
    output.querySelectorAll("[data-slot=" + name + "]").forEach(function (slot) {
      slot.textContent = text;
    });
  }

  function say(text, isError) {
    output.hidden = false;
    result.hidden = true;
    state.hidden = false;
    state.textContent = text;
    state.classList.toggle("error", Boolean(isError));
  }

  // The page's own wording of an error code, else the API's message.
  function wording(error) {
    var key = "error" + String(error.code || "").toLowerCase().split("_").map(function (part) {
      return part.charAt(0).toUpperCase() + part.slice(1);
    }).join("");
    var text = output.dataset[key];
    if (!text) { return error.message; }
    var details = error.details || {};
    function sizes(box) {
      return box ? [box.x, box.y, box.z].join(" × ") : "";
    }
    return text.replace("%(model)s", sizes(details.model_mm)).replace("%(build)s", sizes(details.build_mm));
  }

  function show(quote) {
    fill("volume_cm3", quote.volume_cm3);
    var box = quote.bounding_box_mm;
    fill("size", [box.x, box.y, box.z].join(" × "));
    fill("unit_price", quote.unit_price);
    fill("setup_fee", quote.setup_fee);
    fill("quote_amount", quote.quote_amount);
    fill("currency", quote.currency);
    output.hidden = false;
    state.hidden = true;
    result.hidden = false;
  }

  function ask() {
    var option = material.options[material.selectedIndex];
    if (!fileInput.files.length || !material.value || !option) {
      output.hidden = true;
      return;
    }
    var body = new FormData();
    body.append("file", fileInput.files[0]);
    body.append("material", material.value);
    body.append("makerspace", option.dataset.makerspace || "");
    body.append("quantity", quantity.value || "1");
    var mine = ++latest;
    say(output.dataset.pending, false);
    fetch(form.dataset.quoteUrl, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: {"X-CSRFToken": token.value, "Accept": "application/json"}
    }).then(function (response) {
      return response.json().then(function (data) {
        return {ok: response.ok, data: data};
      });
    }).then(function (answer) {
      if (mine !== latest) { return; }
      if (answer.ok) {
        show(answer.data);
      } else {
        say(wording((answer.data && answer.data.error) || {}), true);
      }
    }).catch(function () {
      if (mine === latest) { say(output.dataset.failed, true); }
    });
  }

  // Typing a quantity asks once the member pauses, not at every key.
  function soon() {
    window.clearTimeout(timer);
    timer = window.setTimeout(ask, 400);
  }

  fileInput.addEventListener("change", ask);
  material.addEventListener("change", ask);
  quantity.addEventListener("input", soon);
})();

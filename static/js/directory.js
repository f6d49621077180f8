// "Use my location" on the makerspace directory: fills near=lat,lng from the browser.
(function () {
  "use strict";
  var button = document.getElementById("use-my-location");
  if (!button || !("geolocation" in navigator)) { return; }
  var field = document.getElementById(button.dataset.field);
  var status = document.getElementById("location-status");
  if (!field || !status) { return; }
  button.hidden = false;
  button.addEventListener("click", function () {
    status.textContent = button.dataset.locating;
    navigator.geolocation.getCurrentPosition(function (position) {
      field.value = position.coords.latitude.toFixed(5) + "," + position.coords.longitude.toFixed(5);
      status.textContent = "";
      field.focus();
    }, function () {
      status.textContent = button.dataset.failed;
    }, {timeout: 10000, maximumAge: 600000});
  });
})();

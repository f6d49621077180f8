// Places the blocks of a machine's timetable. The server computes each block's
// position (data-place: "top: ..%; height: ..%;") and the grid's size
// (data-hours, data-days); style attributes in the markup would be refused by the
// Content-Security-Policy, while styles set from a script of this site are not.
(function () {
  "use strict";
  var grids = document.querySelectorAll(".timetable[data-hours]");
  grids.forEach(function (grid) {
    grid.style.setProperty("--hours", grid.dataset.hours);
    grid.style.setProperty("--days", grid.dataset.days);
    grid.querySelectorAll("[data-place]").forEach(function (block) {
      block.style.cssText = block.dataset.place;
    });
    grid.classList.add("placed");
  });
})();

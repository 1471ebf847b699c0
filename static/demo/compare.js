// Before/after comparison: the range input laid over the photo moves the divider (mouse, touch, keys).
(function () {
  "use strict";
  const compare = document.getElementById("compare");
  const split = document.getElementById("split");
  if (!compare || !split) return;
  function place() { compare.style.setProperty("--pos", split.value + "%"); }
  split.addEventListener("input", place);
  place();
})();

// Studio page: every change of style, blend or strength asks the demo API for that look (a result
// already rendered comes back at once), then polls it and shows the progress until the rendering is
// there. Only the latest request counts: answers to older ones are ignored. While the strength
// slider moves, the shown result is faded towards the original as a preview (exact for lower strengths).
(function () {
  "use strict";
  const root = document.getElementById("studio");
  const compare = document.getElementById("compare");
  const after = document.getElementById("after");
  const busy = document.getElementById("busy");
  const busyText = document.getElementById("busy-text");
  const busyMeter = document.getElementById("busy-meter");
  const label = document.getElementById("look-label");
  const errorLine = document.getElementById("render-error");
  const strength = document.getElementById("strength");
  const strengthValue = document.getElementById("strength-value");
  const blend = document.getElementById("blend");
  const blendBody = document.getElementById("blend-body");
  const blendWith = document.getElementById("blend-with");
  const mix = document.getElementById("mix");
  const mixValue = document.getElementById("mix-value");
  const download = document.getElementById("download");
  const share = document.getElementById("share");
  const csrfToken = PieNet.csrfToken(root);
  // The controls render on change; pressing Enter in them must not submit (and reload) the page.
  document.getElementById("controls").addEventListener("submit", function (event) { event.preventDefault(); });
  let sequence = 0;
  let shownStrength = null; // strength of the result on screen

  // The style thumbnails show the visitor's own photo. A worker makes them all at once after the page
  // opened (the server answers 204 until then): ask for the first until it is there, then show them all.
  const thumbnails = Array.from(root.querySelectorAll(".dm-chip img[data-src]"));
  function showThumbnails(delay) {
    if (!thumbnails.length) return;
    fetch(thumbnails[0].dataset.src, { credentials: "same-origin" }).then(function (response) {
      if (response.status !== 200) throw new Error("not yet");
      thumbnails.forEach(function (image) { image.src = image.dataset.src; });
    }).catch(function () {
      setTimeout(function () { showThumbnails(Math.min(delay * 1.5, 10000)); }, delay);
    });
  }
  showThumbnails(1000);

  function chosenStyle() {
    const checked = root.querySelector("input[name=style]:checked") || root.querySelector("input[name=style]");
    if (checked) checked.checked = true;
    return checked ? checked.value : "";
  }

  function look() {
    return {
      style: chosenStyle(),
      blend_with: blend.checked ? blendWith.value : "",
      mix: blend.checked ? (Number(mix.value) / 100).toFixed(2) : "0",
      strength: (Number(strength.value) / 100).toFixed(2),
    };
  }

  function showError(message) {
    PieNet.showStatus(errorLine, message);
  }

  function showBusy(progress, text) {
    busy.hidden = false;
    busyText.textContent = text;
    busyMeter.style.width = progress + "%";
    root.dataset.state = "rendering";
  }

  function showResult(result, mine) {
    const image = new Image();
    image.onload = function () {
      if (mine !== sequence) return;
      after.src = result.after_url;
      after.style.opacity = "";
      compare.classList.add("dm-has-after");
      busy.hidden = true;
      shownStrength = Number(result.strength);
      label.textContent = result.label + " · strength " + Math.round(shownStrength * 100) + "%";
      download.href = result.download_url;
      download.setAttribute("aria-disabled", "false");
      share.value = new URL(result.page_url, window.location.href).href;
      root.dataset.state = "ready";
      root.dataset.result = result.token;
    };
    image.onerror = function () { if (mine === sequence) fail("The result could not be loaded; please try again."); };
    image.src = result.after_url;
  }

  function fail(message) {
    busy.hidden = true;
    root.dataset.state = "failed";
    showError(message);
  }

  function follow(result, mine, delay) {
    if (mine !== sequence) return;
    if (result.status === "succeeded") return showResult(result, mine);
    if (result.status === "failed") return fail(result.error || "This rendering failed; please try again.");
    showBusy(Math.max(5, result.progress), (result.status === "queued" ? "Waiting for a free worker…" : "Rendering… ") +
      (result.status === "queued" ? "" : result.progress + "%"));
    setTimeout(function () {
      PieNet.request("GET", root.dataset.resultUrl.replace("TOKEN", encodeURIComponent(result.token))).then(
        function (next) { follow(next, mine, Math.min(1000, delay * 1.3)); },
        function (error) { if (mine === sequence) follow(result, mine, Math.min(4000, delay * 2)); });
    }, delay);
  }

  function render() {
    const mine = ++sequence;
    const wanted = look();
    if (!wanted.style) return fail("No style is available yet.");
    showError("");
    download.setAttribute("aria-disabled", "true");
    showBusy(3, "Starting…");
    PieNet.request("POST", root.dataset.renderUrl, wanted, { csrfToken: csrfToken }).then(
      function (result) { follow(result, mine, 150); },
      function (error) { if (mine === sequence) fail(error.message); });
  }

  let timer = null;
  function renderSoon() {
    clearTimeout(timer);
    timer = setTimeout(render, 200);
  }

  strength.addEventListener("input", function () {
    strengthValue.textContent = strength.value + "%";
    // Preview: the result fades towards the original (before + s/s0 of the change on screen).
    if (shownStrength) after.style.opacity = String(Math.min(1, Number(strength.value) / 100 / shownStrength));
  });
  strength.addEventListener("change", renderSoon);
  mix.addEventListener("input", function () { mixValue.textContent = mix.value + "%"; });
  mix.addEventListener("change", renderSoon);
  blendWith.addEventListener("change", renderSoon);
  blend.addEventListener("change", function () {
    blendBody.hidden = !blend.checked;
    if (blend.checked && blendWith.value === chosenStyle()) {  // blending a style with itself changes nothing
      const other = Array.from(blendWith.options).find(function (option) { return option.value !== chosenStyle(); });
      if (other) blendWith.value = other.value;
    }
    renderSoon();
  });
  root.querySelectorAll("input[name=style]").forEach(function (input) {
    input.addEventListener("change", renderSoon);
  });
  document.getElementById("copy").addEventListener("click", function () {
    if (!share.value) return;
    share.select();
    (navigator.clipboard ? navigator.clipboard.writeText(share.value) : Promise.reject()).then(
      function () { document.getElementById("copy").textContent = "Copied"; },
      function () { document.execCommand("copy"); });
  });
  render();
})();

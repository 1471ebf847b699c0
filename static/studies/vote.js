// Trial page: asks the study API for the current trial (which prepares the trials after picking),
// shows a progress bar while they are rendered, then one trial at a time. The server is the source
// of truth: a reload, the back button or a second tab redraw from it, and a vote sent twice counts once.
(function () {
  "use strict";
  const root = document.getElementById("voting");
  const optionsBox = document.getElementById("options");
  const actions = document.getElementById("actions");
  const confirmButton = document.getElementById("confirm");
  const preparing = document.getElementById("preparing");
  const preparingMessage = document.getElementById("preparing-message");
  const preparingBar = document.getElementById("preparing-bar");
  const meter = document.getElementById("preparing-meter");
  const statusLine = document.getElementById("status");
  const count = document.getElementById("trial-count");
  const instructions = document.getElementById("instructions");
  const zoom = document.getElementById("zoom");
  const zoomImage = document.getElementById("zoom-image");
  const csrfToken = PieNet.csrfToken(root);
  let trialToken = null;
  let selected = null;
  let shownAt = null; // when every image of the trial had loaded
  let sending = false;
  let pollDelay = 800;

  function request(method, url, body) {
    return PieNet.request(method, url, body, { csrfToken: csrfToken });
  }

  function showStatus(message) {
    PieNet.showStatus(statusLine, message);
  }

  function wait(milliseconds) {
    return new Promise(function (resolve) { setTimeout(resolve, milliseconds); });
  }

  function apply(state) {
    if (state.stage === "picking") { window.location.assign(root.dataset.pickPage); return; }
    if (state.stage === "done") { window.location.assign(root.dataset.donePage); return; }
    if (state.stage === "failed") {
      preparing.hidden = false;
      preparingMessage.textContent = state.message || "Preparing your photos failed.";
      showStatus("Something went wrong on our side; please contact the researchers with your participant code.");
      return;
    }
    if (state.stage === "preparing") {
      optionsBox.hidden = actions.hidden = true;
      preparing.hidden = false;
      preparingMessage.textContent = state.message;
      meter.style.width = state.percent + "%";
      preparingBar.setAttribute("aria-valuenow", String(state.percent));
      setTimeout(load, pollDelay);
      pollDelay = Math.min(pollDelay * 1.25, 4000);
      return;
    }
    preparing.hidden = true;
    count.textContent = "Photo " + state.trial.number + " of " + state.total;
    if (state.trial.token !== trialToken) drawTrial(state.trial);
    else layout();
  }

  function drawTrial(trial) {
    trialToken = trial.token;
    selected = null;
    shownAt = null;
    optionsBox.innerHTML = "";
    optionsBox.hidden = actions.hidden = false;
    confirmButton.disabled = true;
    const total = trial.options.length;
    let loaded = 0;
    trial.options.forEach(function (option, index) {
      const box = document.createElement("div");
      box.className = "st-option";
      const button = document.createElement("button");
      button.type = "button";
      button.className = "st-choice";
      button.setAttribute("role", "radio");
      button.setAttribute("aria-checked", "false");
      button.setAttribute("aria-label", "Version " + (index + 1) + " of " + total);
      button.dataset.token = option.token;
      const image = document.createElement("img");
      image.alt = "Version " + (index + 1);
      image.decoding = "async";
      image.addEventListener("load", function () {
        loaded += 1;
        layout(); // on every load: an image that loads into a row already as tall as it resizes nothing observed
        if (loaded === total) shownAt = performance.now();
      });
      image.addEventListener("error", function () { showStatus("An image did not load; reload the page."); });
      image.src = option.image_url;
      const number = document.createElement("span");
      number.className = "st-number";
      number.setAttribute("aria-hidden", "true");
      number.textContent = String(index + 1);
      button.append(image, number);
      button.addEventListener("click", function () { select(button); });
      const enlarge = document.createElement("button");
      enlarge.type = "button";
      enlarge.className = "st-enlarge";
      enlarge.setAttribute("aria-label", "Enlarge version " + (index + 1));
      enlarge.textContent = "⤢";
      enlarge.addEventListener("click", function () {
        zoomImage.src = option.image_url;
        zoomImage.alt = "Version " + (index + 1) + ", enlarged";
        zoom.showModal();
      });
      box.append(button, enlarge);
      optionsBox.append(box);
    });
  }

  // Every option at once, at one size, above the confirm bar: try each number of columns and keep the one
  // that shows the photo largest in the space left on screen (unequal sizes or scrolling would bias choices).
  function layout() {
    // The options are one photo in different versions, so any loaded one gives the size (whichever loads first).
    const sample = Array.from(optionsBox.querySelectorAll(".st-choice img")).find(function (image) {
      return image.naturalWidth > 0;
    });
    if (optionsBox.hidden || !sample) return;
    const total = optionsBox.children.length;
    const gap = parseFloat(getComputedStyle(optionsBox).columnGap) || 0;
    const frame = 2 * (parseFloat(getComputedStyle(sample.parentElement).borderTopWidth) || 0);
    const width = optionsBox.clientWidth;
    const top = optionsBox.getBoundingClientRect().top + window.scrollY;
    const height = Math.max(window.innerHeight - top - actions.offsetHeight - 2 * gap, 120);
    let best = { scale: 0, columns: 1 };
    for (let columns = 1; columns <= total; columns += 1) {
      const rows = Math.ceil(total / columns);
      const cellWidth = (width - gap * (columns - 1)) / columns - frame;
      const cellHeight = (height - gap * (rows - 1)) / rows - frame;
      const scale = Math.min(cellWidth / sample.naturalWidth, cellHeight / sample.naturalHeight);
      if (scale > best.scale) best = { scale: scale, columns: columns };
    }
    const imageWidth = Math.floor(sample.naturalWidth * best.scale);
    const imageHeight = Math.floor(sample.naturalHeight * best.scale);
    optionsBox.style.gridTemplateColumns = "repeat(" + best.columns + ", " + (imageWidth + frame) + "px)";
    optionsBox.querySelectorAll(".st-choice img").forEach(function (image) {
      image.style.width = imageWidth + "px";
      image.style.height = imageHeight + "px";
    });
  }

  function select(button) {
    if (sending) return;
    selected = button.dataset.token;
    optionsBox.querySelectorAll(".st-choice").forEach(function (other) {
      other.setAttribute("aria-checked", other === button ? "true" : "false");
    });
    confirmButton.disabled = false;
  }

  function vote() {
    if (!selected || sending) return;
    sending = true;
    confirmButton.disabled = true;
    const elapsed = shownAt === null ? 0 : Math.round(performance.now() - shownAt);
    const body = { option: selected, response_ms: elapsed };
    const url = root.dataset.voteBase.replace("TOKEN", encodeURIComponent(trialToken));
    function send(delay) {
      return request("POST", url, body).then(function (state) {
        if (instructions.open) instructions.open = false;
        showStatus("");
        apply(state);
        window.scrollTo({ top: 0, behavior: "smooth" });
      }, function (error) {
        if (error.status && error.status < 500) {
          showStatus(error.message); // e.g. already answered in another tab: take the server's state
          trialToken = null;
          return load();
        }
        showStatus("Connection lost — your choice will be sent when it is back.");
        return wait(delay).then(function () { return send(Math.min(delay * 2, 15000)); });
      });
    }
    send(1000).finally(function () { sending = false; confirmButton.disabled = !selected; });
  }

  function load() {
    return request("POST", root.dataset.current).then(apply).catch(function (error) {
      showStatus(error.message + " Retrying…");
      setTimeout(load, 3000);
    });
  }

  confirmButton.addEventListener("click", vote);
  document.addEventListener("keydown", function (event) {
    if (zoom.open || optionsBox.hidden) return;
    const buttons = optionsBox.querySelectorAll(".st-choice");
    const index = parseInt(event.key, 10);
    if (index >= 1 && index <= buttons.length) { select(buttons[index - 1]); buttons[index - 1].focus(); }
    else if (event.key === "Enter" && selected && document.activeElement.classList.contains("st-choice")) {
      event.preventDefault();
      vote();
    }
  });
  zoom.addEventListener("click", function (event) { if (event.target === zoom) zoom.close(); });
  // Whatever moves the options (the window, the instructions, a status line above them) lays them out again;
  // a layout that changes nothing above the options changes nothing more.
  window.addEventListener("resize", layout);
  instructions.addEventListener("toggle", layout);
  if (window.ResizeObserver) new ResizeObserver(function () { layout(); }).observe(document.body);
  load();
})();

// Preview page: asks for the preference vector (idempotent), then polls the participant API, whose
// answer carries the Job API objects of the vector and of each preview rendering (status, progress).
(function () {
  "use strict";
  const root = document.getElementById("preview");
  const message = document.getElementById("preview-message");
  const meterBox = document.getElementById("preview-meter-box");
  const meter = document.getElementById("preview-meter");
  const list = document.getElementById("previews");
  const csrfToken = PieNet.csrfToken(root);

  function figure(item) {
    const box = document.createElement("figure");
    box.className = "pp-pair";
    box.dataset.position = item.position;
    box.innerHTML =
      '<div class="pp-half"><img alt="" loading="lazy"><figcaption>Before</figcaption></div>' +
      '<div class="pp-half pp-after"><div class="pp-wait"><span class="pp-meter"><span></span></span>' +
      '<span class="pp-wait-text">Rendering…</span></div><figcaption>Your style</figcaption></div>';
    const before = box.querySelector("img");
    before.src = item.before_url;
    before.alt = "Photo " + (item.position + 1) + " before";
    list.append(box);
    return box;
  }

  function update(box, item) {
    const job = item.job;
    const wait = box.querySelector(".pp-wait");
    if (!wait) return true; // already drawn
    if (job.status === "succeeded") {
      const image = document.createElement("img");
      image.src = job.result.image_url;
      image.alt = "Photo " + (item.position + 1) + " enhanced to your taste";
      wait.replaceWith(image);
      return true;
    }
    if (job.status === "failed") {
      wait.querySelector(".pp-wait-text").textContent = job.error || "This preview failed.";
      return true;
    }
    wait.querySelector(".pp-meter span").style.width = job.progress + "%";
    return false;
  }

  function render(state) {
    message.textContent = state.message;
    if (state.completion_url) {
      document.getElementById("completion").hidden = false;
      document.getElementById("completion-link").href = state.completion_url;
    }
    if (state.status === "picking") {
      window.location.assign(window.location.pathname.replace(/preview\/$/, "pick/"));
      return true;
    }
    if (state.status === "no_model" || state.status === "failed") {
      meterBox.hidden = true;
      document.getElementById("preview-title").textContent =
        state.status === "no_model" ? "Your picks are saved" : "No preview this time";
      return true;
    }
    if (state.status === "computing") {
      meter.style.width = ((state.preference_job && state.preference_job.progress) || 5) + "%";
      return false;
    }
    meterBox.hidden = true;
    let done = true;
    state.items.forEach(function (item) {
      const box = list.querySelector('[data-position="' + item.position + '"]') || figure(item);
      done = update(box, item) && done;
    });
    return done;
  }

  let delay = 700;
  function poll() {
    PieNet.request("GET", root.dataset.api)
      .then(function (state) {
        if (!render(state)) setTimeout(poll, delay);
        delay = Math.min(delay * 1.3, 4000);
      })
      .catch(function () {
        message.textContent = "Connection lost — retrying…";
        setTimeout(poll, 3000);
      });
  }

  PieNet.request("POST", root.dataset.finish, undefined, { csrfToken: csrfToken })
    .catch(function () { return null; })
    .then(poll);
})();

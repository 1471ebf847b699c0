// Picking page: draws the open set from the participant API and records every tap at once.
// The server is the source of truth: a reload redraws from it. A pick that cannot be sent (lost
// connection) stays queued and is retried; the API is idempotent, so a retry never doubles a pick.
(function () {
  "use strict";
  const root = document.getElementById("picking");
  const grid = document.getElementById("grid");
  const countLabel = document.getElementById("pick-count");
  const meter = document.getElementById("pick-meter");
  const finishButton = document.getElementById("finish");
  const nextButton = document.getElementById("next-set");
  const statusLine = document.getElementById("status");
  const csrfToken = PieNet.csrfToken(root);
  let state = null;
  const pending = new Map(); // token -> wanted liked value, not yet confirmed by the server
  let busy = false;

  function request(method, url, body) {
    // keepalive: a pick sent just before a refresh or a closed tab still arrives
    return PieNet.request(method, url, body, { csrfToken: csrfToken, keepalive: method === "PUT" });
  }

  function showStatus(message) {
    PieNet.showStatus(statusLine, message);
  }

  function picksNow() {
    let picks = state.picks;
    grid.querySelectorAll(".pp-item").forEach(function (button) {
      const token = button.dataset.token;
      if (pending.has(token)) {
        const confirmed = button.dataset.confirmed === "true";
        picks += (pending.get(token) ? 1 : 0) - (confirmed ? 1 : 0);
      }
    });
    return picks;
  }

  function updateCounter() {
    const picks = picksNow();
    const round = state.round;
    countLabel.textContent = String(picks);
    meter.style.width = Math.min(100, (100 * picks) / round.max_picks) + "%";
    document.getElementById("pick-hint").textContent = picks < round.min_picks
      ? (round.min_picks - picks) + " more to finish"
      : picks < round.max_picks ? "You can finish now" : "All done";
    finishButton.disabled = picks < round.min_picks || pending.size > 0;
    root.dataset.pending = String(pending.size); // choices not yet confirmed by the server
    const full = picks >= round.max_picks;
    nextButton.disabled = full || busy || !state.current_set;
    grid.classList.toggle("pp-full", full);
    if (full) showStatus("You reached the maximum of " + round.max_picks + " picks. Press Finish to see your preview.");
  }

  function setPressed(button, liked) {
    button.setAttribute("aria-pressed", liked ? "true" : "false");
  }

  function drawSet(pickSet) {
    grid.innerHTML = "";
    if (!pickSet) return;
    const total = pickSet.items.length;
    // Balanced rows on wide screens: 6 → 3+3, 8 → 4+4, 9 → 3+3+3 (phones always use 2 columns).
    grid.style.setProperty("--pp-columns", String(Math.ceil(total / Math.ceil(total / 4))));
    pickSet.items.forEach(function (item, index) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "pp-item";
      button.dataset.token = item.token;
      button.dataset.confirmed = item.liked === true ? "true" : "false";
      button.setAttribute("aria-label", "Photo " + (index + 1) + " of " + total);
      setPressed(button, item.liked === true);
      const image = document.createElement("img");
      image.loading = "lazy";
      image.decoding = "async";
      image.alt = "";
      image.src = item.thumbnail_url;
      image.srcset = item.thumbnail_url + " 480w, " + item.image_url + " 1024w";
      image.sizes = "(max-width: 600px) 50vw, (max-width: 1000px) 33vw, 25vw";
      const mark = document.createElement("span");
      mark.className = "pp-mark";
      mark.setAttribute("aria-hidden", "true");
      button.append(image, mark);
      button.addEventListener("click", function () { toggle(button); });
      grid.append(button);
    });
  }

  function toggle(button) {
    const liked = button.getAttribute("aria-pressed") !== "true";
    if (liked && picksNow() >= state.round.max_picks) {
      showStatus("You reached the maximum of " + state.round.max_picks + " picks.");
      return;
    }
    setPressed(button, liked);
    pending.set(button.dataset.token, liked);
    updateCounter();
    flush();
  }

  // Sends queued choices one by one until none is left; one drain at a time (the promise is shared,
  // so "Next set" and "Finish" wait for it). Network errors are retried with backoff.
  let draining = null;
  let retryDelay = 1000;
  function flush() {
    if (!draining) {
      draining = drain().finally(function () { draining = null; updateCounter(); });
    }
    return draining;
  }

  function wait(milliseconds) {
    return new Promise(function (resolve) { setTimeout(resolve, milliseconds); });
  }

  function drain() {
    if (pending.size === 0) return Promise.resolve();
    const [token, liked] = pending.entries().next().value;
    return request("PUT", root.dataset.itemBase.replace("TOKEN", encodeURIComponent(token)), { liked: liked })
      .then(function (data) {
        if (pending.get(token) === liked) pending.delete(token);
        const button = grid.querySelector('[data-token="' + token + '"]');
        if (button) button.dataset.confirmed = data.liked === true ? "true" : "false";
        state.picks = data.picks;
        retryDelay = 1000;
        showStatus("");
      }, function (error) {
        if (error.status && error.status < 500) {
          // Refused (e.g. the maximum was reached in another tab): take the server's state.
          pending.delete(token);
          showStatus(error.message);
          return load();
        }
        showStatus("Connection lost — your picks are kept and will be sent when it is back.");
        const delay = retryDelay;
        retryDelay = Math.min(retryDelay * 2, 15000);
        return wait(delay);
      })
      .then(function () { updateCounter(); return drain(); });
  }

  function apply(newState) {
    state = newState;
    if (state.finished) {
      window.location.assign(root.dataset.previewPage);
      return;
    }
    const shown = grid.dataset.set;
    const current = state.current_set;
    if (!current || String(current.number) !== shown) {
      drawSet(current);
      grid.dataset.set = current ? String(current.number) : "";
    } else {
      current.items.forEach(function (item) {
        const button = grid.querySelector('[data-token="' + item.token + '"]');
        if (button && !pending.has(item.token)) {
          setPressed(button, item.liked === true);
          button.dataset.confirmed = item.liked === true ? "true" : "false";
        }
      });
    }
    updateCounter();
  }

  function load() {
    return request("POST", root.dataset.currentSet).then(apply).catch(function (error) {
      showStatus(error.message + " Retrying…");
      setTimeout(load, 3000);
    });
  }

  function nextSet() {
    if (busy || !state.current_set) return Promise.resolve();
    if (pending.size > 0) return flush().then(nextSet);
    busy = true;
    updateCounter();
    const url = root.dataset.submitBase.replace("/0/submit/", "/" + state.current_set.number + "/submit/");
    return request("POST", url)
      .then(load)
      .then(function () {
        const first = grid.querySelector(".pp-item");
        if (first) first.focus({ preventScroll: true });
        root.scrollIntoView({ behavior: "smooth", block: "start" });
      })
      .catch(function (error) { showStatus(error.message); })
      .finally(function () { busy = false; updateCounter(); });
  }

  function finish() {
    finishButton.disabled = true;
    flush()
      .then(function () { return request("POST", root.dataset.finish); })
      .then(function () { window.location.assign(root.dataset.previewPage); })
      .catch(function (error) { showStatus(error.message); updateCounter(); });
  }

  // Arrow keys move between photos in reading order and by rows.
  grid.addEventListener("keydown", function (event) {
    const items = Array.from(grid.querySelectorAll(".pp-item"));
    const index = items.indexOf(document.activeElement);
    if (index < 0) return;
    const columns = items.filter(function (item) { return item.offsetTop === items[0].offsetTop; }).length || 1;
    const moves = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: columns, ArrowUp: -columns };
    if (!(event.key in moves)) return;
    const target = items[index + moves[event.key]];
    if (target) {
      event.preventDefault();
      target.focus();
    }
  });
  nextButton.addEventListener("click", nextSet);
  finishButton.addEventListener("click", finish);
  window.addEventListener("online", flush);
  window.addEventListener("beforeunload", function (event) {
    if (pending.size > 0) event.preventDefault();
  });
  window.addEventListener("pagehide", function () {
    // Last chance for queued choices (tab closed, refresh): keepalive requests outlive the page.
    pending.forEach(function (liked, token) {
      request("PUT", root.dataset.itemBase.replace("TOKEN", encodeURIComponent(token)), { liked: liked })
        .catch(function () { return null; });
    });
  });
  load();
})();

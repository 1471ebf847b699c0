// Results page: polls the study's progress and redraws the tally when someone started, voted,
// completed or was excluded (the tally itself is computed on the server).
(function () {
  "use strict";
  const root = document.getElementById("results-page");
  const box = document.getElementById("results");

  function current() {
    const progress = document.getElementById("progress");
    return progress ? progress.dataset.signature : "";
  }

  function poll() {
    fetch(root.dataset.progress, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (progress) {
        if (!progress) return null;
        const signature = [progress.started, progress.completed, progress.failed_checks, progress.votes].join("-");
        if (signature === current()) return null;
        return fetch(root.dataset.fragment, { credentials: "same-origin" })
          .then(function (response) { return response.ok ? response.text() : null; })
          .then(function (html) { if (html) box.innerHTML = html; });
      })
      .catch(function () { return null; })
      .finally(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 5000);

  // The picking pool's rendering job: a live bar; when it ends the page reloads, so the readiness
  // checks (and the Open button) show where the study stands now.
  const pool = document.getElementById("pool-job");
  function pollPool() {
    fetch(pool.dataset.job, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (job) {
        if (!job) return setTimeout(pollPool, 3000);
        const bar = pool.querySelector("[role=progressbar]");
        document.getElementById("pool-meter").style.width = job.progress + "%";
        bar.setAttribute("aria-valuenow", String(job.progress));
        document.getElementById("pool-status").textContent = "Rendering the picking pool… " + job.progress + "%";
        if (job.status === "succeeded" || job.status === "failed") window.location.reload();
        else setTimeout(pollPool, 1500);
      })
      .catch(function () { setTimeout(pollPool, 3000); });
  }
  if (pool && (pool.dataset.status === "queued" || pool.dataset.status === "running")) pollPool();
})();

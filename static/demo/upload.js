// Landing page: sends a photo (chosen, dropped, or a sample) to the demo API with upload progress,
// then opens the studio page of that photo. Refusals come back as a message shown under the form.
(function () {
  "use strict";
  const root = document.getElementById("try");
  if (!root) return;
  const input = document.getElementById("upload-input");
  const drop = document.getElementById("drop");
  const progress = document.getElementById("upload-progress");
  const meter = document.getElementById("upload-meter");
  const statusLine = document.getElementById("upload-status");
  const errorLine = document.getElementById("upload-error");
  const csrfToken = PieNet.csrfToken(root);
  const maxBytes = Number(root.dataset.maxBytes);
  let busy = false;

  function showError(message) {
    PieNet.showStatus(errorLine, message);
  }

  function errorMessage(xhr) {
    try {
      const detail = PieNet.detailOf(JSON.parse(xhr.responseText));
      if (detail) return detail;
    } catch (ignored) { /* not JSON: a proxy's page */ }
    if (xhr.status === 413) return "The file is too large.";
    return xhr.status ? "The upload failed (" + xhr.status + "). Please try again." : "The connection was lost. Please try again.";
  }

  function send(form, label) {
    if (busy) return;
    busy = true;
    showError("");
    progress.hidden = false;
    meter.style.width = "0%";
    statusLine.textContent = label;
    const xhr = new XMLHttpRequest();
    xhr.open("POST", root.dataset.uploadUrl);
    xhr.setRequestHeader("X-CSRFToken", csrfToken);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", function (event) {
      if (event.lengthComputable) meter.style.width = Math.round((90 * event.loaded) / event.total) + "%";
    });
    xhr.addEventListener("loadend", function () {
      if (xhr.status === 201) {
        meter.style.width = "100%";
        statusLine.textContent = "Opening your photo…";
        window.location.assign(JSON.parse(xhr.responseText).page_url);
        return;
      }
      busy = false;
      progress.hidden = true;
      input.value = "";
      showError(errorMessage(xhr));
    });
    xhr.send(form);
  }

  function uploadFile(file) {
    if (!file) return;
    if (file.size > maxBytes) {
      showError("The file is larger than the limit of " + Math.round(maxBytes / 1048576) + " MB.");
      return;
    }
    const form = new FormData();
    form.append("image", file);
    send(form, "Uploading " + (file.size > 1048576 ? (file.size / 1048576).toFixed(1) + " MB" : "your photo") + "…");
  }

  input.addEventListener("change", function () { uploadFile(input.files[0]); });
  ["dragenter", "dragover"].forEach(function (name) {
    drop.addEventListener(name, function (event) { event.preventDefault(); drop.classList.add("dm-over"); });
  });
  ["dragleave", "drop"].forEach(function (name) {
    drop.addEventListener(name, function () { drop.classList.remove("dm-over"); });
  });
  drop.addEventListener("drop", function (event) {
    event.preventDefault();
    uploadFile(event.dataTransfer.files[0]);
  });
  root.querySelectorAll("[data-sample]").forEach(function (button) {
    button.addEventListener("click", function () {
      const form = new FormData();
      form.append("sample", button.dataset.sample);
      send(form, "Preparing the sample…");
    });
  });
})();

// Shared by the pages' scripts (loaded before them, deferred): JSON requests to the site's APIs with the
// page's CSRF token, the message of a refusal, and a status line that hides itself when empty.
window.PieNet = (function () {
  "use strict";

  // What a refusal's JSON says: DRF's "detail", else the first field error; "" when it says nothing.
  function detailOf(data) {
    const detail = data && (data.detail || Object.values(data).flat()[0]);
    return detail ? String(detail) : "";
  }

  // A fetch response as its JSON, or an Error carrying the refusal's message and `status`.
  function answer(response) {
    return response.json().catch(function () { return {}; }).then(function (data) {
      if (!response.ok) {
        const error = new Error(detailOf(data) || "The server answered " + response.status + ".");
        error.status = response.status;
        throw error;
      }
      return data;
    });
  }

  // options: csrfToken (needed for writes), keepalive (the request outlives a closed tab).
  function request(method, url, body, options) {
    const settings = options || {};
    const headers = { "Content-Type": "application/json", Accept: "application/json" };
    if (settings.csrfToken) headers["X-CSRFToken"] = settings.csrfToken;
    return fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      keepalive: Boolean(settings.keepalive),
    }).then(answer);
  }

  function csrfToken(root) {
    return root.querySelector("input[name=csrfmiddlewaretoken]").value;
  }

  function showStatus(line, message) {
    line.textContent = message || "";
    line.hidden = !message;
  }

  return { csrfToken: csrfToken, detailOf: detailOf, request: request, showStatus: showStatus };
})();

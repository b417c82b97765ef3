// The verify-email and reset-password pages: read the token from the link's
// fragment, take it out of the address bar, and spend it only when the reader
// presses the button (mail scanners open links, and some run scripts).
"use strict";

(function () {
  var page = document.body.getAttribute("data-page");
  var status = document.getElementById("status");
  var token = new URLSearchParams(window.location.hash.slice(1)).get("token");
  if (window.location.hash) {
    history.replaceState(null, "", window.location.pathname + window.location.search);
  }

  var INVALID_LINK =
    "This link is invalid or has expired, or was already used. Ask for a new one.";

  function say(text, kind) {
    status.textContent = text;
    status.className = kind || "";
  }

  function problemOf(response) {
    return response.json().then(
      function (body) { return body || {}; },
      function () { return {}; }
    );
  }

  function fieldErrors(problem, field) {
    var errors = Array.isArray(problem.errors) ? problem.errors : [];
    return errors.filter(function (e) { return e && e.field === field; });
  }

  function post(path, body) {
    return fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
      referrerPolicy: "no-referrer",
    });
  }

  function explain(response, problem) {
    if (response.status === 429) {
      var wait = response.headers.get("Retry-After");
      return "Too many attempts. Try again" + (wait ? " in " + wait + " seconds." : " later.");
    }
    if (response.status === 503) {
      return "The service is unavailable right now. Try again later.";
    }
    return problem.detail || "Something went wrong (" + response.status + "). Try again later.";
  }

  function unreachable() {
    say("The service could not be reached. Check your connection and try again.", "error");
  }

  function verifyEmail() {
    var form = document.getElementById("verify");
    var button = form.querySelector("button");
    form.hidden = false;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      button.disabled = true;
      say("Verifying…");
      post("/api/auth/verify-email", { token: token }).then(function (response) {
        if (response.ok) {
          return response.json().then(function (user) {
            form.hidden = true;
            say("Your address " + user.email + " is verified. You can close this page.", "done");
          });
        }
        return problemOf(response).then(function (problem) {
          if (response.status === 422 && fieldErrors(problem, "token").length) {
            form.hidden = true;
            say(INVALID_LINK, "error");
          } else if (response.status === 409) {
            form.hidden = true;
            say("Another account took this address meanwhile: it cannot be yours.", "error");
          } else {
            button.disabled = false;
            say(explain(response, problem), "error");
          }
        });
      }, function () {
        button.disabled = false;
        unreachable();
      });
    });
  }

  function resetPassword() {
    var form = document.getElementById("reset");
    var password = document.getElementById("password");
    var confirm = document.getElementById("confirm");
    var button = form.querySelector("button");
    var reasons = document.getElementById("reasons");

    function listReasons(items) {
      reasons.replaceChildren();
      items.forEach(function (text) {
        var item = document.createElement("li");
        item.textContent = text;
        item.className = "error";
        reasons.appendChild(item);
      });
    }

    form.hidden = false;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      listReasons([]);
      if (password.value !== confirm.value) {
        say("The two passwords differ.", "error");
        return;
      }
      button.disabled = true;
      say("Setting the new password…");
      post("/api/auth/password/reset", { token: token, password: password.value }).then(
        function (response) {
          if (response.ok) {
            form.hidden = true;
            password.value = confirm.value = "";
            say("Your password was changed. Sign in with the new one.", "done");
            return undefined;
          }
          return problemOf(response).then(function (problem) {
            button.disabled = false;
            if (response.status === 422 && fieldErrors(problem, "token").length) {
              form.hidden = true;
              say(INVALID_LINK, "error");
            } else if (response.status === 422 && fieldErrors(problem, "password").length) {
              say("This password cannot be used:", "error");
              listReasons(fieldErrors(problem, "password").map(function (e) { return e.message; }));
            } else {
              say(explain(response, problem), "error");
            }
          });
        },
        function () {
          button.disabled = false;
          unreachable();
        }
      );
    });
  }

  if (!token) {
    say("This link is incomplete. Open the link from the mail again, as a whole.", "error");
  } else if (page === "verify-email") {
    verifyEmail();
  } else if (page === "reset-password") {
    resetPassword();
  }
})();

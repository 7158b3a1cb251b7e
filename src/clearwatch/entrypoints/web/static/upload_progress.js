// Upload progress for a form marked `data-upload-progress`: the form is sent by XMLHttpRequest
// so that its upload events can move a <progress>, and the answer (the receipt page) replaces
// the page, as the browser's own submission would have shown it. Without this script, or if
// the request cannot be sent, the form is submitted the plain way: the page works without it.
"use strict";

(function () {
  function showAnswer(html) {
    // The receipt is a whole page of this server, with the same head as this one (style
    // sheet, icon): its title and body replace this page's, as if it had been navigated to.
    var parsed = new DOMParser().parseFromString(html, "text/html");
    document.title = parsed.title;
    document.body.replaceWith(document.adoptNode(parsed.body));
    window.scrollTo(0, 0);
  }

  function enhance(form) {
    var progress = document.getElementById(form.getAttribute("data-upload-progress"));
    if (!progress || !window.XMLHttpRequest || !window.FormData) {
      return;
    }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var request = new XMLHttpRequest();
      progress.value = 0;
      progress.hidden = false;
      if (progress.labels && progress.labels.length) {
        progress.labels[0].hidden = false;
      }
      request.upload.addEventListener("progress", function (step) {
        if (step.lengthComputable && step.total > 0) {
          progress.value = Math.floor((step.loaded * 100) / step.total);
        }
      });
      request.upload.addEventListener("load", function () {
        progress.value = 100; // every byte is sent; the server now checks the package
      });
      request.addEventListener("load", function () {
        var type = request.getResponseHeader("content-type") || "";
        if (type.indexOf("text/html") === 0) {
          showAnswer(request.responseText);
        } else {
          HTMLFormElement.prototype.submit.call(form);
        }
      });
      request.addEventListener("error", function () {
        HTMLFormElement.prototype.submit.call(form); // the plain way, as without script
      });
      request.open(form.method.toUpperCase(), form.action);
      request.send(new FormData(form));
    });
  }

  var forms = document.querySelectorAll("form[data-upload-progress]");
  for (var i = 0; i < forms.length; i += 1) {
    enhance(forms[i]);
  }
})();

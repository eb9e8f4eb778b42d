// The pages' one script (no inline scripts: the Content-Security-Policy forbids them). It hands the page's CSRF
// token to every htmx request, keeps live lists live from the server's events, and warns before the session's
// idle timeout ends it.
(function () {
  'use strict';
  var csrf = document.querySelector('meta[name="csrf-token"]');
  var LIVE = 'X-Ampoule-Live';

  document.addEventListener('htmx:configRequest', function (e) {
    if (csrf) e.detail.headers['X-CSRF-Token'] = csrf.content;
  });

  // A form is sent once: a double tap with gloves must not launch two batches or sign twice.
  document.addEventListener('submit', function (e) {
    if (e.target.dataset.sent) return e.preventDefault();
    e.target.dataset.sent = 'yes';
  });

  // A keyboard-wedge scanner types GS1's group separator as Ctrl+]: put the character itself into a scan field.
  document.addEventListener('keydown', function (e) {
    if (e.ctrlKey && e.key === ']' && e.target.dataset && e.target.dataset.scan === 'gs1') {
      e.preventDefault();
      var el = e.target;
      var at = el.selectionStart;
      el.value = el.value.slice(0, at) + '\u001d' + el.value.slice(el.selectionEnd);
      el.selectionStart = el.selectionEnd = at + 1;
    }
  });

  // A file picked to import (a recipe file) is read into the field the form sends: no upload parser, and the
  // page works without script too (the content is pasted).
  document.addEventListener('change', function (e) {
    var target = e.target.dataset && e.target.dataset.fills && document.getElementById(e.target.dataset.fills);
    if (!target || !e.target.files || !e.target.files[0]) return;
    e.target.files[0].text().then(function (text) {
      target.value = text;
    });
  });

  // Dialogs (the signature): opened and closed by buttons that name them.
  document.addEventListener('click', function (e) {
    var opener = e.target.closest && e.target.closest('[data-opens]');
    if (opener) {
      var dialog = document.getElementById(opener.dataset.opens);
      if (dialog && dialog.showModal) {
        // The form is checked before it is signed: what is signed must be complete (the dialog's own fields
        // come after).
        var form = opener.closest('form');
        var fields = form ? Array.prototype.slice.call(form.elements) : [];
        for (var i = 0; i < fields.length; i++) {
          var field = fields[i];
          if (!dialog.contains(field) && field.willValidate && !field.checkValidity()) {
            field.reportValidity();
            return;
          }
        }
        dialog.showModal();
        var first = dialog.querySelector('input');
        if (first) first.focus();
      }
    }
    var closer = e.target.closest && e.target.closest('[data-closes]');
    if (closer) document.getElementById(closer.dataset.closes).close();
  });

  // Live lists: the server says when what they show changed; the list is fetched again (not as the user's
  // activity: a queue left open must not keep a shared station logged in).
  var live = document.querySelectorAll('[data-live]');
  if (live.length > 0 && window.EventSource) {
    var events = new EventSource('/events');
    live.forEach(function (el) {
      events.addEventListener(el.dataset.live, function () {
        htmx.ajax('GET', el.dataset.source, { target: el, swap: 'innerHTML', headers: { 'X-Ampoule-Live': '1' } });
      });
    });
    events.addEventListener('session-ended', function () {
      events.close();
      location.assign('/login?ended=idle');
    });
  }

  // The idle warning: shown a minute before the session's idle timeout (half of it when shorter), counted down;
  // "Stay logged in" tells the server, anything else the user does through the server counts too.
  var body = document.body;
  var idleSeconds = Number(body.dataset.idleSeconds || 0);
  if (!idleSeconds) return;
  var warning = document.getElementById('idle-warning');
  var countdown = document.getElementById('idle-countdown');
  var lead = Math.min(60, Math.floor(idleSeconds / 2));
  var lastActivity = Date.now();
  function remaining() {
    return idleSeconds - Math.floor((Date.now() - lastActivity) / 1000);
  }
  function activity() {
    lastActivity = Date.now();
    warning.hidden = true;
  }
  document.addEventListener('htmx:afterRequest', function (e) {
    var headers = (e.detail.requestConfig && e.detail.requestConfig.headers) || {};
    if (!headers[LIVE] && e.detail.successful) activity();
  });
  document.getElementById('idle-stay').addEventListener('click', function () {
    fetch('/session/activity', {
      method: 'POST',
      headers: { 'X-CSRF-Token': csrf ? csrf.content : '' },
      credentials: 'same-origin',
      redirect: 'manual', // an ended session answers with a redirect to the login, which is no success
    }).then(function (r) {
      if (r.status === 204) activity();
      else endSession();
    });
  });
  function endSession() {
    // The server ends the session too (it would at its own idle timeout; this station should not wait for it).
    fetch('/logout', {
      method: 'POST',
      headers: { 'X-CSRF-Token': csrf ? csrf.content : '', 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'ended=idle',
      credentials: 'same-origin',
      redirect: 'manual',
    }).finally(function () {
      location.assign('/login?ended=idle');
    });
  }
  var ended = false;
  window.setInterval(function () {
    var left = remaining();
    if (left <= 0) {
      if (!ended) endSession();
      ended = true;
      return;
    }
    if (left <= lead) {
      if (warning.hidden) {
        warning.hidden = false;
        document.getElementById('idle-stay').focus();
      }
      countdown.textContent = String(left);
    }
  }, 1000);
})();

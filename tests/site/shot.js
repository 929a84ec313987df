// tests/site/shot.js: loaded by a copy of a lab page (tests/site/site.bats).
// Hide what comes before the timeline (in its notes cell and the rows above),
// so that a window-sized screenshot shows it.
(function () {
  for (var n = document.getElementById('timeline'); n && n !== document.body; n = n.parentElement) {
    for (var s = n.previousElementSibling; s; s = s.previousElementSibling) s.style.display = 'none';
  }
})();

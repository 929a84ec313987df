// tests/site/shot.js: loaded by a copy of a lab page (tests/site/site.bats).
// Hide what comes before the timeline's row, so that a window-sized screenshot shows it.
(function () {
  var row = document.getElementById('timeline').closest('.row') || document.getElementById('timeline').closest('p');
  for (var n = row; n && n !== document.body; n = n.parentElement) {
    for (var s = n.previousElementSibling; s; s = s.previousElementSibling) s.style.display = 'none';
  }
})();

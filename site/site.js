// socket labs: a "copy" button on every command, so that a student can paste
// the notes' commands into a terminal. For a console block only the lines
// typed after "$ " are copied. Works from the file system (no server).
(function () {
  function copy(text, button) {
    function done() { button.textContent = 'copied'; setTimeout(function () { button.textContent = 'copy'; }, 1500); }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { fallback(text); done(); });
    } else { fallback(text); done(); }
  }
  function fallback(text) {
    var area = document.createElement('textarea');
    area.value = text;
    document.body.appendChild(area);
    area.select();
    document.execCommand('copy');
    document.body.removeChild(area);
  }
  function button(text) {
    var b = document.createElement('button');
    b.className = 'copy';
    b.type = 'button';
    b.textContent = 'copy';
    b.addEventListener('click', function () { copy(text, b); });
    return b;
  }
  document.querySelectorAll('.notes pre, .wide pre, main.plain pre').forEach(function (pre) {
    var text = pre.textContent;
    var lines = text.split('\n');
    var typed = lines.filter(function (l) { return l.indexOf('$ ') === 0; });
    if (pre.classList.contains('console') || pre.parentElement.classList.contains('console')) {
      if (typed.length === 0) return;   // output only
      text = typed.map(function (l) { return l.slice(2); }).join('\n');
    }
    pre.appendChild(button(text.replace(/\n$/, '')));
  });
  // "Try it" tables: the first column holds commands.
  document.querySelectorAll('table').forEach(function (table) {
    var head = table.querySelector('th');
    if (!head || head.textContent.trim() !== 'command') return;
    table.querySelectorAll('tbody tr td:first-child').forEach(function (cell) {
      var code = cell.querySelector('code');
      if (code) cell.appendChild(button(code.textContent));
    });
  });
})();

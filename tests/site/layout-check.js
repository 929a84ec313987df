// tests/site/layout-check.js: run in a copy of 04-accept.html by
// tests/site/site.bats (headless Chromium, --dump-dom). Writes what it finds
// into <pre id="layout-check"> as KEY=VALUE lines.
window.addEventListener('load', function () {
  var out = [];
  var heading = Array.prototype.find.call(document.querySelectorAll('.notes h3'), function (h) {
    return /^Step 5: accept\(\)/.test(h.textContent);
  });
  var line = Array.prototype.find.call(document.querySelectorAll('.code .line'), function (l) {
    return /= accept\(/.test(l.textContent);
  });
  out.push('heading=' + (heading ? heading.textContent : 'none'));
  out.push('line=' + (line ? line.id + ' ' + line.textContent.trim() : 'none'));
  if (heading && line) {
    var h = heading.getBoundingClientRect(), l = line.getBoundingClientRect();
    out.push('same_row=' + (heading.closest('.row') === line.closest('.row')));
    out.push('beside=' + (l.left >= h.right - 1));
    out.push('dy=' + Math.round(l.top - h.top));
    out.push('line_height=' + Math.round(l.height));
  }
  var img = document.querySelector('#timeline img');
  out.push('picture=' + (img ? img.getAttribute('src') : 'none'));
  out.push('picture_loaded=' + !!(img && img.complete && img.naturalWidth > 0));
  out.push('picture_width=' + (img ? Math.round(img.getBoundingClientRect().width) : 0));
  var pre = document.createElement('pre');
  pre.id = 'layout-check';
  pre.textContent = out.join('\n');
  document.body.appendChild(pre);
});

#!/usr/bin/env python3
"""site/build.py OUT: the static site, each lab's source beside its notes.

One page per labs/NN-name: its notes (docs/NN-name.md, rendered by pandoc)
and its source (labs/NN-name/*.c, highlighted by Pygments) side by side, in
rows, docco-style: a notes section that starts with a marker

    ### Step 5: accept()
    <!-- source: Step 5: accept -->

begins a new row, level with the first source line (after the previous
row's) that contains the marker's text; sections without a marker stay in
the row before; `##` sections after the code walk ("Try it" ...) run the
page's whole width below. The notes stay the one source: nothing here is
committed. Pages open from the file system: relative links only, no server.
"""
import glob
import html
import os
import re
import shutil
import subprocess
import sys

from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MARKER = re.compile(r'<!-- source: (.*?) -->')
FIGURE = re.compile(r'<p>(?:<a [^>]*>)?<img src="pictures/[^"]+"[^>]*>(?:</a>)?</p>\s*'
                    r'(?:<p><em>What to look at:.*?</em></p>)?', re.S)
HEADING = re.compile(r'(<h([23])[^>]*>.*?</h\2>)', re.S)


def pandoc(markdown_path):
    return subprocess.run(['pandoc', '-f', 'gfm', '-t', 'html5', markdown_path],
                          check=True, capture_output=True, text=True).stdout


def labs():
    return sorted(os.path.basename(d) for d in glob.glob(os.path.join(ROOT, 'labs', '[0-9][0-9]-*'))
                  if os.path.isdir(d))


class Links:
    """Rewrites the notes' links for the site: NN-name.md -> NN-name.html,
    repository files -> copies under files/, so that nothing is broken."""

    def __init__(self, out, names):
        self.out, self.names = out, names

    def __call__(self, page_html, from_dir):
        def fix(m):
            attr, target = m.group(1), html.unescape(m.group(2))
            if re.match(r'^[a-z]+:|^#', target):
                return m.group(0)
            path, _, anchor = target.partition('#')
            full = os.path.normpath(os.path.join(from_dir, path))
            rel = os.path.relpath(full, ROOT)
            name = os.path.basename(rel)
            if rel.startswith('docs/') and rel.endswith('.md'):
                stem = name[:-3]
                new = 'index.html' if stem == 'README' else stem + '.html'
            elif rel == 'README.md':
                new = 'readme.html'
            elif rel.startswith('docs/pictures/'):
                new = 'pictures/' + name
            elif rel.startswith('labs/') and rel.endswith('.c') and rel.split('/')[1] in self.names:
                new, anchor = rel.split('/')[1] + '.html', anchor or 'source'
            elif os.path.isfile(os.path.join(ROOT, rel)):
                new = 'files/' + rel
                dest = os.path.join(self.out, new)
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                shutil.copyfile(os.path.join(ROOT, rel), dest)
            elif os.path.isdir(os.path.join(ROOT, rel)):
                new = 'https://example.invalid/'   # never happens in the notes today
                print('site: a link to a folder: %s' % rel, file=sys.stderr)
            else:
                print('site: a link to nothing: %s' % target, file=sys.stderr)
                new = path
            if anchor:
                new += '#' + anchor
            return '%s="%s"' % (attr, html.escape(new))
        return re.sub(r'\b(href|src)="([^"]*)"', fix, page_html)


def source_lines(path):
    formatter = HtmlFormatter(nowrap=True)
    code = open(path).read()
    lexer = get_lexer_by_name('c')
    lines = highlight(code, lexer, formatter).split('\n')
    if lines and lines[-1] == '':
        lines.pop()
    return code.split('\n'), lines


def rows_of(notes_html, plain, highlighted):
    """[(notes html, first line, last line) ...] and the full-width tail."""
    parts = HEADING.split(notes_html)
    # parts: text, heading, level, text, heading, level, text ...
    sections = [(None, None, parts[0])]
    for i in range(1, len(parts), 3):
        sections.append((parts[i], parts[i + 1], parts[i + 2]))
    rows, tail, at, walking = [['', 0]], [], 0, True
    for heading, level, body in sections:
        chunk = (heading or '') + body
        m = MARKER.search(body)
        start = None
        if m:
            for n in range(at + 1 if rows[-1][0] else at, len(plain)):
                if m.group(1).split(' | ')[0] in plain[n]:
                    start = n
                    break
            if start is None:
                print('site: marker "%s" not found after line %d' % (m.group(1), at + 1), file=sys.stderr)
        if start is not None:
            # "<!-- source: FIRST | LEVEL -->": the row starts at FIRST (the
            # step's comment) and the section's heading is level with LEVEL.
            level_text = m.group(1).split(' | ')[1] if ' | ' in m.group(1) else None
            offset = 0
            for n in range(start, len(plain)):
                if level_text and level_text in plain[n]:
                    offset = n - start
                    break
            if offset:
                chunk = '<div style="height: calc(%d * var(--line))"></div>' % offset + chunk
            rows.append([chunk, start])
            at = start
        elif level == '2' and len(rows) > 1:
            walking = False
            tail.append(chunk)
        elif walking:
            rows[-1][0] += chunk
        else:
            tail.append(chunk)
    out = []
    for i, (chunk, start) in enumerate(rows):
        end = rows[i + 1][1] if i + 1 < len(rows) else len(highlighted)
        out.append((chunk, start, end))
    return out, ''.join(tail)


PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="site.css">
</head>
<body>
<nav class="top">{nav}</nav>
{body}
<nav class="bottom">{nav}</nav>
<script src="site.js"></script>
</body>
</html>
"""


def nav(names, current):
    items = ['<a href="index.html">All labs</a>']
    if current in names:
        i = names.index(current)
        if i > 0:
            items.append('<a rel="prev" href="%s.html">← %s</a>' % (names[i - 1], names[i - 1]))
        if i + 1 < len(names):
            items.append('<a rel="next" href="%s.html">%s →</a>' % (names[i + 1], names[i + 1]))
    items.append('<span class="labs">%s</span>' % ' '.join(
        '<a href="%s.html"%s>%s</a>' % (n, ' aria-current="page"' if n == current else '', n[:2])
        for n in names))
    return ' · '.join(items)


def lab_page(out, names, lab, links):
    notes = os.path.join(ROOT, 'docs', lab + '.md')
    source = sorted(glob.glob(os.path.join(ROOT, 'labs', lab, '*.c')))[0]
    notes_html = links(pandoc(notes), os.path.join(ROOT, 'docs'))
    plain, highlighted = source_lines(source)
    rel = os.path.relpath(source, ROOT)
    # The timeline links to itself at full size, and is the page's #timeline.
    notes_html = re.sub(r'(<img src="(pictures/%s\.svg)"[^>]*>)' % re.escape(lab),
                        r'<a class="timeline" id="timeline" href="\2">\1</a>', notes_html, count=1)
    rows, tail = rows_of(notes_html, plain, highlighted)
    body = ['<header class="lab"><p>%s · notes: <code>docs/%s.md</code> · source: '
            '<a href="#source"><code>%s</code></a> · tests: <a href="files/tests/%s.bats">'
            '<code>tests/%s.bats</code></a></p></header>' % (lab, lab, rel, lab, lab),
            '<main class="walk" id="source">']
    for n, (chunk, start, end) in enumerate(rows):
        # A picture is too wide for the notes' column: it follows its row,
        # the page's whole width, with its caption.
        figures = FIGURE.findall(chunk)
        chunk = FIGURE.sub('', chunk)
        code = ''.join('<span class="line" id="L%d"><a class="ln" href="#L%d">%d</a>%s\n</span>'
                       % (k + 1, k + 1, k + 1, highlighted[k]) for k in range(start, end))
        body.append('<section class="row" id="row-%d"><div class="notes">%s</div>'
                    '<div class="code"><pre class="highlight">%s</pre></div></section>'
                    % (n, chunk, code))
        for figure in figures:
            body.append('<section class="figure">%s</section>' % figure)
    body.append('</main>')
    body.append('<div class="wide">%s</div>' % tail)
    os.makedirs(os.path.join(out, 'files', 'tests'), exist_ok=True)
    shutil.copyfile(os.path.join(ROOT, 'tests', lab + '.bats'),
                    os.path.join(out, 'files', 'tests', lab + '.bats'))
    write(out, lab + '.html', PAGE.format(title=lab + ' · socket labs', nav=nav(names, lab),
                                          body='\n'.join(body)))


def plain_page(out, names, markdown, name, from_dir, links):
    body = '<main class="plain">%s</main>' % links(pandoc(markdown), from_dir)
    title = re.search(r'<h1[^>]*>(.*?)</h1>', body)
    title = re.sub('<[^>]+>', '', title.group(1)) if title else name
    write(out, name, PAGE.format(title=html.escape(title) + ' · socket labs', nav=nav(names, None), body=body))


def write(out, name, text):
    with open(os.path.join(out, name), 'w') as f:
        f.write(text)


def main(argv):
    if len(argv) != 2:
        print('usage: site/build.py OUT', file=sys.stderr)
        return 2
    out = os.path.abspath(argv[1])
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(os.path.join(out, 'pictures'))
    names = [n for n in labs() if os.path.isfile(os.path.join(ROOT, 'docs', n + '.md'))]
    links = Links(out, names)
    for picture in glob.glob(os.path.join(ROOT, 'docs', 'pictures', '*.svg')):
        shutil.copy(picture, os.path.join(out, 'pictures'))
    for asset in ('site.css', 'site.js'):
        shutil.copy(os.path.join(ROOT, 'site', asset), out)
    with open(os.path.join(out, 'site.css'), 'a') as css:
        css.write('\n/* Pygments, style "default" */\n')
        css.write(HtmlFormatter(style='default').get_style_defs('.highlight'))
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(max_workers=4) as pool:
        for done in pool.map(lambda lab: lab_page(out, names, lab, links), names):
            pass
    docs = os.path.join(ROOT, 'docs')
    plain_page(out, names, os.path.join(docs, 'README.md'), 'index.html', docs, links)
    plain_page(out, names, os.path.join(ROOT, 'README.md'), 'readme.html', ROOT, links)
    for md in glob.glob(os.path.join(docs, '*.md')):
        stem = os.path.basename(md)[:-3]
        if stem != 'README' and stem not in names:
            plain_page(out, names, md, stem + '.html', docs, links)
    print('site: %d lab pages in %s (open %s)' % (len(names), argv[1], os.path.join(out, 'index.html')))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))

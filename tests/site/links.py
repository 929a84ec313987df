#!/usr/bin/env python3
"""tests/site/links.py SITE: every link and picture of every page resolves,
anchors included (a page's id="..."). External links (http:, https:) are
listed, not followed: the tests have no network."""
import os
import re
import sys
from html.parser import HTMLParser
from urllib.parse import unquote


class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name == 'id':
                self.ids.add(value)
            if name in ('href', 'src') and value is not None:
                self.links.append(value)


def main(site):
    pages = {}
    for folder, _, files in os.walk(site):
        for name in files:
            if name.endswith('.html'):
                path = os.path.join(folder, name)
                page = Page()
                page.feed(open(path, errors='replace').read())
                pages[os.path.normpath(path)] = page
    broken, checked = [], 0
    for path, page in sorted(pages.items()):
        for link in page.links:
            if re.match(r'^(https?|mailto):', link):
                continue
            checked += 1
            target, _, anchor = link.partition('#')
            full = os.path.normpath(os.path.join(os.path.dirname(path), unquote(target))) if target else path
            if not os.path.isfile(full):
                broken.append('%s: %s (no such file)' % (os.path.relpath(path, site), link))
            elif anchor and full in pages and anchor not in pages[full].ids:
                broken.append('%s: %s (no id "%s" there)' % (os.path.relpath(path, site), link, anchor))
    for b in broken:
        print(b)
    print('%d pages, %d links checked, %d broken' % (len(pages), checked, len(broken)))
    return 1 if broken or not checked else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1]))

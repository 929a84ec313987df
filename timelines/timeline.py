#!/usr/bin/env python3
"""timelines/timeline.py: a lab's run, traced by strace, drawn as a timeline.

    timeline.py draw TRACES_DIR OUT.svg ...    draw the picture(s)
    timeline.py structure SVG                  print its lanes and calls
    timeline.py check-narration SVG TRACES_DIR every "..." line has its bar

TRACES_DIR is what timelines/run leaves: per lane NAME.trace (strace -f
-ttt -T -yy), NAME.out (the program's output) and NAME.command, and the
file `lanes` (their order). See CONTRIBUTING.md, "A timeline".

The picture: one column (lane) per traced process, time flowing down, each
socket call a bar from its start to its return, labelled as the narration
labels it. A call is drawn ASLEEP (hatched, pale) when it is one that can
block and strace -T measured at least ASLEEP_MS inside it; calls that only
ran are solid. An arrow joins the event that woke a call (the peer's
connect, the bytes it sent, its close, a signal) to the call's return,
matched by the connection's addresses (strace -yy), never by timing alone.
Time is not to scale: each gap is drawn with a height that grows as the
logarithm of its length, every label gets its own line, and gaps longer
than GAP_MS are marked with their real length.

The SVG keeps what it shows in attributes the tests read: each lane a
<g data-lane="NAME">, each bar a <g data-call=...> with its tokens
(call, fd, result class), its lane, the narration line it follows, and
what woke it (data-woken: the kinds of the arrows drawn into it).
"""
import math
import os
import re
import sys
import xml.etree.ElementTree as ET

ASLEEP_MS = 10.0     # without a waking event: the strace -T time that means asleep
GAP_MS = 200.0       # longer idle gaps are marked as cut short

NETWORK = {'socket', 'socketpair', 'bind', 'listen', 'accept', 'accept4', 'connect',
           'getsockname', 'getpeername', 'setsockopt', 'getsockopt', 'shutdown',
           'sendto', 'recvfrom', 'sendmsg', 'recvmsg', 'sendmmsg', 'recvmmsg'}
FD_IO = {'read', 'write', 'close', 'readv', 'writev'}
WAITS = {'poll', 'ppoll', 'select', 'pselect6', 'pause'}
# Calls that can put a process to sleep (the others are drawn as running).
BLOCKING = {'accept', 'accept4', 'connect', 'read', 'readv', 'recvfrom', 'recvmsg',
            'recvmmsg', 'write', 'writev', 'sendto', 'sendmsg', 'sendmmsg'} | WAITS
SENDS = {'write', 'writev', 'sendto', 'sendmsg', 'sendmmsg'}
RECEIVES = {'read', 'readv', 'recvfrom', 'recvmsg', 'recvmmsg'}
RETURNS_FD = {'socket', 'accept', 'accept4'}
# How the labs' narration names a system call (glibc's recv() is recvfrom).
NARRATED_AS = {'recvfrom': ('recvfrom', 'recv'), 'sendto': ('sendto', 'send'),
               'accept4': ('accept4', 'accept'), 'recvmsg': ('recvmsg', 'recv'),
               'sendmsg': ('sendmsg', 'send'), 'ppoll': ('ppoll', 'poll'),
               'pselect6': ('pselect6', 'select')}

LINE = re.compile(r'^(\d+)\s+(\d+\.\d+) (.*)$')
CALL = re.compile(r'^([a-z0-9_]+)\((.*)$')
RESUMED = re.compile(r'^<\.\.\. ([a-z0-9_]+) resumed>(.*)$')
RESULT = re.compile(r'^(.*)\) += (.*?)(?: <(\d+\.\d+)>)?$')
SOCKET_FD = re.compile(r'^(-?\d+)<((?:TCP|UDP|UDPLITE|SCTP)(?:v6)?|UNIX(?:-[A-Z]+)?):\[([^\]]*)\]>')
ANY_FD = re.compile(r'^(-?\d+)<')
ADDRESS = re.compile(r'sin6?_port=htons\((\d+)\), (?:sin_addr=inet_addr\("([^"]+)"\)|'
                     r'sin6_flowinfo=[^,]*, inet_pton\(AF_INET6, "([^"]+)")')
# An AF_UNIX address in a call's arguments: sun_path="lab.sock", or
# sun_path=@"name" for an abstract one.
SUN_PATH = re.compile(r'sun_path=(@?)"((?:[^"\\]|\\.)*)"')
# What -yy shows for a unix socket bound to a name and not connected:
# 3<UNIX:[2510613,"dgram.sock"]> (a connected one shows [inode->peer,...]).
UNIX_NAMED = re.compile(r'\d+<UNIX(?:-[A-Z]+)?:\[(\d+),"((?:[^"\\]|\\.)*)"\]>')
# The sockets bound to each unix name: [(time first seen, inode) ...]
# (filled by find_wakes from all the lanes' traces): a unix datagram names
# its peer by path, -yy names the sockets by inode. A name can be bound
# again once its file is removed, so the time tells which socket held it.
UNIX_NAMES = {}


def unix_socket(name, when):
    """The inode of the socket that held a unix name at `when`: the last
    seen by then, else the first seen after (a sleeping recvfrom() names a
    sender whose socket appears in the trace only later)."""
    held = UNIX_NAMES.get(name)
    if not held:
        return name
    before = [inode for seen, inode in held if seen <= when]
    return before[-1] if before else held[0][1]


class Call:
    """One system call of one process, or a run of them drawn as one bar."""

    def __init__(self, lane, pid, name, args, result, start, duration):
        self.lane, self.pid, self.name, self.args = lane, pid, name, args
        self.result, self.start, self.end = result, start, start + duration
        self.line = 0          # narration lines written before it
        self.fd = None         # its descriptor, when it has one
        self.socket = None     # -yy's text for it: "127.0.0.1:1->127.0.0.1:2"
        self.members = [self]  # a collapsed run: the calls in it
        self.wake = None       # (kind, waking Call or signal time)
        self.label = None

    @property
    def duration_ms(self):
        return (self.end - self.start) * 1000

    @property
    def asleep(self):
        """It slept if what woke it happened after it began (the client
        connected, the bytes were sent, the signal came while it was in the
        call): it could not have returned sooner. Without such an event
        (connect() waiting for the other kernel, a timeout), if strace -T
        timed it at ASLEEP_MS or more; and a send() too (see below)."""
        if self.name not in BLOCKING:
            return False
        if self.name in SENDS:
            # On loopback a send() delivers to the reader, who may start
            # reading before the send() has returned: a read during it proves
            # nothing. A full buffer makes a long sleep: the threshold.
            return self.duration_ms >= ASLEEP_MS
        if self.wake:
            kind, source = self.wake
            return (source[1] if kind == 'signal' else source.start) > self.start
        return self.duration_ms >= ASLEEP_MS

    def value(self):
        """The return value as the program sees it: '4', '-1 EINTR' ..."""
        text = self.result
        if text.startswith('? ERESTART'):
            return '-1 EINTR'   # no SA_RESTART in the labs: EINTR
        m = re.match(r'^(-1 E[A-Z0-9]+|-?\d+)', text)
        return m.group(1) if m else text.split(' ')[0]

    def token(self):
        """What the structure compares: call, descriptor, class of result."""
        value = self.value()
        if value.startswith('-1'):
            shown = value
        elif self.name in RETURNS_FD:
            shown = value
        elif value.lstrip('-').isdigit():
            shown = '0' if int(value) == 0 else '+'
        else:
            shown = value
        return '%s(%s) %s' % (self.name, '' if self.fd is None else self.fd, shown)


def unescape_lines(text):
    """How many newlines strace's quoted string holds."""
    return sum(1 for escape in re.findall(r'\\(.)', text) if escape == 'n')


def first_string(args):
    m = re.search(r'"((?:[^"\\]|\\.)*)"(\.\.\.)?', args)
    return m and (m.group(1), bool(m.group(2)))


def short_string(text, limit=14):
    return '"%s"' % text if len(text) <= limit else '"%s"...' % text[:limit]


def parse_trace(path, lane, peer=False):
    """The lane's calls worth drawing, and its signals, in time order."""
    pending = {}
    raw = []        # (pid, name, args, result, start, duration)
    signals = []
    with open(path, errors='replace') as trace:
        for text in trace:
            m = LINE.match(text.rstrip('\n'))
            if not m:
                continue
            pid, stamp, rest = int(m.group(1)), float(m.group(2)), m.group(3)
            if rest.startswith('---'):
                name = rest.split()[1]
                if name.startswith('SIG') and name != 'SIGCHLD':
                    signals.append((pid, stamp, name))
                continue
            if rest.startswith('+++'):
                continue
            if rest.endswith('<unfinished ...>'):
                c = CALL.match(rest)
                if c:
                    pending[pid] = (c.group(1), c.group(2)[:-len('<unfinished ...>')].rstrip(), stamp)
                continue
            r = RESUMED.match(rest)
            if r:
                if pid not in pending:
                    continue
                name, head, start = pending.pop(pid)
                body = head + r.group(2)
            else:
                c = CALL.match(rest)
                if not c:
                    continue
                name, body, start = c.group(1), c.group(2), stamp
            res = RESULT.match(body)
            if not res:
                continue
            raw.append((pid, name, res.group(1), res.group(2), start, float(res.group(3) or 0)))
    raw.sort(key=lambda r: r[4])

    # The sockets glibc opens for name-service lookups (nscd) are not the
    # program's: leave them out.
    ignored = set()
    # Nor, in a peer that is not a lab (curl), the socketpair() it makes to
    # wake itself up.
    for pid, name, args, result, start, duration in raw:
        if name == 'connect' and '/nscd/' in args:
            s = SOCKET_FD.match(args)
            if s:
                ignored.add((pid, s.group(3)))
        if name == 'socketpair' and peer:
            for key in re.findall(r'\d+<UNIX-[A-Z]+:\[([^\]]*)\]>', args):
                ignored.add((pid, key))

    # A lane's process starts as `bash -c 'echo $$ >FILE; exec COMMAND'`:
    # only what comes after its last execve is COMMAND's. Its threads and
    # children (no execve of their own) count from their first call.
    last_exec = {}
    for pid, name, args, result, start, duration in raw:
        if name == 'execve' and not result.startswith('-1'):
            last_exec[pid] = start
    # strace -T counts the time in the kernel only, not strace's own delays,
    # so start + duration may fall short of the return by a millisecond: a
    # call returned at the latest when the process's next call began.
    following, next_start = [], {}
    for pid, name, args, result, start, duration in reversed(raw):
        following.append(next_start.get(pid))
        next_start[pid] = start
    following.reverse()

    calls, lines, started = [], {}, set()
    for (pid, name, args, result, start, duration), bound in zip(raw, following):
        if start < last_exec.get(pid, 0) or name == 'execve':
            continue
        started.add(pid)
        fd = SOCKET_FD.match(args)
        if name in ('write', 'writev') and not fd and re.match(r'^[12]<', args):
            if pid in started:   # the program's own output: narration lines
                q = first_string(args)
                lines[pid] = lines.get(pid, 0) + max(1, unescape_lines(q[0]) if q else 1)
            continue
        if pid not in started:
            continue
        returned = SOCKET_FD.match(result)
        if name in NETWORK:
            keep = True
        elif name in FD_IO:
            keep = bool(fd)
        elif name in WAITS:
            waited = [k for k in re.findall(r'\d+<(?:TCP|UDP|UNIX)[^:]*:\[([^\]]*)\]>', args)
                      if (pid, k) not in ignored]
            keep = name == 'pause' or bool(waited) or args.startswith('NULL, 0')
        else:
            keep = False
        if not keep:
            continue
        key = fd.group(3) if fd else (returned.group(3) if returned else None)
        if key is not None and (pid, key) in ignored or name == 'socketpair' and peer:
            continue
        call = Call(lane, pid, name, args, result, start, duration)
        call.bound = max(call.end, bound or call.end)
        call.line = lines.get(pid, 0)
        # A wait's sockets that are the program's (not curl's own socketpair).
        call.waited = {fd for fd, k in re.findall(r'(\d+)<(?:TCP|UDP|UNIX)[^:]*:\[([^\]]*)\]>', args)
                       if (pid, k) not in ignored} if name in WAITS else set()
        if fd:
            call.fd, call.socket = int(fd.group(1)), fd.group(3)
        elif ANY_FD.match(args) and name not in WAITS:
            call.fd = int(ANY_FD.match(args).group(1))
        elif name in ('socket',) and returned:
            call.socket = returned.group(3)
        calls.append(call)

    # At connect() -yy knows only the socket's inode; the addresses appear
    # in the calls after it on the same descriptor: take them from there.
    for n, call in enumerate(calls):
        if call.fd is None or call.socket is None or '->' in call.socket:
            continue
        pattern = re.compile(r'(?<![0-9])%d<[A-Zv0-9-]+:\[([^\]]*->[^\]]*)\]>' % call.fd)
        for later in calls[n + 1:]:
            if later.pid != call.pid:
                continue
            m = pattern.search(later.args)
            if m:
                call.socket = m.group(1)
                break
            if later.fd == call.fd and later.name == 'close':
                break
    return calls, signals


def addresses(call):
    """(local, remote) of the connection a call is on, as ADDR:PORT."""
    text = call.socket or ''
    if call.name in RETURNS_FD - {'socket'}:
        r = SOCKET_FD.match(call.result)
        text = r.group(3) if r else text
    text = re.sub(r',".*$', '', text)
    if '->' in text:
        local, remote = text.split('->', 1)
    else:
        local, remote = text, None
    m = ADDRESS.search(call.args)
    if m and call.name in ('sendto', 'recvfrom', 'sendmsg', 'recvmsg') and remote is None:
        remote = '%s:%s' % (m.group(2) or '[%s]' % m.group(3), m.group(1))
    # A unix datagram's peer is a path (or @name) in the arguments: the
    # inode of the socket bound to it, as the peer's own calls show it.
    m = SUN_PATH.search(call.args)
    if m and call.name in ('sendto', 'recvfrom', 'sendmsg', 'recvmsg') and remote is None:
        name = m.group(1) + m.group(2)
        remote = unix_socket(name, call.start)
    return local, remote


def narration_label(call, narration):
    """The result line's head, when the narration line after the call is it."""
    if call.line >= len(narration):
        return None
    line = narration[call.line]
    names = NARRATED_AS.get(call.name, (call.name,))
    m = re.match(r'^([a-z0-9_]+)\((-?\d*)', line)
    if not m or m.group(1) not in names or ' = ' not in line:
        return None
    if call.fd is not None and m.group(2) and int(m.group(2)) != call.fd:
        return None
    return shorten(line)


POLL_ENTRY = re.compile(r'\{fd=(\d+), (?:r?events)=POLL([A-Z|]+)\}')


def shorten(line):
    """A narration line as a bar's label: the call and its result only.
    A poll() line's lists are told short, fd and events:
    poll([3 IN, 4 IN]) = 1 ([4 IN]), so that the ready ones stay in view."""
    head = re.sub(r'( = -1 E[A-Z0-9]+) \(.*\)$', r'\1', line.split('  ')[0])
    if head.startswith('poll([{fd='):
        head = re.sub(r'\], \d+, -?\d+\)', '])', head, count=1)
        head = POLL_ENTRY.sub(lambda m: '%s %s' % (m.group(1), m.group(2).replace('|POLL', '|')), head)
    head = re.sub(r'"((?:[^"\\]|\\.)*)"(\.\.\.)?',
                  lambda m: short_string(m.group(1)) if not m.group(2) else short_string(m.group(1)),
                  head)
    if len(head) > 50:   # the result matters more than the bytes: shorter strings first
        head = re.sub(r'"((?:[^"\\]|\\.)*)"(\.\.\.)?',
                      lambda m: short_string(m.group(1), 6) if len(m.group(1)) > 6 else m.group(0), head)
    return head if len(head) <= 50 else head[:49] + '…'


def trace_label(call):
    """A label in the narration's manner for a call nobody narrated."""
    value = call.value()
    if call.result.startswith('0 (Timeout)'):
        value = '0 (Timeout)'
    inner = '' if call.fd is None else str(call.fd)
    if call.name in SENDS | RECEIVES:
        fd_text = SOCKET_FD.match(call.args)   # -yy may quote a unix socket's path
        q = first_string(call.args[fd_text.end():] if fd_text else call.args)
        if q and not value.startswith('-1'):
            inner += ', ' + short_string(q[0])
    if call.name in WAITS and call.name != 'pause':
        fds = sorted(set(re.findall(r'(\d+)<(?:TCP|UDP|UNIX)', call.args)), key=int)
        fds = [fd for fd in fds if fd in call.waited]
        inner = ', '.join(fds) if fds else ', '.join(call.args.split(', ')[:3])
        inner = '[%s]' % inner if fds else inner
    if call.name in ('connect', 'bind') and ADDRESS.search(call.args):
        m = ADDRESS.search(call.args)
        inner += ', %s:%s' % (m.group(2) or '[%s]' % m.group(3), m.group(1))
    if call.name in ('connect', 'bind') and SUN_PATH.search(call.args):
        m = SUN_PATH.search(call.args)
        inner += ', %s"%s"' % (m.group(1), m.group(2))
    if call.name == 'socket':
        inner = ', '.join(call.args.split(', ')[:2])
    if call.name == 'getsockopt' and 'SO_ERROR' in call.args:
        error = re.search(r'SO_ERROR, \[([A-Z0-9]+)\]', call.args)
        inner += ', SO_ERROR'
        if error and error.group(1) != '0':
            value += '  [%s]' % error.group(1)   # what the non-blocking connect() got
    if call.name == 'shutdown':
        inner += ', ' + call.args.split(', ')[-1]
    return '%s(%s) = %s' % (call.name, inner, value)


def collapse(calls):
    """Runs of the same call(s) between two narration lines become one bar:
    a reader's many read()s, 03's poll()+getsockopt() loop."""
    out, i = [], 0
    while i < len(calls):
        done = False
        for period in (1, 2):
            block = calls[i:i + period]
            if len(block) < period or any(c.line != block[0].line or c.pid != block[0].pid for c in block):
                continue
            j = i + period
            while j + period <= len(calls) and all(
                    calls[j + k].token() == block[k].token() and calls[j + k].line == block[0].line
                    and calls[j + k].pid == block[0].pid for k in range(period)):
                j += period
            if j - i >= 2 * period:
                bar = Call(block[0].lane, block[0].pid, block[0].name, block[0].args,
                           block[0].result, block[0].start, 0)
                bar.end = max(c.end for c in calls[i:j])
                bar.fd, bar.socket, bar.line = block[0].fd, block[0].socket, block[0].line
                bar.members = calls[i:j]
                bar.period = period
                out.append(bar)
                i, done = j, True
                break
        if not done:
            calls[i].period = 1
            out.append(calls[i])
            i += 1
    return out


def waker(call, events):
    """Of the peer's events before the call returned, the one that woke it:
    the first that came after the call began; if all came before (the call
    found them there and returned at once), the last."""
    after = [d for d in events if d.start > call.start]
    if after:
        return min(after, key=lambda d: d.start)
    return max(events, key=lambda d: d.start)


def find_wakes(lanes):
    everything = [c for lane in lanes for c in lane['calls']]
    # Unix names -> the inode of the socket bound to each (-yy writes an
    # abstract name as "@name"). Only sockets not connected count: an
    # accepted stream socket shows its listener's path too.
    UNIX_NAMES.clear()
    for c in sorted(everything, key=lambda c: c.start):
        for inode, name in UNIX_NAMED.findall(c.args + ' ' + c.result):
            held = UNIX_NAMES.setdefault(name, [])
            if inode not in [i for _, i in held]:
                held.append((c.start, inode))
    by_pid = {}
    for c in everything:
        by_pid.setdefault((c.lane, c.pid), []).append(c)

    def connected(c):
        """The connect() whose handshake completed, if it did."""
        if not c.value().startswith('-1'):
            return c
        # Non-blocking (nc, curl): on loopback the handshake is done by the
        # time connect() returns EINPROGRESS; the wait that follows only
        # learns it. The connect() is the event.
        return c if 'EINPROGRESS' in c.result else None

    previous = {}
    for calls in by_pid.values():
        for before, call in zip(calls, calls[1:]):
            previous[id(call)] = before

    def told_ready(c):
        """Did the wait just before it (same process) say its fd was readable?
        Then the data was there before it began, whatever came during it."""
        before = previous.get(id(c))
        return (before is not None and before.name in WAITS and c.fd is not None and
                re.search(r'\bfd=%d, revents=[A-Z|]*POLLIN' % c.fd, before.result) is not None)

    def peers(local, remote, kinds, exclude_lane):
        for d in everything:
            if d.name not in kinds or d.lane == exclude_lane and d.pid is None:
                continue
            dl, dr = addresses(d)
            if dl == remote and (dr == local or dr is None):
                yield d

    for c in everything:
        value = c.value()
        local, remote = addresses(c)
        if value == '-1 EINTR':
            sig = [s for s in c.signals if c.start <= s[1] <= c.bound]
            if sig:
                c.wake = ('signal', sig[0])
            continue
        if c.name in ('accept', 'accept4') and remote:
            for d in peers(local, remote, {'connect'}, None):
                done = connected(d)
                if done:
                    c.wake = ('connect' if done.start > c.start else 'queued', done)
            continue
        if c.name not in BLOCKING or not remote and c.name not in WAITS:
            continue
        if value in ('-1 EAGAIN', '-1 EWOULDBLOCK', '-1 EINPROGRESS'):
            continue   # non-blocking: it returned at once, nothing woke it
        if c.name in RECEIVES and told_ready(c):
            continue   # the poll() before it was woken; it found the bytes there
        if c.name in RECEIVES:
            kinds = SENDS if not value.startswith('-1') and value != '0' else {'close', 'shutdown'}
            if value != '0' and not value.startswith('-1'):
                found = [d for d in peers(local, remote, kinds, c.lane) if d.start <= c.bound]
            else:
                found = [d for d in peers(local, remote, kinds, c.lane) if d.start <= c.bound]
            if found:
                c.wake = ('data' if kinds is SENDS else 'close', waker(c, found))
        elif c.name in SENDS:
            # a reader that began while the send was still inside the kernel
            # (start + -T, which errs short: never a send that only ran)
            found = [d for d in peers(local, remote, RECEIVES, c.lane) if c.start <= d.start <= c.end]
            if found:
                c.wake = ('read', min(found, key=lambda d: d.start))
        elif c.name in WAITS and c.name != 'pause':
            # Which descriptors came back ready, and for what: poll's
            # revents ([{fd=4, revents=POLLIN|POLLHUP}]), select's sets.
            ready = {}
            for fd, events in re.findall(r'fd=(\d+), revents=([A-Z|]+)', c.result):
                ready.setdefault(fd, set()).update(events.split('|'))
            for group in re.findall(r'in \[([\d ]+)\]', c.result):
                for fd in group.split():
                    ready.setdefault(fd, set()).add('POLLIN')
            for group in re.findall(r'out \[([\d ]+)\]', c.result):
                for fd in group.split():
                    ready.setdefault(fd, set()).add('POLLOUT')
            best = None
            for fd, events in sorted(ready.items()):
                s = re.search(r'\b%s<(?:TCP|UDP|UNIX)[^:]*:\[([^\]]*)\]>' % fd, c.args)
                if not s:
                    continue
                text = re.sub(r',".*$', '', s.group(1))
                found = []
                if '->' in text:
                    l, r = text.split('->', 1)
                    if 'POLLIN' in events:
                        # readable: the peer's bytes, or its FIN
                        found += [(('data' if d.name in SENDS else 'close'), d)
                                  for d in peers(l, r, SENDS | {'close', 'shutdown'}, c.lane)
                                  if d.start <= c.bound]
                    if 'POLLOUT' in events:
                        # writable again: the peer read, and room opened up
                        found += [('read', d) for d in peers(l, r, RECEIVES, c.lane)
                                  if d.start <= c.bound and d.value().isdigit() and d.value() != '0']
                elif 'POLLIN' in events:
                    # a listener is readable when a connection is queued
                    found = [('connect', connected(d)) for d in everything
                             if d.name == 'connect' and addresses(d)[1] == text and connected(d)]
                    found = [f for f in found if f[1].start <= c.bound]
                if found:
                    w = waker(c, [f[1] for f in found])
                    f = [f for f in found if f[1] is w][0]
                    if best is None or waker(c, [best[1], w]) is w:
                        best = f
            if best:
                c.wake = best


# ---- drawing ---------------------------------------------------------------

LANE_W = 3.4          # inches per lane
RULER_W = 0.9         # inches for the time ruler on the left
ROW = 0.165           # inches per text row
HEADER_ROWS = 3.2
BAR_W = 0.11
COLORS = {'connect': '#1f6fb4', 'queued': '#1f6fb4', 'data': '#2a8a3a',
          'close': '#c0641a', 'read': '#7a3fb0', 'signal': '#c62828'}


def gap_rows(dt_ms):
    return 0 if dt_ms <= 0 else 0.1 + 2.2 * math.log2(1 + dt_ms / 4)


def layout(lanes):
    """y (in rows, downward) for every instant drawn."""
    events = []   # (time, kind, lane index)
    for i, lane in enumerate(lanes):
        for bar in lane['bars']:
            events.append((bar.start, 'label', i))
            events.append((bar.end, 'end', i))
            for m in bar.members:
                events.append((m.start, 'point', i))
                events.append((m.end, 'point', i))
        for s in lane['signals']:
            events.append((s[1], 'label', i))
    events.sort(key=lambda e: (e[0], e[1] != 'end'))
    y, last_t, ys, gaps = 0.0, None, {}, []
    last_label = {}
    for t, kind, i in events:
        if last_t is not None and t > last_t:
            dt = (t - last_t) * 1000
            step = gap_rows(dt)
            if dt >= GAP_MS:
                gaps.append((y, y + step, dt))
            y += step
        if kind == 'label' and i in last_label:
            y = max(y, last_label[i] + 1.0)
        if kind == 'label':
            last_label[i] = y
        ys[t] = max(ys.get(t, y), y)
        last_t = t if last_t is None else max(last_t, t)
    return ys, gaps, y


def draw(traces, out):
    import matplotlib
    matplotlib.use('svg')
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle, FancyArrowPatch

    plt.rcParams.update({'svg.fonttype': 'none', 'svg.hashsalt': 'socket-labs',
                         'font.family': 'DejaVu Sans', 'font.size': 7.5})
    names = [n for n in open(os.path.join(traces, 'lanes')).read().split('\n') if n]
    lanes = []
    for name in names:
        command = open(os.path.join(traces, name + '.command')).read().strip()
        calls, signals = parse_trace(os.path.join(traces, name + '.trace'), name,
                                     peer=not command.startswith('labs/'))
        for c in calls:
            c.signals = [s for s in signals if s[0] == c.pid]
            c.peer = not command.startswith('labs/')
        narration = open(os.path.join(traces, name + '.out'), errors='replace').read().split('\n')
        for c in calls:
            c.label = narration_label(c, narration) or trace_label(c)
        command = command.split('\n')[0]
        command = re.sub(r'\blabs/[0-9]{2}-[a-z0-9-]+/', './', command)
        lanes.append({'name': name, 'command': command, 'calls': calls,
                      'signals': signals, 'narration': narration})
    find_wakes(lanes)
    for lane in lanes:
        lane['bars'] = collapse(lane['calls'])
        for bar in lane['bars']:
            if len(bar.members) > 1:
                block = bar.members[:bar.period]
                bar.label = '%s  ×%d' % (' + '.join(m.label for m in block),
                                         len(bar.members) // bar.period)
                if len(bar.label) > 60:
                    bar.label = ' + '.join(re.sub(r'\(.*', '()', m.label) for m in block) + \
                        '  ×%d' % (len(bar.members) // bar.period)

    t0 = min(b.start for lane in lanes for b in lane['bars'])
    ys, gaps, height = layout(lanes)
    rows = HEADER_ROWS + height + 8.0
    width = RULER_W + LANE_W * len(lanes)
    fig = plt.figure(figsize=(width, rows * ROW))
    ax = fig.add_axes([0, 0, 1, 1])
    ax.set_xlim(0, width)
    ax.set_ylim(rows, 0)
    ax.axis('off')

    def Y(t):
        return HEADER_ROWS + ys[t]

    def X(i):
        return RULER_W + i * LANE_W + 0.15

    gid = {}   # matplotlib gid -> attributes the SVG keeps for the tests
    for i, lane in enumerate(lanes):
        g = 'lane-%d' % i
        ax.text(X(i), 0.9, lane['name'], fontsize=9, fontweight='bold', va='center', gid=g)
        ax.text(X(i), 2.0, '$ ' + lane['command'][:44], fontsize=7, family='DejaVu Sans Mono',
                color='#555555', va='center')
        gid[g] = {'data-lane': lane['name']}
        if lane['bars']:
            first = min(b.start for b in lane['bars'])
            last = max(b.end for b in lane['bars'])
            ax.plot([X(i) + BAR_W / 2] * 2, [Y(first), Y(last)], color='#bbbbbb', lw=0.8, zorder=1)
        for n, bar in enumerate(lane['bars']):
            g = 'call-%d-%d' % (i, n)
            for m in bar.members:
                # Only a sleep is drawn to its length: a call that ran took
                # microseconds, though other lanes' lines may pass meanwhile.
                top, asleep = Y(m.start), m.asleep
                h = max(Y(m.end) - top, 0.45) if asleep else 0.45
                ax.add_patch(Rectangle((X(i), top), BAR_W, h, gid=g if m is bar.members[0] else None,
                                       facecolor='#cfe3f7' if asleep else '#333333',
                                       edgecolor='#1f5f9f' if asleep else '#333333',
                                       hatch='////' if asleep else None, lw=0.6, zorder=3))
            sleepers = [m for m in bar.members if m.asleep]
            text = bar.label
            ax.text(X(i) + BAR_W + 0.07, Y(bar.start) + 0.25, text, family='DejaVu Sans Mono',
                    fontsize=7.2, va='center', zorder=4,
                    color='#0d3c6e' if sleepers else '#222222',
                    fontweight='bold' if sleepers else 'normal')
            if sleepers and Y(bar.end) - Y(bar.start) >= 2.2:
                ms = sum(m.duration_ms for m in sleepers)
                ax.text(X(i) + BAR_W + 0.07, (Y(bar.start) + Y(bar.end)) / 2 + 0.4,
                        'asleep %s' % fmt_ms(ms), fontsize=6.5, style='italic',
                        color='#1f5f9f', va='center')
            gid[g] = {'data-call': bar.label, 'data-lane': lane['name'],
                      'data-tokens': '|'.join(m.token() for m in bar.members[:bar.period]),
                      'data-count': str(len(bar.members) // bar.period),
                      'data-line': str(bar.line),
                      'data-asleep': 'yes' if sleepers else 'no',
                      # what the arrows into it show woke it (connect, data ...)
                      'data-woken': ' '.join(sorted({m.wake[0] for m in bar.members if m.wake and
                                                     (m.asleep or m.wake[0] == 'queued')})),
                      # and by whom: KIND:LANE (a poll's waker among many peers)
                      # (KIND:LANE:found: there before a lab's poll() began)
                      'data-woken-by': ' '.join(sorted({'%s:%s%s' % (m.wake[0], m.wake[1].lane,
                                                                     '' if m.asleep else ':found')
                                                        for m in bar.members if m.wake and
                                                        m.wake[0] != 'signal' and drawn_wake(m)})),
                      'title': '%s\n%s%s' % (bar.label, 'asleep ' if sleepers else '',
                                             fmt_ms(sum(m.duration_ms for m in bar.members)))}
        for s in lane['signals']:
            ax.plot([X(i) - 0.06], [Y(s[1])], marker='*', color=COLORS['signal'], ms=8, zorder=5)
            ax.text(X(i) - 0.12, Y(s[1]), s[2], color=COLORS['signal'], fontsize=6.5,
                    ha='right', va='center')

    index = {id(c): i for i, lane in enumerate(lanes) for c in lane['calls']}
    for i, lane in enumerate(lanes):
        for c in lane['calls']:
            if not c.wake:
                continue
            kind, source = c.wake
            if not drawn_wake(c):
                continue   # it returned at once: what it found was there before
            color = COLORS[kind]
            head = (X(i) + BAR_W / 2, Y(c.end) if c.asleep else Y(c.start) + 0.2)
            if kind == 'signal':
                continue   # the star at the signal's time says it
            j = index[id(source)]
            tail_t = min(source.end, c.end)
            tail = (X(j) + BAR_W / 2, Y(tail_t) if source.asleep else Y(source.start) + 0.2)
            tail = (tail[0], min(tail[1], head[1]))   # never back in time
            ax.add_patch(FancyArrowPatch(
                tail, head, arrowstyle='-|>', mutation_scale=9, color=color, lw=1.1,
                linestyle='-' if c.asleep else ':', zorder=6,
                connectionstyle='arc3,rad=0.0', shrinkA=2, shrinkB=2))

    # The ruler: real time since the first call, at the ends of sleeps.
    marks = sorted({b.start for lane in lanes for b in lane['bars'] if any(m.asleep for m in b.members)} |
                   {b.end for lane in lanes for b in lane['bars'] if any(m.asleep for m in b.members)})
    last = -9
    ax.plot([RULER_W - 0.12] * 2, [HEADER_ROWS, HEADER_ROWS + height], color='#999999', lw=0.6)
    for t in marks:
        if Y(t) - last < 1.0:
            continue
        last = Y(t)
        ax.text(RULER_W - 0.18, Y(t), fmt_ms((t - t0) * 1000), fontsize=6.5, color='#666666',
                ha='right', va='center')
        ax.plot([RULER_W - 0.15, RULER_W - 0.09], [Y(t)] * 2, color='#999999', lw=0.6)
    for top, bottom, dt in gaps:
        mid = HEADER_ROWS + (top + bottom) / 2
        ax.plot([0.05, width - 0.05], [mid, mid], color='#aaaaaa', lw=0.8, ls=(0, (4, 3)), zorder=2)
        ax.text(0.08, mid - 0.45, '≈ %s' % fmt_ms(dt), fontsize=6.5, color='#777777', va='center')

    # The key.
    ky = HEADER_ROWS + height + 2.0
    kx = 0.15
    ax.add_patch(Rectangle((kx, ky - 0.4), BAR_W, 0.8, facecolor='#cfe3f7', edgecolor='#1f5f9f',
                           hatch='////', lw=0.6))
    ax.text(kx + 0.2, ky, 'asleep in the call: what woke it came after it began', va='center', fontsize=7)
    ax.add_patch(Rectangle((kx + 3.6, ky - 0.4), BAR_W, 0.8, facecolor='#333333', lw=0))
    ax.text(kx + 3.8, ky, 'ran and returned', va='center', fontsize=7)
    ax.text(kx, ky + 1.4, 'woken by:', va='center', fontsize=7)
    x = kx + 0.7
    for kind, words in (('connect', "the client's connect"), ('data', 'bytes sent'),
                        ('close', 'FIN (close, shutdown)'), ('read', 'the peer reading')):
        ax.add_patch(FancyArrowPatch((x, ky + 1.4), (x + 0.35, ky + 1.4), arrowstyle='-|>',
                                     mutation_scale=8, color=COLORS[kind], lw=1.1))
        ax.text(x + 0.42, ky + 1.4, words, va='center', fontsize=7)
        x += 0.55 + 0.055 * len(words) + 0.2
    ax.add_patch(FancyArrowPatch((kx, ky + 2.8), (kx + 0.35, ky + 2.8), arrowstyle='-|>',
                                 mutation_scale=8, color=COLORS['queued'], lw=1.1, linestyle=':'))
    ax.text(kx + 0.42, ky + 2.8, 'there before the call: a connection waiting in the queue, a socket '
            'poll() found ready: it returned at once',
            va='center', fontsize=7)
    ax.plot([kx + 0.06], [ky + 4.2], marker='*', color=COLORS['signal'], ms=8)
    ax.text(kx + 0.2, ky + 4.2, 'a signal arrives (kill): the call it interrupts returns EINTR',
            va='center', fontsize=7)
    ax.text(kx, ky + 5.6, 'Time runs down, not to scale: every call gets its line, and the ruler gives'
            ' the time since the first call. ≈: a long gap drawn short.', va='center', fontsize=7)

    fig.savefig(out, format='svg', metadata={'Date': None})
    plt.close(fig)
    annotate(out, gid)


def drawn_wake(call):
    """Is the arrow into this call drawn? When the event woke it (it slept);
    dotted when the call found it there and returned at once: a connection
    queued before accept() (04, 08), a lab's poll() that found a socket
    ready (10: curl's request there before the poll began)."""
    if not call.wake:
        return False
    return call.asleep or call.wake[0] == 'queued' or call.name in WAITS and not call.peer


def fmt_ms(ms):
    return '%.2f s' % (ms / 1000) if ms >= 1000 else ('%.1f ms' % ms if ms >= 1 else '%.2f ms' % ms)


SVG = 'http://www.w3.org/2000/svg'


def annotate(path, gid):
    """Put the structure into the SVG: data-* attributes and <title>s."""
    ET.register_namespace('', SVG)
    ET.register_namespace('xlink', 'http://www.w3.org/1999/xlink')
    tree = ET.parse(path)
    for g in tree.iter('{%s}g' % SVG):
        attrs = gid.get(g.get('id'))
        if not attrs:
            continue
        for key, value in attrs.items():
            if key == 'title':
                title = ET.Element('{%s}title' % SVG)
                title.text = value
                g.insert(0, title)
            else:
                g.set(key, value)
    tree.write(path, encoding='unicode', xml_declaration=True)


# ---- reading a picture back (the tests) ---------------------------------------

def read_picture(path):
    """[(lane, [bar attributes ...]) ...] from an SVG this script drew."""
    tree = ET.parse(path)
    lanes, bars = [], {}
    for g in tree.iter('{%s}g' % SVG):
        if g.get('data-call') is not None:
            bars.setdefault(g.get('data-lane'), []).append(dict(g.attrib))
        elif g.get('data-lane') is not None:
            lanes.append(g.get('data-lane'))
    return [(lane, bars.get(lane, [])) for lane in lanes]


def canonical(tokens):
    """The calls in order, a block repeated back to back kept once: how many
    read()s drain a buffer, or polls pass, or rounds of send(), send() =
    EAGAIN, poll() a reader takes to drain (09's -f), varies from run to run.
    So does how often a peer's wait with a timeout (curl's poll) times out
    before the event: a timed-out wait followed by the same wait is one."""
    waits = tuple('%s(' % name for name in WAITS)
    tokens = [t for n, t in enumerate(tokens)
              if not (t.startswith(waits) and t.endswith(') 0') and n + 1 < len(tokens)
                      and tokens[n + 1].split('(')[0] == t.split('(')[0])]
    changed = True
    while changed:
        changed = False
        for period in (1, 2, 3):
            i = 0
            while i + 2 * period <= len(tokens):
                if tokens[i:i + period] == tokens[i + period:i + 2 * period]:
                    del tokens[i + period:i + 2 * period]
                    changed = True
                else:
                    i += 1
    return tokens


def structure(path):
    out = []
    for lane, bars in read_picture(path):
        tokens = [t for bar in bars for t in bar['data-tokens'].split('|')]
        out.append('%s: %s' % (lane, ', '.join(canonical(tokens))))
    return out


def check_narration(path, traces):
    """For every "CALL ..." line of a lane's output, a bar that starts after
    it and returns before the next line, labelled with the result line."""
    problems, checked = [], 0
    for lane, bars in read_picture(path):
        out = os.path.join(traces, lane + '.out')
        narration = open(out, errors='replace').read().split('\n')
        for i, line in enumerate(narration):
            if not re.match(r'^[a-z0-9_]+\(.* \.\.\.$', line):
                continue
            checked += 1
            here = [b for b in bars if b['data-line'] == str(i + 1)]
            call = line[:-len(' ...')].rstrip(',')
            named = call.split('(')[0]
            first = here[0]['data-tokens'].split('(')[0] if here else None
            if first is None or named not in NARRATED_AS.get(first, (first,)):
                problems.append('%s: line %d "%s": the next bar is %s, not a %s() call'
                                % (lane, i + 1, line, first, named))
                continue
            following = narration[i + 1] if i + 1 < len(narration) else ''
            if following.startswith(call) and ' = ' in following:
                # its result line: the last bar before it is the call returning
                # (03 narrates one "..." per change, and polls many times)
                if here[-1]['data-call'] != shorten(following):
                    problems.append('%s: line %d "%s": the bar says "%s", the result line "%s"'
                                    % (lane, i + 2, following, here[-1]['data-call'], shorten(following)))
    return checked, problems


def main(argv):
    if len(argv) >= 4 and len(argv) % 2 == 0 and argv[1] == 'draw':
        for traces, out in zip(argv[2::2], argv[3::2]):   # matplotlib loads once
            draw(traces, out)
    elif len(argv) == 3 and argv[1] == 'structure':
        print('\n'.join(structure(argv[2])))
    elif len(argv) == 4 and argv[1] == 'check-narration':
        checked, problems = check_narration(argv[2], argv[3])
        for p in problems:
            print(p, file=sys.stderr)
        print('%d "..." lines checked, %d problems' % (checked, len(problems)))
        return 1 if problems else 0
    else:
        print(__doc__.split('\n\n')[1], file=sys.stderr)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))

"""Drives a xenstored with python3-pyxs (a real third-party client); prints one line per check.

usage: /usr/bin/python3 pyxs_check.py SOCKET
"""
import sys
import threading

from pyxs import Client, PyXSError

sock = sys.argv[1]

with Client(unix_socket_path=sock) as c:
    c.write(b"/pyxs/a", b"hello")
    print("read", c.read(b"/pyxs/a").decode())
    print("list", ",".join(x.decode() for x in c.list(b"/pyxs")))
    print("perms", ",".join(x.decode() for x in c.get_perms(b"/pyxs/a")))
    try:
        c.read(b"/pyxs/missing")
        print("missing read?!")
    except PyXSError as e:
        print("missing", e.args[0])

    # a transaction that commits
    c.transaction()
    c.write(b"/pyxs/tx", b"1")
    c.write(b"/pyxs/tx2", b"2")
    print("commit", c.commit())
    print("after commit", c.read(b"/pyxs/tx").decode(), c.read(b"/pyxs/tx2").decode())

    # two connections: the second writes what the first transaction read -> EAGAIN
    with Client(unix_socket_path=sock) as other:
        c.transaction()
        c.read(b"/pyxs/a")
        other.write(b"/pyxs/a", b"changed")
        c.write(b"/pyxs/lost", b"x")
        print("conflict commit", c.commit())
        print("lost exists", c.exists(b"/pyxs/lost"))

    # a watch on a second connection receives the initial event and the changes
    with Client(unix_socket_path=sock) as w:
        m = w.monitor()
        m.watch(b"/pyxs/w", b"tok")
        events = m.wait()
        got = [next(events)]
        c.write(b"/pyxs/w/x", b"1")
        got.append(next(events))
        c.delete(b"/pyxs/w")
        got.append(next(events))
        for path, token in got:
            print("event", path.decode(), token.decode())
        m.unwatch(b"/pyxs/w", b"tok")

    c.delete(b"/pyxs")
    print("deleted", c.exists(b"/pyxs"))
print("done")

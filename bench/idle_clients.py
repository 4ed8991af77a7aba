#!/usr/bin/env python3
"""Opens N keep-alive connections to HOST:PORT, sends one beacon on each, reads its answer,
then holds them all open until stdin closes (or a line arrives).

The connections come from 127.0.0.2, 127.0.0.3, ... in turn (25,000 each at most), so more
than one address's worth of ephemeral ports can be held against one server port. Prints
"ready N answered A" once every connection has its answer; exits non-zero if any did not
answer 2xx.

  bench/idle_clients.py PORT N PATH_AND_QUERY USER_AGENT
"""
import selectors
import socket
import sys

PER_SOURCE = 25_000


def main() -> int:
    port, count, target, agent = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    request = (f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: {agent}\r\n\r\n").encode()
    sel = selectors.DefaultSelector()
    socks = []
    pending = {}
    answered = 0
    failed = 0
    for i in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((f"127.0.0.{2 + i // PER_SOURCE}", 0))
        s.connect(("127.0.0.1", port))
        s.sendall(request)
        s.setblocking(False)
        socks.append(s)
        pending[s.fileno()] = b""
        sel.register(s, selectors.EVENT_READ)
        # Keep the number waiting for an answer bounded, as a browser's would be.
        while len(pending) > 256 or (i == count - 1 and pending):
            for key, _ in sel.select(timeout=10):
                data = key.fileobj.recv(4096)
                got = pending[key.fd] + data
                if b"\r\n\r\n" in got or not data:
                    sel.unregister(key.fileobj)
                    del pending[key.fd]
                    if got.startswith(b"HTTP/1.1 2"):
                        answered += 1
                    else:
                        failed += 1
                else:
                    pending[key.fd] = got
    print(f"ready {len(socks)} answered {answered}", flush=True)
    sys.stdin.readline()
    for s in socks:
        s.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
# host_listeners.py: targets in the host network namespace for the escape probes: a TCP server
# (127.0.0.1 and ::1, same port) answering "HTTP/1.0 200" + HOSTNET, a UDP echo server (same
# two addresses), and an abstract unix socket. Every connection or datagram is logged to HITS:
# a sandboxed service must never produce one. Writes "tcp=P udp=P abstract=NAME" to PORTS.
# Usage: host_listeners.py PORTS HITS ABSTRACT-NAME   (runs until killed)
import os
import socket
import sys
import threading

ports_file, hits_file, abstract_name = sys.argv[1], sys.argv[2], sys.argv[3]
lock = threading.Lock()


def hit(what):
    with lock:
        with open(hits_file, "a") as f:
            f.write(what + "\n")


def tcp_loop(sock, label):
    while True:
        c, peer = sock.accept()
        hit("%s %s" % (label, peer))
        try:
            c.settimeout(2)
            try:
                c.recv(4096)
            except OSError:
                pass
            c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nHOSTNET\n")
        except OSError:
            pass
        c.close()


def udp_loop(sock, label):
    while True:
        data, peer = sock.recvfrom(4096)
        hit("%s %s" % (label, peer))
        sock.sendto(b"HOSTNET " + data, peer)


def unix_loop(sock):
    while True:
        c, _ = sock.accept()
        hit("abstract")
        c.close()


t4 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
t4.bind(("127.0.0.1", 0))
tcp_port = t4.getsockname()[1]
t4.listen(16)
listeners = [(tcp_loop, t4, "tcp4")]
try:
    t6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    t6.bind(("::1", tcp_port))
    t6.listen(16)
    listeners.append((tcp_loop, t6, "tcp6"))
except OSError:
    pass
u4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u4.bind(("127.0.0.1", 0))
udp_port = u4.getsockname()[1]
listeners.append((udp_loop, u4, "udp4"))
try:
    u6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    u6.bind(("::1", udp_port))
    listeners.append((udp_loop, u6, "udp6"))
except OSError:
    pass
ux = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
ux.bind("\0" + abstract_name)
ux.listen(16)

for fn, s, label in listeners:
    threading.Thread(target=fn, args=(s, label), daemon=True).start()
threading.Thread(target=unix_loop, args=(ux,), daemon=True).start()
open(hits_file, "a").close()
tmp = ports_file + ".tmp"
with open(tmp, "w") as f:
    f.write("tcp=%d udp=%d abstract=%s\n" % (tcp_port, udp_port, abstract_name))
os.rename(tmp, ports_file)
threading.Event().wait()

#!/usr/bin/env python3
"""The kernel's audit state, for the tests and benchmarks that need Landlock's refusals named.

   kernel_audit.py        print 0 (off) or 1 (on)
   kernel_audit.py 0|1    set it (AUDIT_SET; root, CAP_AUDIT_CONTROL), then print it
"""
import socket
import struct
import sys

NETLINK_AUDIT, AUDIT_GET, AUDIT_SET, NLMSG_ERROR = 9, 1000, 1001, 2


def audit(state=None):
    """The audit state (0/1); with state, set it first."""
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_AUDIT)
    s.bind((0, 0))

    def ask(kind, body=b""):
        s.send(struct.pack("=IHHII", 16 + len(body), kind, 5, 1, 0) + body)  # REQUEST|ACK
        while True:
            d = s.recv(8192)
            t = struct.unpack("=H", d[4:6])[0]
            if t == NLMSG_ERROR and struct.unpack("=i", d[16:20])[0]:
                raise OSError(-struct.unpack("=i", d[16:20])[0], "audit")
            if t == kind or (t == NLMSG_ERROR and kind != AUDIT_GET):
                return d[16:]

    if state is not None:  # struct audit_status, mask AUDIT_STATUS_ENABLED
        ask(AUDIT_SET, struct.pack("=10I", 1, state, *[0] * 8))
    return struct.unpack("=2I", ask(AUDIT_GET)[:8])[1]


if __name__ == "__main__":
    try:
        print(audit(int(sys.argv[1]) if len(sys.argv) > 1 else None))
    except OSError as e:
        sys.exit(f"kernel audit: {e}")

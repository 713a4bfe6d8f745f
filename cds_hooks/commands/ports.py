"""Is the port free? Asked before anything starts, so that a busy port is one clear line at
start-up, not "serving ..." followed by a bind error seconds later."""

from __future__ import annotations

import errno
import socket


def port_problem(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be bound now, or ``None`` when it can."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # as the servers do: a port left in TIME_WAIT by a stopped server is free
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return (
                    f"port {port} on {host} is already in use (another sarcoma-cds, or "
                    "another program): stop it, or choose another port"
                )
            if exc.errno == errno.EADDRNOTAVAIL:
                return f"{host} is not an address of this machine"
            if exc.errno == errno.EACCES:
                return f"port {port} on {host} needs privileges this user lacks"
            return f"cannot listen on {host}:{port} ({exc.strerror or type(exc).__name__})"
    return None

"""The client's address behind nginx and gunicorn's unix socket.

gunicorn answering on a unix socket has no peer address to give: Django sees ``REMOTE_ADDR == ""``
(the seeds' "REMOTE_ADDR is empty behind the unix socket" bug). Only the host's nginx can connect to
that socket, and it sets ``X-Real-IP`` to the client address it computed itself (``real_ip`` trusts
the load balancer's ``X-Forwarded-For`` only from the load balancer's addresses), so on a unix
socket that header is the client. A request with a real peer address (``runserver``, a TCP bind)
keeps it: there the header could come from anyone.

The header a client sends in its own ``X-Forwarded-For`` is never read first: the fallback, for an
nginx that sets only ``X-Forwarded-For``, takes its last entry, the one nginx appended.
"""

import ipaddress


def _address(value):
    value = (value or "").strip()
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def client_address(meta):
    """The address to use as REMOTE_ADDR, or None to keep what the server gave."""
    if meta.get("REMOTE_ADDR"):
        return None
    real_ip = _address(meta.get("HTTP_X_REAL_IP"))
    if real_ip:
        return real_ip
    forwarded = meta.get("HTTP_X_FORWARDED_FOR", "")
    return _address(forwarded.rsplit(",", 1)[-1]) if forwarded else None


class UnixSocketClientAddressMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        address = client_address(request.META)
        if address:
            request.META["REMOTE_ADDR"] = address
        return self.get_response(request)

"""A buffering front door for `runstack`: what a slow or hostile client holds is a coroutine, never a thread.

gunicorn's threaded workers read a request's headers and body in the thread that serves it,
with no deadline: a client that sends a header line every few seconds holds that thread for
as long as it likes, and a hundred such clients hold all of them. The front door listens on
runstack's port, reads each request whole (headers within `header_timeout`, a body at no less
than `body_rate` bytes a second after `body_grace`, and no larger than `max_body`), and only
then passes it to gunicorn over a unix socket in `var/`. It runs without Django:
`python -m asyncrest.frontdoor --help`.
"""
from .server import PEER_HEADER, FrontDoor, Limits

__all__ = ["FrontDoor", "Limits", "behind_front_door"]

PEER_ENVIRON_KEY = "HTTP_" + PEER_HEADER.decode().upper().replace("-", "_")


def behind_front_door(app):
    """Wrap a WSGI app so that REMOTE_ADDR is the client's address as the front door saw it.

    The web server behind the front door listens on a unix socket that only the front door
    can reach, so its peer address is empty; the front door sends the client's in
    `X-Asyncrest-Peer`, after dropping any such header a client sent. Never wrap an app
    served on a port that clients can reach directly: they could then name any address.
    """

    def application(environ, start_response):
        peer = environ.pop(PEER_ENVIRON_KEY, None)
        if peer is not None:
            environ["REMOTE_ADDR"] = peer
            environ.pop("REMOTE_PORT", None)
        return app(environ, start_response)

    return application

"""``portal serve``: the portal behind gunicorn, a production WSGI server, configured in code.

gunicorn forks its workers after the application is built (``preload_app``); each worker opens
its own SQLite connections on first use (:class:`app._State`), so nothing is shared across a
fork. Threads per worker (``gthread``) let slow uploads not block a worker.
"""

from __future__ import annotations

from .app import PortalSettings, make_app

__all__ = ["serve"]


def serve(settings: PortalSettings, host: str = "127.0.0.1", port: int = 8000, *,
          workers: int = 2, threads: int = 4, timeout: int = 120) -> None:
    """Run the portal until interrupted."""
    from gunicorn.app.base import BaseApplication

    wsgi = make_app(settings)

    class _Portal(BaseApplication):
        def load_config(self) -> None:
            for name, value in {
                "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
                "workers": workers, "threads": threads, "worker_class": "gthread",
                "timeout": timeout, "preload_app": True,
                # no access log: request paths hold link tokens, addresses are personal data
                "accesslog": None, "errorlog": "-", "loglevel": "warning",
                "limit_request_line": 4094, "limit_request_fields": 100,
            }.items():
                self.cfg.set(name, value)

        def load(self):
            return wsgi

    _Portal().run()

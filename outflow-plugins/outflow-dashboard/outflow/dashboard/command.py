"""``outflow dashboard``: serve the pipeline's runs on a local web page until Ctrl-C."""

from __future__ import annotations

from typing import Any

from outflow.core.commands import Command

#: The port tried first (``--port 0``: any free port).
DEFAULT_PORT = 8470


class Dashboard(Command):
    """Serve a local, read-only web page of the pipeline's runs (Ctrl-C stops it)."""

    db_untracked = True  # looking at runs is not a run
    announce_run = False

    def add_arguments(self) -> None:
        self.add_argument("--host", default="127.0.0.1",
                          help="Address to listen on (default 127.0.0.1, this machine only; "
                               "any other address requires the token printed in the URL).")
        self.add_argument("--port", type=int, default=DEFAULT_PORT,
                          help=f"Port to listen on (default {DEFAULT_PORT}; 0: any free one).")
        self.add_argument("--open", action="store_true", dest="open_browser",
                          help="Open the page in a web browser.")

    def setup_tasks(self) -> Any:
        import secrets
        import sys

        from outflow.core.configuration.secrets import text_masker
        from outflow.core.errors import OutflowError
        from outflow.core.pipeline import context
        from outflow.dashboard.server import DashboardServer, is_loopback

        args = context.args
        token = None if is_loopback(args.host) else secrets.token_urlsafe(24)
        try:
            server = DashboardServer((args.host, args.port), context.databases,
                                     context.settings, text_masker(context.config), token)
        except OSError as error:
            raise OutflowError(f"dashboard: cannot listen on {args.host}:{args.port}: "
                               f"{error.strerror or error} (choose another --port, or 0)"
                               ) from error
        host, port = server.server_address[:2]
        shown = f"[{host}]" if ":" in str(host) else host
        url = f"http://{shown}:{port}/" + (f"?token={token}" if token else "")
        print(f"outflow dashboard: {url} (Ctrl-C to stop)", flush=True)
        if token:
            print("outflow dashboard: listening beyond this machine: every request needs the "
                  "token in this address", file=sys.stderr, flush=True)
        if args.open_browser:
            import webbrowser

            webbrowser.open(url)
        try:
            server.serve_forever(poll_interval=0.2)
        except KeyboardInterrupt:
            print("outflow dashboard: stopped", file=sys.stderr)
        finally:
            server.server_close()
        return None


__all__ = ["DEFAULT_PORT", "Dashboard"]

"""Serve the dashboard on the loopback address, every page asset from this machine.

Bokeh's server sends BokehJS from the installed wheel (``resources="server"``, forced here so
an environment variable cannot switch it to a CDN), binds only to 127.0.0.1 and accepts
WebSocket connections only from pages it served itself. Bokeh sends no telemetry.
"""

from __future__ import annotations

import signal
import socket
from pathlib import Path

from bokeh.application import Application
from bokeh.application.handlers.function import FunctionHandler
from bokeh.server.server import Server
from bokeh.settings import settings

from model.dashboard import adapter, jobs
from model.dashboard.app import Dashboard

ADDRESS = "127.0.0.1"


def free_port(address: str = ADDRESS) -> int:
    """A port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((address, 0))
        return sock.getsockname()[1]


def make_server(
    study: adapter.Study,
    *,
    port: int = 0,
    save_folder: str | Path = "out/dashboard",
    workers: int | None = None,
) -> Server:
    """A Bokeh server for the study on 127.0.0.1 (not started: call ``start()``).

    Args:
        study: the validated file (``adapter.load_study``).
        port: the TCP port; 0 picks a free one.
        save_folder: where "Save as scenario" proposes to write.
        workers: processes each run's simulations go to (None: every core).
    """
    settings.resources.set_value("server")  # BokehJS from this machine, never a CDN
    port = port or free_port()

    def build(doc) -> None:  # once per browser tab: its own page, controls and runs
        Dashboard(study, doc=doc, save_folder=save_folder, workers=workers)

    jobs.warm_up()  # the model is imported once, before the first click
    return Server(
        {"/": Application(FunctionHandler(build))},
        address=ADDRESS,
        port=port,
        allow_websocket_origin=[f"{ADDRESS}:{port}", f"localhost:{port}"],
        num_procs=1,
    )


def serve(
    study: adapter.Study,
    *,
    port: int = 0,
    save_folder: str | Path = "out/dashboard",
    workers: int | None = None,
) -> None:
    """Start the server, print its address and serve until Ctrl-C."""
    server = make_server(study, port=port, save_folder=save_folder, workers=workers)
    server.start()
    # Ctrl-C (or SIGTERM) stops the loop between callbacks, rather than raising
    # KeyboardInterrupt inside whatever request is being served (which tornado would re-raise
    # while shutting down). Runs still in progress die with the process (they are daemons).
    loop = server.io_loop.asyncio_loop
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, server.io_loop.stop)
    print(f"sidomain dashboard on http://{ADDRESS}:{server.port}/  ({study.path})", flush=True)
    print("Ctrl-C to stop.", flush=True)
    try:
        server.io_loop.start()
    finally:
        server.stop()

"""The HTTP API and web page of gaitid (`gaitid serve`): enrol, identify and watch live sources.

    from gaitid.server import ServerSettings, create_app
    app = create_app(ServerSettings(token="a-long-random-token"))   # an ASGI app (FastAPI)

`serve(...)` is what `gaitid serve` runs: it resolves the token, builds the app and runs it with uvicorn.
"""

from gaitid.server.app import create_app
from gaitid.server.run import serve
from gaitid.server.settings import ServerSettings

__all__ = ["ServerSettings", "create_app", "serve"]

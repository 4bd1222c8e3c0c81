"""The ASGI application ``server.py`` serves with uvicorn: one echo consumer of ``echo.py``, the
line named by the environment variable ``BENCH_LINE``, answering at every path; only that
line's library is imported (so that the servers' memory compares like with like)."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from echo import configure_django, echo_consumer

configure_django()
application = echo_consumer(os.environ["BENCH_LINE"]).as_asgi()

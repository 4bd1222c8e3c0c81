"""Create the demo's PostgreSQL database (``DEMO_DB_NAME``) unless it exists."""

from __future__ import annotations

import os

import psycopg
from psycopg import sql


def main() -> None:
    name = os.environ.get("DEMO_DB_NAME", "typed_dcrf_demo")
    user = os.environ.get("DEMO_DB_USER", "postgres")
    with psycopg.connect(host="127.0.0.1", dbname="postgres", user=user, autocommit=True) as db:
        if db.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return
        db.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


if __name__ == "__main__":
    main()

"""Cassandra readiness, credentials and schema for the native stack.

  cassandra_setup.py --check            exit 0 once a CQL login works (ours or the default one)
  cassandra_setup.py --setup SCHEMA.cql create our superuser from .env, disable the default
                                        'cassandra' login, apply the schema

The default superuser cassandra/cassandra exists only until --setup has run once.
"""
import argparse
import os
import re
import secrets
import sys
from pathlib import Path

from cassandra import AuthenticationFailed
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import Cluster, NoHostAvailable
from dq.stack import read_env

HOST = "127.0.0.1"


def env(name):
    value = os.environ.get(name) or read_env().get(name)
    if not value:
        sys.exit(f"cassandra_setup: {name} is not set (it comes from .env, written by `make up`)")
    return value


def session_as(user, password):
    cluster = Cluster([HOST], port=9042, auth_provider=PlainTextAuthProvider(user, password),
                      connect_timeout=5, control_connection_timeout=5, protocol_version=5)
    return cluster, cluster.connect()


def login():
    """A session as our user, else as the default one; None if Cassandra is not ready."""
    for user, password in ((env("CASSANDRA_USER"), env("CASSANDRA_PASSWORD")), ("cassandra", "cassandra")):
        try:
            return (user,) + session_as(user, password)
        except NoHostAvailable as err:
            if not any(isinstance(e, AuthenticationFailed) for e in err.errors.values()):
                return None
    return None


def statements(cql_text):
    """CQL statements of a file: -- comments removed, split at semicolons that end a line."""
    text = re.sub(r"--[^\n']*$", "", cql_text, flags=re.M)
    return [s.strip() for s in re.split(r";\s*$", text, flags=re.M) if s.strip()]


def setup(schema):
    got = login()
    if got is None:
        sys.exit("cassandra_setup: Cassandra does not accept logins yet")
    user, cluster, session = got
    ours = env("CASSANDRA_USER")
    if user != ours:
        session.execute(f"CREATE ROLE IF NOT EXISTS {ours} WITH SUPERUSER = true AND LOGIN = true AND PASSWORD = %s",
                        (env("CASSANDRA_PASSWORD"),))
        cluster.shutdown()
        cluster, session = session_as(ours, env("CASSANDRA_PASSWORD"))
        # Nobody keeps the default credentials: new random password, no login.
        session.execute("ALTER ROLE cassandra WITH PASSWORD = %s AND LOGIN = false AND SUPERUSER = false",
                        (secrets.token_urlsafe(24),))
        print(f"cassandra_setup: created role '{ours}', disabled the default 'cassandra' login")
    for stmt in statements(Path(schema).read_text()):
        session.execute(stmt)
    cluster.shutdown()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--setup", metavar="SCHEMA")
    args = ap.parse_args()
    if args.check:
        got = login()
        if got:
            got[1].shutdown()
        sys.exit(0 if got else 1)
    if args.setup:
        setup(args.setup)


if __name__ == "__main__":
    main()

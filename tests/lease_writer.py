"""One writer process of the lost-commit test: ten commits to `main`, each into its own cells.

Usage: python lease_writer.py SERVICE_URI TOKEN REPO WRITER_INDEX COMMITS
Prints one line per commit: the snapshot id. Retries with a rebase on conflict, as users would.
"""

from __future__ import annotations

import sys

import icechunk
import zarr

import floe


def main() -> None:
    service_uri, token, repo_name, index, commits = sys.argv[1:6]
    writer, count = int(index), int(commits)
    repo = floe.Client(service_uri=service_uri, token=token).get_repo(repo_name)
    for i in range(count):
        while True:
            session = repo.writable_session("main")
            zarr.open_array(session.store, path="cells")[writer, i] = writer * 1000 + i + 1
            try:
                snapshot = session.commit(
                    f"writer {writer} commit {i}", rebase_with=icechunk.ConflictDetector(), rebase_tries=100
                )
            except icechunk.ConflictError:
                continue
            print(snapshot, flush=True)
            break


if __name__ == "__main__":
    main()

"""Reliability harnesses: crash (kill -9 and re-run), fuzz (corrupted inputs), concurrency.

Run from the repository root: `python -m reliability.crash`, `python -m reliability.fuzz`,
`python -m reliability.concurrency`. They drive the services in-process through
`reliability.worker`, never the `clearwatch` CLI, so that a change to how the CLI signs
callers in does not change what the harnesses test.
"""

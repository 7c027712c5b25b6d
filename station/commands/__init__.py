"""The `station` subcommands: one module each, found by `station.cli` at start.

A module here defines `register(subparsers)` which adds its subparser and sets
`handler=` to a function `(args, config) -> int`. Heavy imports (onnxruntime, torch,
Qt) happen inside the handler so `station --help` stays fast and torch stays optional.
"""

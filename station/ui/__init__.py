"""The desktop app (PySide6): renders `station.state.StationState` and sends `StationActions` intents.

Only this package imports Qt. `station.ui.settings` is Qt-free so the CLI can build the
settings and check for a display before importing anything heavy; the window itself is
`station.ui.app.run_app`.
"""

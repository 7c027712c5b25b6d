"""`station report [--since ...] [--png FILE] [--json]`: the station's key figures from its DB."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from station.commands._store import refuse
from station.config import Config
from station.i18n import QT_TRANSLATE_NOOP


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("report",
                            help="items/hour, disposition mix, no-read/override/late/lost rates, latency")
    parser.add_argument("--since", default=None,
                        help="from: today (since midnight here), 2026-11-24, 2026-11-24T08:00, 24h, 7d "
                             "(default: all)")
    parser.add_argument("--png", type=Path, default=None,
                        help="also draw the figures per hour into this PNG file (its name ends in .png)")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.add_argument("--lang", choices=("en", "fr"), default=None,
                        help="language of the table and the chart (default [ui].language)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, config: Config) -> int:
    from station.commands._outputs import check_file, writing
    from station.kpi import compute_kpis, kpi_table, parse_since, plot_kpis
    from station.store import StoreError, StoreReader

    try:
        since = parse_since(args.since) if args.since else None
    except ValueError as exc:
        print(f"station report: {exc}", file=sys.stderr)
        return 2
    if args.png is not None:  # before the figures are computed: the chart's name and folder are usable
        check_file(args.png, suffixes=(".png",), kind="PNG")
    try:
        reader = StoreReader(config.in_data_dir(config.storage.db_path))
    except StoreError as exc:
        return refuse("report", exc)
    with reader:
        kpis = compute_kpis(reader.kpi_records(since), since)
    language: str = args.lang or config.ui.language
    if args.png is not None:
        with writing(args.png):
            plot_kpis(kpis, args.png, language)
    if args.json:
        data = kpis.to_json()
        if args.png is not None:
            data["png"] = str(args.png)
        print(json.dumps(data))
    else:
        print(kpi_table(kpis, language))
        if args.png is not None:
            print(QT_TRANSLATE_NOOP("Report", "chart written to {path}").render(language, path=str(args.png)))
    return 0

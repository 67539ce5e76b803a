#!/usr/bin/python3
"""The peer side of the filter comparison: which flows mitmproxy's own flowfilter matches.

usage: /usr/bin/python3 filter-peer.py FLOWS.mitm < expressions.json

FLOWS.mitm must be a format mitmproxy 8.1.1 reads (version 17 or older). stdin holds a JSON
list of filter expressions. Prints one JSON object: the ids of all flows in file order, and
for each expression either the ids it matched (in file order) or the parse error. Flows on
which mitmproxy's matcher raises (8.1.1's own migration of v7 WebSocket files leaves str
message contents that `~b` cannot search) are listed under "crashed", not matched.
"""
import json
import sys

from mitmproxy import flowfilter
from mitmproxy.io import FlowReader


def main() -> None:
    with open(sys.argv[1], "rb") as f:
        flows = list(FlowReader(f).stream())
    results = []
    for expr in json.load(sys.stdin):
        try:
            flt = flowfilter.parse(expr)
        except ValueError as e:
            results.append({"expr": expr, "error": str(e)})
            continue
        ids, crashed = [], []
        for f in flows:
            try:
                if flt(f):
                    ids.append(f.id)
            except Exception:
                crashed.append(f.id)
        results.append({"expr": expr, "ids": ids, "crashed": crashed})
    json.dump({"flows": [f.id for f in flows], "results": results}, sys.stdout)


main()

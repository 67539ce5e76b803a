#!/usr/bin/python3
"""Writes flows that exercise the filter operators the shared captures leave untested.

usage: /usr/bin/python3 make-filter-flows.py OUT.mitm

Replayed flows (~replay, ~replayq, ~replays), metadata of every value type (~meta reads
Python's str() of them), multi-line comments, markers, IPv6 and IDNA addresses, mixed-case
methods and headers, empty and undecodable bodies, a TEXT/BINARY WebSocket, a DNS flow.
Deterministic: fixed ids and timestamps. Written with mitmproxy's own FlowWriter (v17).
"""
import gzip
import sys
import uuid

from mitmproxy import http
from mitmproxy.io import FlowWriter
from mitmproxy.test import tflow
from mitmproxy.websocket import WebSocketMessage
from wsproto.frame_protocol import Opcode

counter = 0


def fixed_id(f):
    global counter
    counter += 1
    f.id = str(uuid.UUID(int=counter, version=4))
    return f


def req(method=b"GET", host="example.com", port=80, path=b"/", headers=(), content=b"", scheme=b"http", authority=b""):
    return http.Request(host, port, method, scheme, authority, path, b"HTTP/1.1",
                        http.Headers(list(headers)), content, None, 1700000000.0, 1700000000.5)


def resp(status=200, headers=(), content=b""):
    return http.Response(b"HTTP/1.1", status, b"OK", http.Headers(list(headers)), content, None, 1700000001.0, 1700000001.5)


flows = []

# replay markers
for kind in (None, "request", "response"):
    f = tflow.tflow(resp=True)
    f.is_replay = kind
    flows.append(f)

# metadata of every type, shown as Python's str()
f = tflow.tflow(resp=True)
f.metadata = {"int": 42, "float": 1.5, "whole": 2.0, "yes": True, "none": None,
              "text": "it's", "list": [1, "x", "it\"s\n"], "nested": {"k": [None, False]}, "big": 10**20}
flows.append(f)

# comments over several lines, markers
f = tflow.tflow(resp=True)
f.comment = "first line\nsecond LINE"
f.marked = ":red_circle:"
flows.append(f)
f = tflow.tflow()
f.marked = "\U0001F600"
flows.append(f)

# addresses: IPv6 client, IDNA host, explicit Host header with a port
f = tflow.tflow(resp=True)
f.client_conn.peername = ("::1", 51000, 0, 0)
f.server_conn.address = ("xn--bcher-kva.example", 8443)
f.request = req(host="xn--bcher-kva.example", port=8443, scheme=b"https",
                headers=[(b"Host", b"xn--bcher-kva.example:8443")])
flows.append(f)
f = tflow.tflow(resp=True)
f.request = req(host="10.0.0.7", headers=[(b"Host", b"Virtual.Example:8080"), (b"X-Mixed-Case", b"VaLuE")])
flows.append(f)

# methods in odd case, bodies: empty, gzip, undecodable gzip, binary, UTF-8 text
f = tflow.tflow(resp=True)
f.request = req(method=b"post", content=b"name=J%C3%BCrgen&x=1",
                headers=[(b"content-type", b"application/x-www-form-urlencoded")])
flows.append(f)
f = tflow.tflow(resp=True)
f.response = resp(headers=[(b"Content-Type", b"application/json"), (b"Content-Encoding", b"gzip")],
                  content=gzip.compress(b'{"greeting": "gr\xc3\xbc\xc3\x9f dich"}', mtime=0))
flows.append(f)
f = tflow.tflow(resp=True)
f.response = resp(headers=[(b"Content-Type", b"text/plain"), (b"Content-Encoding", b"gzip")],
                  content=b"not really gzip")
flows.append(f)
f = tflow.tflow(resp=True)
f.response = resp(headers=[(b"Content-Type", b"image/png")], content=b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
flows.append(f)
f = tflow.tflow(resp=True)
f.request = req(method=b"PUT", content=b"")
f.response = resp(status=204)
flows.append(f)
f = tflow.tflow(resp=True)
f.response = resp(headers=[(b"Content-Type", b"Text/CSS")], content=b"body { color: RED }")
flows.append(f)

# WebSocket with text and binary messages both ways, an error flow, DNS, TCP
f = tflow.twebsocketflow()
f.websocket.messages = [
    WebSocketMessage(Opcode.TEXT, True, b"Hello from client", 1700000002.0),
    WebSocketMessage(Opcode.BINARY, False, b"\x00\x01server-bytes", 1700000003.0),
]
flows.append(f)
flows.append(tflow.tflow(err=True))
flows.append(tflow.tdnsflow(resp=True))
flows.append(tflow.ttcpflow())

with open(sys.argv[1], "wb") as out:
    w = FlowWriter(out)
    for f in flows:
        w.add(fixed_id(f))

/**
 * The capture's per-connection `client_conn` / `server_conn` elements: encoded once per
 * connection, again when the connection's record changed, and always the bytes the dict
 * built afresh would encode to.
 */
import { describe, expect, it } from "vitest";
import { ConnectionStates, clientConnState, serverConnState } from "../../src/capture/live-state.js";
import { encode } from "../../src/format/tnetstring.js";
import { type ClientConnectionInfo, newServerInfo } from "../../src/proxy/connection-info.js";

describe("ConnectionStates", () => {
  it("encodes a client connection once, and again when it changed", () => {
    const client: ClientConnectionInfo = {
      id: "2f1c0d8e-3d55-4c1e-9a53-0c4e8e0a6b11",
      peername: ["127.0.0.1", 50000],
      sockname: ["127.0.0.1", 8080],
      timestampStart: 1_763_700_000.25,
      timestampEnd: null,
      tls: null,
      mitmcert: null,
      proxyMode: "regular",
      error: null,
    };
    const states = new ConnectionStates();
    const open = states.client(client);
    expect(states.client(client)).toBe(open);
    expect(open.bytes.equals(encode(clientConnState(client)))).toBe(true);
    client.timestampEnd = 1_763_700_001.5;
    const closed = states.client(client);
    expect(closed).not.toBe(open);
    expect(closed.bytes.equals(encode(clientConnState(client)))).toBe(true);
  });

  it("encodes a server connection once, and again when it changed; one to an upstream proxy records the flow's address", () => {
    const states = new ConnectionStates();
    const server = newServerInfo(["example.com", 443], true, null);
    const first = states.server(server, ["example.com", 443]);
    expect(states.server(server, ["example.com", 443])).toBe(first);
    server.error = "Connection reset";
    const failed = states.server(server, ["example.com", 443]);
    expect(failed).not.toBe(first);
    expect(encode(failed).equals(encode(serverConnState(server, null)))).toBe(true);

    const toProxy = newServerInfo(null, false, ["http", ["proxy.example", 3128]]);
    expect(states.server(toProxy, ["a.example", 80])).toEqual(serverConnState(toProxy, ["a.example", 80]));
    expect(states.server(toProxy, ["b.example", 80])).toEqual(serverConnState(toProxy, ["b.example", 80]));
  });
});

/** How a flow is named in a diff report: `GET https://example.com/x`, `TCP example.com:443`, `DNS example.com A`. */
import { formatAddress } from "../display/human.js";
import { dnsTypeName } from "../model/dns-text.js";
import type { DNSFlow, Flow, HTTPFlow } from "../model/index.js";

/** A one-line name for a flow: method and URL for HTTP, the server for TCP and UDP, the question for DNS. */
export function flowTitle(flow: Flow): string {
  switch (flow.type) {
    case "http": {
      const request = (flow as HTTPFlow).request;
      return `${request.method} ${request.url}`;
    }
    case "tcp":
    case "udp": {
      const server = flow.serverConn;
      return `${flow.type.toUpperCase()} ${formatAddress(server.address ?? server.peername)}`;
    }
    case "dns": {
      const q = (flow as DNSFlow).request.questions[0];
      return q ? `DNS ${q.name} ${dnsTypeName(q.type)}` : "DNS";
    }
  }
}

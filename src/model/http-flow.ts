/**
 * An HTTP flow (mitmproxy's `http.HTTPFlow`): a request, maybe a response, maybe WebSocket
 * data, maybe an error. Reading or changing the response parses only the response.
 */
import { FlowStateError } from "../errors.js";
import { Flow, type FlowType, adoptWrapper, wrapDict } from "./flow.js";
import { Request } from "./request.js";
import { Response } from "./response.js";
import { WebSocketData } from "./websocket.js";

/** One HTTP request/response exchange. */
export class HTTPFlow extends Flow {
  get type(): FlowType {
    return "http";
  }

  /** The client's request. */
  get request(): Request {
    const r = this.dictAt("request");
    if (!r) throw new FlowStateError("E_FLOW_SCHEMA", "HTTP flow without a request");
    return wrapDict(r, Request);
  }

  set request(r: Request) {
    this.topDict().set("request", adoptWrapper(r).state);
  }

  /** The server's response, or null. Assign a Response (e.g. `Response.make(…)`) or null. */
  get response(): Response | null {
    const r = this.dictAt("response");
    return r ? wrapDict(r, Response) : null;
  }

  set response(r: Response | null) {
    this.topDict().set("response", r === null ? null : adoptWrapper(r).state);
  }

  /** The WebSocket data when the flow upgraded to a WebSocket, else null. */
  get websocket(): WebSocketData | null {
    const w = this.dictAt("websocket");
    return w ? wrapDict(w, WebSocketData) : null;
  }

  /** When the request's headers were received. */
  override get timestampStart(): number {
    return this.request.timestampStart;
  }
}

/**
 * A response body as it arrives from a server, whatever the protocol: kept until it is
 * asked for whole, or streamed into a sink with backpressure; its trailers; or the
 * failure that cut it short.
 */
import type { Writable } from "node:stream";
import type { HeaderPair } from "../exchange.js";
import type { ProxyFailure } from "../proxy-failure.js";

/** A response body and its trailers. */
export interface ResponseBody {
  content: Buffer;
  trailers: HeaderPair[] | null;
}

/** Something that can stop and restart the flow of bytes. */
interface Pausable {
  pause(): unknown;
  resume(): unknown;
}

/** The body of one response, in arrival. */
export class IncomingBody {
  private chunks: Buffer[] = [];
  private sink: Writable | null = null;
  private trailers: HeaderPair[] | null = null;
  failure: ProxyFailure | null = null;
  ended = false;
  private onEnd: (() => void) | null = null;
  /** told of a failure (set by whoever waits: for the head, the body, or the stream) */
  onFail: ((f: ProxyFailure) => void) | null = null;

  /** A chunk arrived from `source` (paused while the sink is full). */
  push(c: Buffer, source: Pausable): void {
    if (!this.sink) this.chunks.push(c);
    else if (!this.sink.write(c)) {
      source.pause();
      this.sink.once("drain", () => source.resume());
    }
  }

  /** The body is complete. */
  end(trailers: HeaderPair[] | null): void {
    this.trailers = trailers;
    this.ended = true;
    this.onEnd?.();
  }

  /** The body was cut short; false when it was already over. */
  fail(f: ProxyFailure): boolean {
    if (this.failure || this.ended) return false;
    this.failure = f;
    this.onFail?.(f);
    return true;
  }

  /** The whole body, once it is complete. */
  whole(): Promise<ResponseBody> {
    return new Promise((resolve, reject) => {
      const done = (): void => resolve({ content: this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks), trailers: this.trailers });
      if (this.failure) return reject(this.failure);
      if (this.ended) return done();
      this.onEnd = done;
      this.onFail = reject;
    });
  }

  /** Streams the rest of the body into `sink` (which it does not end). */
  pipeTo(sink: Writable): Promise<void> {
    return new Promise((resolve, reject) => {
      for (const c of this.chunks) sink.write(c);
      this.chunks = [];
      if (this.failure) return reject(this.failure);
      if (this.ended) return resolve();
      this.sink = sink;
      this.onEnd = resolve;
      this.onFail = reject;
    });
  }
}

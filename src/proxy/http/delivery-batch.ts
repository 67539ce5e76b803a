/**
 * Whole responses waiting to be recorded before their clients may have them: gathered over
 * one turn of the event loop, announced to the handler one by one (`responseDelivering`),
 * then written by it in one go (`deliveriesDue`) before any of them is ended. Under load,
 * with many exchanges finishing together (HTTP/2 streams, many clients), that is one write
 * for all of them instead of one each, and no client still gets a response whole before
 * its flow is on disk.
 */
import type { HttpExchange } from "../exchange.js";
import type { ProxyHandler } from "../proxy-handler.js";

/** One response waiting: `open` says whether its client is still there when the batch is written. */
interface Waiting {
  exchange: HttpExchange;
  open: () => boolean;
  go: (recorded: boolean) => void;
}

/** The responses of this turn waiting to be recorded. */
export class DeliveryBatch {
  private waiting: Waiting[] = [];
  private scheduled = false;

  constructor(private readonly handler: ProxyHandler) {}

  /**
   * Resolves true once `exchange` was recorded (its response may then be ended), false when
   * `open` said its client had gone by then (it was not announced).
   */
  recorded(exchange: HttpExchange, open: () => boolean): Promise<boolean> {
    if (!this.handler.responseDelivering) return Promise.resolve(open());
    return new Promise((go) => {
      this.waiting.push({ exchange, open, go });
      if (this.scheduled) return;
      this.scheduled = true;
      setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    const batch = this.waiting;
    this.waiting = [];
    this.scheduled = false;
    const open = batch.map((w) => w.open());
    for (let i = 0; i < batch.length; i++) if (open[i]) this.handler.responseDelivering!(batch[i]!.exchange);
    this.handler.deliveriesDue?.();
    for (let i = 0; i < batch.length; i++) batch[i]!.go(open[i]!);
  }
}

/** The listing as a sink of the flow chain (`show`, and the live log of `capture`). */
import type { Flow } from "../model/index.js";
import { FlowListing, type ListingOptions } from "./flow-listing.js";

/** Where listing lines go: text gathered per batch (show's stdout), or a line at a time (the live log). */
export interface ListingTarget {
  add(text: string): void;
  flush(): Promise<void> | void;
  close(): Promise<void> | void;
}

/** Lists every flow that reaches it (nothing at detail 0, where it reads nothing either). */
export class ListingSink {
  readonly reads: "record" | "model";
  private readonly listing: FlowListing;

  constructor(
    options: ListingOptions,
    private readonly target: ListingTarget,
  ) {
    this.listing = new FlowListing(options);
    this.reads = options.detail === 0 ? "record" : "model";
  }

  write(passing: { flow: Flow }): void {
    if (this.reads === "record") return;
    const lines = this.listing.render(passing.flow);
    if (lines.length) this.target.add(`${lines.join("\n")}\n`);
  }

  endBatch(): Promise<void> | void {
    return this.target.flush();
  }

  async close(): Promise<void> {
    await this.target.close();
  }
}

/** A malformed element; `offset` is relative to the buffer handed to the decoder. */
export class TnetstringError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
    this.name = "TnetstringError";
  }
}

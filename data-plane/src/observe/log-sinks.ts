/**
 * The log plugins' senders (queues, sockets, open files) outlive a snapshot: an instance with the
 * same settings in the next snapshot keeps its queue and connection, as Kong shares a queue between
 * http-log instances with the same parameters. One map per plugin, keyed by the settings that
 * shape the sender; a sender is made on first use, in `init`, never on a request.
 */
export class SinkRegistry<S> {
  private readonly sinks = new Map<string, S>();

  constructor(private readonly make: (key: string) => S) {}

  /** The sender for `settings` (a JSON-able value), made once. */
  get(settings: unknown): S {
    const key = JSON.stringify(settings);
    let sink = this.sinks.get(key);
    if (sink === undefined) this.sinks.set(key, (sink = this.make(key)));
    return sink;
  }
}

// Asking a store who is present (Redis, S3) costs a round trip, and when an operation fails every wait
// pending on that endpoint asks at once. One question in flight serves every caller, and an answer stays
// good for a moment: presence changes when a rank joins or leaves, not from one message to the next.
import type { Absence } from '../channel.js';

export type AbsentAnswer = ReadonlyMap<number, Absence> | undefined;

const FRESH_MS = 200;

export class PresenceQuestion {
  private inFlight: { answer: Promise<AbsentAnswer>; deadline: number } | undefined;
  private last: { at: number; answer: ReadonlyMap<number, Absence> } | undefined;

  /** `ask(deadline)` puts the question to the store; undefined when it cannot tell by then. */
  constructor(private readonly ask: (deadline: number) => Promise<AbsentAnswer>) {}

  async absent(deadline: number): Promise<AbsentAnswer> {
    if (this.last && Date.now() - this.last.at < FRESH_MS) return this.last.answer;
    const shared = this.inFlight ?? this.start(deadline);
    const answer = await shared.answer;
    // A question asked with an earlier deadline may have given up before this caller needs to.
    if (answer === undefined && shared.deadline < deadline && Date.now() < deadline) return (this.inFlight ?? this.start(deadline)).answer;
    return answer;
  }

  private start(deadline: number): { answer: Promise<AbsentAnswer>; deadline: number } {
    const answer = this.ask(deadline).then(
      (a) => {
        if (a) this.last = { at: Date.now(), answer: a };
        return a;
      },
      () => undefined,
    );
    const q = { answer, deadline };
    this.inFlight = q;
    void answer.finally(() => {
      if (this.inFlight === q) this.inFlight = undefined;
    });
    return q;
  }
}

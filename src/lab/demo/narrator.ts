// The demo's voice and its record: each step says what it sends and sees (lines for people) and
// proves what must hold (a failed proof ends the demo, naming the step); the record is the --json
// report.
import { NvoError } from '../../errors.ts';

export interface Proof {
  what: string;
  ok: boolean;
  detail?: string;
}

export interface StepRecord {
  id: string;
  title: string;
  ok: boolean;
  seconds: number;
  lines: string[];
  proofs: Proof[];
  facts: Record<string, unknown>;
}

export interface DemoReport {
  ok: boolean;
  seconds: number;
  steps: StepRecord[];
  failed: { step: string; what: string; detail?: string } | null;
}

export class DemoFailure extends NvoError {
  constructor(
    readonly step: string,
    readonly what: string,
    readonly detail?: string,
  ) {
    super('internal', `demo step ${step} failed: ${what}${detail ? ` (${detail})` : ''}`, [], { step, what, ...(detail ? { detail } : {}) });
  }
}

export class Narrator {
  readonly steps: StepRecord[] = [];
  private current: StepRecord | null = null;
  private readonly started = Date.now();

  /** `out` gets every line as it happens (stdout for people; nothing for --json). */
  constructor(private readonly out: (line: string) => void = () => undefined) {}

  async step<T>(id: string, title: string, work: () => Promise<T>): Promise<T> {
    const rec: StepRecord = { id, title, ok: false, seconds: 0, lines: [], proofs: [], facts: {} };
    this.steps.push(rec);
    this.current = rec;
    this.out('');
    this.out(`== ${id}: ${title}`);
    const t0 = Date.now();
    try {
      const v = await work();
      rec.ok = true;
      return v;
    } catch (e) {
      if (e instanceof DemoFailure) throw e;
      // Anything else (a refused request, a device error) fails the step with its own words.
      const msg = (e as Error).message;
      rec.proofs.push({ what: 'the step ran', ok: false, detail: msg });
      this.out(`   FAILED: ${msg}`);
      throw new DemoFailure(id, 'the step ran', msg);
    } finally {
      rec.seconds = (Date.now() - t0) / 1000;
      this.out(`   (${rec.seconds.toFixed(1)} s)`);
    }
  }

  say(line: string): void {
    this.current?.lines.push(line);
    for (const l of line.split('\n')) this.out(`   ${l}`);
  }

  fact(key: string, value: unknown): void {
    if (this.current) this.current.facts[key] = value;
  }

  /** Records a proof; a false one ends the demo with this step and `what`. */
  prove(what: string, ok: boolean, detail?: string): void {
    const rec = this.current!;
    rec.proofs.push({ what, ok, ...(detail ? { detail } : {}) });
    this.out(`   ${ok ? 'ok  ' : 'FAIL'} ${what}${detail ? ` — ${detail}` : ''}`);
    if (!ok) throw new DemoFailure(rec.id, what, detail);
  }

  report(failure: DemoFailure | null): DemoReport {
    return { ok: failure === null, seconds: (Date.now() - this.started) / 1000, steps: this.steps, failed: failure ? { step: failure.step, what: failure.what, ...(failure.detail ? { detail: failure.detail } : {}) } : null };
  }
}

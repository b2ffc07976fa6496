import type { ActionDef } from '../connectors/types';

/**
 * The actions a procedure may name, built from the connectors' ActionDef arrays. The composition
 * root passes the real connectors; tests pass small ActionDefs of their own.
 */
export class ActionRegistry {
  private readonly byName = new Map<string, ActionDef>();

  constructor(...groups: ReadonlyArray<ReadonlyArray<ActionDef<any, any>>>) {
    for (const def of groups.flat()) {
      if (this.byName.has(def.name)) throw new Error(`action ${def.name} is registered twice`);
      this.byName.set(def.name, def as ActionDef);
    }
  }

  /** Adds an action the engine itself brings (the release's approval); one already there is kept. */
  ensure(def: ActionDef<any, any>): void {
    if (!this.byName.has(def.name)) this.byName.set(def.name, def as ActionDef);
  }

  get(name: string): ActionDef | undefined {
    return this.byName.get(name);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  names(): string[] {
    return [...this.byName.keys()].sort();
  }
}

// supervisor(): an OTP-style supervisor behaviour with static child specs. Children start in order,
// each one's start awaited before the next is spawned; they stop in reverse order (ActorCell does
// that for every actor). How failures are handled is the supervisor's own SpawnOptions.supervision.
import type { Behavior, SpawnOptions } from './behavior.js';
import { whenStarted } from './system.js';

export interface ChildSpec {
  // The child's message type is erased here: a supervisor only spawns its children, never talks to them.
  readonly behavior: Behavior<never, unknown> | Behavior<unknown, unknown>;
  readonly options: SpawnOptions;
}

export function childSpec<M, S>(behavior: Behavior<M, S>, options: SpawnOptions): ChildSpec {
  return { behavior: behavior as unknown as Behavior<unknown, unknown>, options };
}

export function supervisor(spec: { readonly children: readonly ChildSpec[] }): Behavior<never, void> {
  const names = new Set<string>();
  for (const child of spec.children) {
    if (names.has(child.options.name)) throw new TypeError(`supervisor: duplicate child name ${child.options.name}`);
    names.add(child.options.name);
  }
  return {
    async start(ctx) {
      for (const child of spec.children) {
        const ref = ctx.spawn(child.behavior as Behavior<unknown, unknown>, child.options);
        await whenStarted(ctx.system, ref.path);
      }
    },
    receive(ctx, _state, message) {
      ctx.log.debug({ messageType: message.type }, 'supervisor ignores message');
    },
  };
}

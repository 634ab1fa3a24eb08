import { Injectable, type OnModuleInit } from '@nestjs/common';
import { PARAMTYPES_METADATA, SELF_DECLARED_DEPS_METADATA } from '@nestjs/common/constants.js';
import { ContextIdFactory, ModuleRef, ModulesContainer } from '@nestjs/core';
import type { SessionPayload } from '../session-core/session-context.js';
import { LAZY_MANAGERS, type LazyBuilder, type LazyHost, type LazyManagers, type LazyName } from './lazy-managers.js';
import { UserSession } from './user-session.js';

interface ScopedWrapper {
  setInstanceByContextId(contextId: ReturnType<typeof ContextIdFactory.create>, value: object): void;
}

type Ctor = abstract new (...args: never[]) => unknown;

/**
 * Builds a lazy manager inside its user's DI context: it is resolved through Nest like the eager ones, and
 * every request-scoped provider it injects is that user's instance (the same SessionContext, AppConnections…).
 *
 * The user's context id is not kept: holding it keeps Nest's per-provider bookkeeping of the whole context
 * alive (measured: +16 KB per session, three times a session's own heap). Each build instead gets a fresh
 * context id into which the user's built instances are registered as already resolved, so Nest reuses them
 * and builds only the manager asked for; that id and its bookkeeping go once the build is done.
 */
@Injectable()
export class LazyManagerBuilder implements LazyBuilder, OnModuleInit {
  /** Request-scoped provider class → its wrapper(s). */
  private readonly wrappers = new Map<Ctor, ScopedWrapper[]>();
  /** The lazy managers each lazy manager injects: built (and so registered) before it. */
  private readonly needs = new Map<LazyName, LazyName[]>();

  constructor(
    private readonly moduleRef: ModuleRef,
    private readonly modules: ModulesContainer,
  ) {}

  onModuleInit(): void {
    for (const module of this.modules.values()) {
      for (const wrapper of module.providers.values()) {
        const token = wrapper.token;
        if (typeof token !== 'function' || wrapper.isDependencyTreeStatic()) continue;
        const list = this.wrappers.get(token as Ctor) ?? [];
        list.push(wrapper);
        this.wrappers.set(token as Ctor, list);
      }
    }
    const scoped = (type: unknown): type is Ctor => this.wrappers.has(type as Ctor);
    const eager = new Set(dependencies(UserSession).filter(scoped));
    const lazyName = new Map<unknown, LazyName>(
      Object.entries(LAZY_MANAGERS).map(([name, type]) => [type, name as LazyName]),
    );
    for (const [name, type] of Object.entries(LAZY_MANAGERS) as Array<[LazyName, Ctor]>) {
      const needs: LazyName[] = [];
      for (const dep of dependencies(type).filter(scoped)) {
        const lazy = lazyName.get(dep);
        if (lazy) needs.push(lazy);
        else if (!eager.has(dep))
          // It would be built anew inside the build's context: a second instance the session knows nothing of.
          throw new Error(
            `${type.name} (built on first use) injects ${dep.name}, which is request-scoped but neither built with every session (a UserSession constructor parameter) nor built on first use (LAZY_MANAGERS)`,
          );
      }
      this.needs.set(name, needs);
    }
  }

  async build<K extends LazyName>(session: LazyHost, name: K): Promise<LazyManagers[K]> {
    for (const need of this.needs.get(name) ?? []) await session.use(need);
    const contextId = ContextIdFactory.create();
    this.moduleRef.registerRequestByContextId<SessionPayload>({ userId: session.userId }, contextId);
    for (const instance of session.builtInstances())
      for (const wrapper of this.wrappers.get(instance.constructor as Ctor) ?? [])
        wrapper.setInstanceByContextId(contextId, { instance, isResolved: true });
    return this.moduleRef.resolve(LAZY_MANAGERS[name] as Ctor, contextId, { strict: false }) as Promise<
      LazyManagers[K]
    >;
  }
}

/** The classes a provider's constructor injects (an `@Inject(token)` parameter counts as its token). */
function dependencies(type: Ctor): Ctor[] {
  const params = [...((Reflect.getMetadata(PARAMTYPES_METADATA, type) as unknown[] | undefined) ?? [])];
  const declared = (Reflect.getMetadata(SELF_DECLARED_DEPS_METADATA, type) ?? []) as Array<{
    index: number;
    param: unknown;
  }>;
  for (const { index, param } of declared) params[index] = param;
  return params.filter((p): p is Ctor => typeof p === 'function');
}

/**
 * Namespaces: the records (with their custom search attributes), and the RPCs that read and change them —
 * WorkflowService's DescribeNamespace, ListNamespaces, RegisterNamespace and GetSearchAttributes, and
 * OperatorService's search-attribute calls.
 */
import { randomUUID } from 'node:crypto';
import { invalidArgument, namespaceAlreadyExists, namespaceNotFound, notFound } from '../errors';
import { temporal } from '../proto';
import type { NamespaceRecord } from '../store/store';
import { duration, long } from '../util/time';
import type { Persistence } from './persistence';
import {
  INDEXED_VALUE_TYPE,
  SEARCH_ATTRIBUTE_TYPES,
  SYSTEM_SEARCH_ATTRIBUTES,
  type SearchAttributeType,
} from './search-attributes';
import type { Req, Res } from './types';

type Operator = typeof temporal.api.operatorservice.v1;

export class Namespaces {
  private readonly byName = new Map<string, NamespaceRecord>();

  constructor(private readonly persistence: Persistence) {}

  /** The namespaces a store held. */
  load(records: NamespaceRecord[]): void {
    for (const ns of records) this.byName.set(ns.name, ns);
  }

  /** The start-up namespaces: created if missing; `searchAttributes` added to each (a restart may add more). */
  ensure(names: string[], searchAttributes: Record<string, SearchAttributeType> | undefined): void {
    for (const name of new Set(['default', ...names])) {
      const existing = this.byName.get(name);
      if (!existing) {
        this.create({ name, searchAttributes: { ...(searchAttributes ?? {}) } });
      } else if (searchAttributes) {
        const merged = { ...existing.searchAttributes, ...searchAttributes };
        if (JSON.stringify(merged) !== JSON.stringify(existing.searchAttributes)) {
          existing.searchAttributes = merged;
          this.persistence.markNamespace(existing);
        }
      }
    }
  }

  /** The namespace a request names; INVALID_ARGUMENT without one, NOT_FOUND for an unknown one. */
  get(name: string | null | undefined): NamespaceRecord {
    if (!name) throw invalidArgument('Namespace is not set on request.');
    const ns = this.byName.get(name);
    if (!ns) throw namespaceNotFound(name);
    return ns;
  }

  byId(id: string): NamespaceRecord | undefined {
    for (const ns of this.byName.values()) if (ns.id === id) return ns;
    return undefined;
  }

  list(): NamespaceRecord[] {
    return [...this.byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  create(spec: Partial<NamespaceRecord> & { name: string }): NamespaceRecord {
    if (this.byName.has(spec.name)) throw namespaceAlreadyExists(spec.name);
    const ns: NamespaceRecord = {
      id: randomUUID(),
      name: spec.name,
      description: spec.description ?? '',
      ownerEmail: spec.ownerEmail ?? '',
      retentionDays: spec.retentionDays ?? 1,
      data: spec.data ?? {},
      searchAttributes: spec.searchAttributes ?? {},
    };
    this.byName.set(ns.name, ns);
    this.persistence.markNamespace(ns);
    return ns;
  }

  addSearchAttributes(ns: NamespaceRecord, attributes: Record<string, SearchAttributeType>): void {
    for (const [name, type] of Object.entries(attributes)) {
      if (SYSTEM_SEARCH_ATTRIBUTES[name]) throw invalidArgument(`Search attribute ${name} is reserved by system.`);
      const existing = ns.searchAttributes[name];
      if (existing && existing !== type) {
        throw invalidArgument(`Search attribute ${name} already exists with type ${existing}.`);
      }
    }
    Object.assign(ns.searchAttributes, attributes);
    this.persistence.markNamespace(ns);
  }

  removeSearchAttributes(ns: NamespaceRecord, names: string[]): void {
    for (const name of names) {
      if (!ns.searchAttributes[name]) throw notFound(`Search attribute ${name} doesn't exist.`);
    }
    for (const name of names) delete ns.searchAttributes[name];
    this.persistence.markNamespace(ns);
  }

  // ---- RPCs -------------------------------------------------------------------------------------------------

  describe(req: Req<'DescribeNamespaceRequest'>): Res<'DescribeNamespaceResponse'> {
    let ns: NamespaceRecord | undefined;
    if (req.id) {
      ns = this.byId(req.id);
      if (!ns) throw namespaceNotFound(req.id);
    } else {
      ns = this.get(req.namespace);
    }
    return description(ns);
  }

  listPage(req: Req<'ListNamespacesRequest'>): Res<'ListNamespacesResponse'> {
    const all = this.list();
    const pageSize = req.pageSize && req.pageSize > 0 ? req.pageSize : 100;
    const offset = req.nextPageToken?.length ? Number(Buffer.from(req.nextPageToken).toString()) : 0;
    if (!Number.isInteger(offset) || offset < 0) throw invalidArgument('Invalid NextPageToken.');
    const page = all.slice(offset, offset + pageSize);
    const next = offset + page.length;
    return { namespaces: page.map(description), nextPageToken: next < all.length ? Buffer.from(String(next)) : null };
  }

  async register(req: Req<'RegisterNamespaceRequest'>): Promise<Res<'RegisterNamespaceResponse'>> {
    if (!req.namespace) throw invalidArgument('Namespace is not set on request.');
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/.test(req.namespace)) {
      throw invalidArgument(
        'Namespace name may only contain letters, digits, ".", "_" and "-", and must start with a letter or digit.',
      );
    }
    const retention = req.workflowExecutionRetentionPeriod;
    const retentionDays = retention ? Math.max(1, Math.round(Number(retention.seconds ?? 0) / 86400)) : 1;
    this.create({
      name: req.namespace,
      description: req.description ?? '',
      ownerEmail: req.ownerEmail ?? '',
      data: (req.data as Record<string, string>) ?? {},
      retentionDays,
      searchAttributes: {},
    });
    await this.persistence.barrier();
    return {};
  }

  /** Every search attribute of every namespace (WorkflowService's GetSearchAttributes is cluster-wide). */
  searchAttributeKeys(): Res<'GetSearchAttributesResponse'> {
    const custom = Object.assign({}, ...this.list().map((n) => n.searchAttributes)) as Record<string, string>;
    return { keys: { ...searchAttributeTypes(SYSTEM_SEARCH_ATTRIBUTES), ...searchAttributeTypes(custom) } };
  }

  async operatorAdd(
    req: temporal.api.operatorservice.v1.IAddSearchAttributesRequest,
  ): Promise<OperatorRes<'AddSearchAttributesResponse'>> {
    const ns = this.get(req.namespace || 'default');
    const attrs = Object.fromEntries(
      Object.entries(req.searchAttributes ?? {}).map(([k, v]) => [k, typeName(v as number)]),
    );
    if (Object.keys(attrs).length === 0) throw invalidArgument('SearchAttributes are not set on request.');
    this.addSearchAttributes(ns, attrs);
    await this.persistence.barrier();
    return {};
  }

  async operatorRemove(
    req: temporal.api.operatorservice.v1.IRemoveSearchAttributesRequest,
  ): Promise<OperatorRes<'RemoveSearchAttributesResponse'>> {
    const ns = this.get(req.namespace || 'default');
    this.removeSearchAttributes(ns, req.searchAttributes ?? []);
    await this.persistence.barrier();
    return {};
  }

  operatorList(
    req: temporal.api.operatorservice.v1.IListSearchAttributesRequest,
  ): OperatorRes<'ListSearchAttributesResponse'> {
    const ns = this.get(req.namespace || 'default');
    return {
      customAttributes: searchAttributeTypes(ns.searchAttributes),
      systemAttributes: searchAttributeTypes(SYSTEM_SEARCH_ATTRIBUTES),
      storageSchema: {},
    };
  }
}

type OperatorRes<K extends keyof Operator> = Operator[K] extends { create(p?: infer P): unknown } ? P : never;

function typeName(n: number): SearchAttributeType {
  const entry = Object.entries(INDEXED_VALUE_TYPE).find(([, v]) => v === n);
  if (!entry)
    throw invalidArgument(`Unknown search attribute type ${n}; use one of ${SEARCH_ATTRIBUTE_TYPES.join(', ')}.`);
  return entry[0] as SearchAttributeType;
}

function searchAttributeTypes(attrs: Record<string, string>): Record<string, number> {
  return Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, INDEXED_VALUE_TYPE[v as SearchAttributeType]]));
}

function description(ns: NamespaceRecord): Res<'DescribeNamespaceResponse'> {
  return {
    namespaceInfo: {
      name: ns.name,
      state: temporal.api.enums.v1.NamespaceState.NAMESPACE_STATE_REGISTERED,
      description: ns.description,
      ownerEmail: ns.ownerEmail,
      data: ns.data,
      id: ns.id,
      capabilities: {
        eagerWorkflowStart: false,
        syncUpdate: true,
        asyncUpdate: true,
        // ShutdownWorker answers the worker's waiting polls (engine/polls.ts), so its pollers need not be cut off.
        workerPollCompleteOnShutdown: true,
      },
      supportsSchedules: true,
    },
    config: {
      workflowExecutionRetentionTtl: duration(ns.retentionDays * 24 * 3600 * 1000),
      historyArchivalState: temporal.api.enums.v1.ArchivalState.ARCHIVAL_STATE_DISABLED,
      visibilityArchivalState: temporal.api.enums.v1.ArchivalState.ARCHIVAL_STATE_DISABLED,
      customSearchAttributeAliases: {},
    },
    replicationConfig: {
      activeClusterName: 'active',
      clusters: [{ clusterName: 'active' }],
      state: temporal.api.enums.v1.ReplicationState.REPLICATION_STATE_NORMAL,
    },
    failoverVersion: long(0),
    isGlobalNamespace: false,
  };
}

export { startProxy } from './start-proxy.js';
export { tuneHeapGrowth } from './lib/heap-growth.js';
export { SERVICE_INFO } from './service-info.js';
export { ProxyError, PROXY_ERRORS, PROXY_ERROR_CODES, statusOf } from './errors.js';
export { ADMIN_PREFIX } from './server.js';
export { adapterFor } from './adapters/index.js';
export { ACTION_CATALOGUE } from './adapters/catalogue.js';
export { httpAdapter } from './adapters/http/index.js';
export { auditRawStream } from './pipeline/record.js';

export type { ProxyHandle, StartProxyOptions } from './start-proxy.js';
export type { ProxyErrorCode } from './errors.js';
export type { Adapter, AdapterRequest, Classification, RenderedError, ResponseObserver } from './adapters/types.js';
export type { InjectSpec, Lease, LeasePort, PolicyPort } from './lib/ports.js';

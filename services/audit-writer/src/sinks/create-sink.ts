import type { DeepReadonly, SinkConfig } from '@agentgate/config';
import { AuditWriterError } from '../errors.js';
import { elasticsearchHttp } from './elasticsearch.js';
import { LocalSink } from './local.js';
import { OcsfFileSink } from './ocsf.js';
import { openSearchHttp } from './opensearch.js';
import { SearchSink } from './search-sink.js';
import type { Sink } from './types.js';

type DeepReadonlySink = DeepReadonly<SinkConfig>;

function secretFromEnv(name: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (name === undefined) return undefined;
  const v = env[name];
  // A named but empty credential would silently fall back to anonymous access: refuse.
  if (v === undefined || v === '') throw new AuditWriterError('ERR_SINK_SETUP', `environment variable ${name} (sink credential) is not set`);
  return v;
}

/** Builds the sink of a configuration entry; credentials come from the named environment variables. */
export function createSink(cfg: DeepReadonlySink, defaultPrefix: string, env: NodeJS.ProcessEnv = process.env): Sink {
  switch (cfg.type) {
    case 'local':
      return new LocalSink(cfg.path);
    case 'ocsf':
      return new OcsfFileSink(cfg.path);
    case 'opensearch':
      return new SearchSink(
        'opensearch',
        openSearchHttp({ url: cfg.url, username: cfg.username, password: secretFromEnv(cfg.passwordEnv, env) }),
        cfg.indexPrefix ?? defaultPrefix,
      );
    case 'elasticsearch':
      return new SearchSink('elasticsearch', elasticsearchHttp({ url: cfg.url, apiKey: secretFromEnv(cfg.apiKeyEnv, env) }), cfg.indexPrefix ?? defaultPrefix);
  }
}

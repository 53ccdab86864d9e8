import type { ServiceStats } from '../types.js';

export interface EndpointStat {
  name: string;
  subject: string;
  requests: number;
  errors: number;
  inFlight: number;
}

export function snapshot(name: string, endpoints: EndpointStat[]): ServiceStats {
  return { name, endpoints: endpoints.map((e) => ({ ...e })) };
}

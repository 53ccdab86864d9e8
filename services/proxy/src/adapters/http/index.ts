import type { Adapter, AdapterRequest, Classification } from '../types.js';

/**
 * The generic HTTP adapter (any REST API): the action kind is `http.` +
 * the lower-case method, and policy sees method, decoded path, query,
 * content type and declared length. The body is streamed untouched.
 */
export const httpAdapter: Adapter = {
  type: 'http',
  classify(req: AdapterRequest): Classification {
    const contentType = req.headers['content-type'];
    return {
      kind: `http.${req.method.toLowerCase()}`,
      attributes: {
        method: req.method,
        path: req.path,
        query: { ...req.query },
        ...(contentType !== undefined && { contentType }),
        ...(req.contentLength !== undefined && { contentLength: req.contentLength }),
      },
    };
  },
};

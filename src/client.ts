// The CLI's side of the agent's API: HTTP over the lab's unix socket. A missing socket or a
// refused connection means the agent is not running, which every command reports the same way.
import { request } from 'node:http';
import { existsSync } from 'node:fs';
import { AgentDownError, KnetlabError } from './errors.js';
import { labPaths } from './agent/paths.js';

export class AgentClient {
  readonly socket: string;

  constructor(readonly lab: string) {
    this.socket = labPaths(lab).socket;
  }

  get<T>(path: string): Promise<T> {
    return this.call('GET', path);
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.call('POST', path, body);
  }

  put<T>(path: string, body: unknown): Promise<T> {
    return this.call('PUT', path, body);
  }

  delete<T>(path: string): Promise<T> {
    return this.call('DELETE', path);
  }

  /** Follows `?watch=1` on a list path, calling `onEvent` for each change until the agent closes it. */
  watch<T>(path: string, onEvent: (type: string, object: T) => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const req = request({ socketPath: this.socket, method: 'GET', path: `${path}?watch=1` }, (res) => {
        let buffered = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffered += chunk;
          for (let nl = buffered.indexOf('\n'); nl !== -1; nl = buffered.indexOf('\n')) {
            const line = buffered.slice(0, nl);
            buffered = buffered.slice(nl + 1);
            if (line) {
              const event = JSON.parse(line) as { type: string; object: T };
              onEvent(event.type, event.object);
            }
          }
        });
        res.on('end', resolve);
      });
      req.on('error', (err: NodeJS.ErrnoException) => reject(err.code === 'ENOENT' || err.code === 'ECONNREFUSED' ? new AgentDownError(this.lab) : err));
      req.end();
    });
  }

  /** True when the agent answers; never throws. */
  async alive(): Promise<boolean> {
    if (!existsSync(this.socket)) return false;
    return this.get('/readyz').then(
      () => true,
      () => false,
    );
  }

  private call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise<T>((resolve, reject) => {
      const req = request(
        { socketPath: this.socket, method, path, headers: payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {} },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown;
            try {
              parsed = JSON.parse(text);
            } catch {
              return reject(new KnetlabError(`agent sent an invalid answer to ${method} ${path}`));
            }
            if ((res.statusCode ?? 500) >= 400) {
              const status = parsed as { message?: string; code?: number; reason?: string };
              return reject(new ApiStatusError(status.message ?? text, status.code ?? res.statusCode ?? 500, status.reason ?? 'Unknown'));
            }
            resolve(parsed as T);
          });
        },
      );
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') reject(new AgentDownError(this.lab));
        else reject(new KnetlabError(`cannot talk to the agent of lab "${this.lab}": ${err.message}`));
      });
      req.end(payload);
    });
  }
}

/** The agent refused a request; `code` is the HTTP status of the Kubernetes `Status` it sent. */
export class ApiStatusError extends KnetlabError {
  constructor(
    message: string,
    readonly code: number,
    readonly reason: string,
  ) {
    super(message);
  }
}

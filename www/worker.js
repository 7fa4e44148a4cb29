// The module Worker that runs the Genie, so fine-tuning and ranking (tens of milliseconds on the
// CPU, seconds on a software GPU) never freeze the page. Messages: `{id, method, args}` in,
// `{id, ok: true, value, …}` or `{id, ok: false, error}` out, changes applied in the order they came.
// Workers have no localStorage: the page keeps the ratings (genie-client.js).
import { createHost } from './genie-host.js';

const handle = createHost();

self.onmessage = async ({ data: { id, method, args } }) => {
  try {
    self.postMessage({ id, ok: true, ...(await handle(method, args)) });
  } catch (e) {
    self.postMessage({ id, ok: false, error: String(e?.message ?? e) });
  }
};

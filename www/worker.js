// The module Worker that runs the Genie, so fine-tuning and ranking (tens of milliseconds on the
// CPU, seconds on a software GPU) never freeze the page. Messages: `{id, method, args}` in,
// `{id, ok: true, value, …}` or `{id, ok: false, error, fatal}` out, changes applied in the order
// they came. `ping` is answered at once (genie-client.js's heartbeat); `fatal` marks an error
// after which this Worker's wasm instance cannot be trusted (a Rust panic), so the page starts
// another. Workers have no localStorage: the page keeps the thumbs (genie-client.js).
import { createHost } from './genie-host.js';

const handle = createHost();

self.onmessage = async ({ data: { id, method, args } }) => {
  if (method === 'ping') {
    self.postMessage({ id, ok: true });
    return;
  }
  try {
    self.postMessage({ id, ok: true, ...(await handle(method, args)) });
  } catch (e) {
    const fatal = e instanceof WebAssembly.RuntimeError;
    self.postMessage({ id, ok: false, error: String(e?.message ?? e), fatal });
  }
};

// A Stepwasm task in JavaScript: the same `stepwasm:task/task` world as the Rust guests.
// Input {"items": [{"price": n, "quantity": n}, ...]} -> {"total": n, "state": name}.
// An empty item list fails with the error `Cart.Empty`, which Retry/Catch can match.
import { log, heartbeat, context } from 'stepwasm:task/host@0.1.0';

export function run(input) {
  const order = JSON.parse(input);
  const ctx = context();
  if (!Array.isArray(order.items) || order.items.length === 0) {
    // A thrown plain object is the `task-error` of `result<string, task-error>`.
    throw { name: 'Cart.Empty', cause: `no items (attempt ${ctx.retryCount})` };
  }
  let total = 0;
  for (const item of order.items) {
    total += item.price * item.quantity;
  }
  heartbeat();
  log('info', `js priced ${order.items.length} items`);
  return JSON.stringify({ total, state: ctx.stateName });
}
